"""hermes: JSON calls in <tool_call> tags, as Hermes, Qwen2.5/Qwen3 and most OpenAI-style chat templates write them.

    <tool_call>
    {"name": "bash", "arguments": {"command": "ls"}}
    </tool_call>

Several tags are several (parallel) calls, run in order.
"""

from __future__ import annotations

import json
from typing import Any

from swefarm.envs.formats import find_spec, render_thinking, snippet, strip_thinking
from swefarm.envs.models import ParseError, ToolCall

_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_ESCAPED_CLOSE = "<\\/tool_call>"  # "\/" is JSON for "/": a value that mentions the closing tag cannot end the block
_SYNTAX = '<tool_call>\n{"name": "TOOL_NAME", "arguments": {"ARG": "value"}}\n</tool_call>'


class HermesFormat:
    name = "hermes"

    def instructions(self, tools: list[dict]) -> str:
        specs = "\n".join(json.dumps(spec, ensure_ascii=False) for spec in tools)
        return (
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n"
            f"<tools>\n{specs}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments within "
            '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}'
            "\n</tool_call>\n\nTo make several calls at once, write one <tool_call> block per call; they run in order."
        )

    def parse(self, text: str, tools: list[dict]) -> list[ToolCall]:
        text = strip_thinking(text)
        calls: list[ToolCall] = []
        pos = 0
        while (start := text.find(_OPEN, pos)) != -1:
            end = text.find(_CLOSE, start)
            if end == -1:
                raise ParseError(f"tool call {len(calls) + 1} is not closed: end it with {_CLOSE}")
            calls.append(_call(text[start + len(_OPEN) : end], len(calls) + 1, tools))
            pos = end + len(_CLOSE)
        if not calls:
            stray = f"{_CLOSE} without an opening {_OPEN}. " if _CLOSE in text else ""
            raise ParseError(f"{stray}No tool call found. Call a tool like this:\n{_SYNTAX}")
        return calls

    def render(self, calls: list[ToolCall], thinking: str = "") -> str:
        blocks = []
        for call in calls:
            body = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
            blocks.append(f"{_OPEN}\n{body.replace(_CLOSE, _ESCAPED_CLOSE)}\n{_CLOSE}")
        return render_thinking(thinking) + "\n".join(blocks)


def _call(body: str, n: int, tools: list[dict]) -> ToolCall:
    """One call from the text between the tags; `n` numbers it in error messages."""
    obj = _json(body.strip(), f"the JSON of tool call {n}")
    if not isinstance(obj, dict):
        raise ParseError(
            f'tool call {n} must be a JSON object {{"name": ..., "arguments": {{...}}}}, not {type(obj).__name__}'
        )
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError(f'tool call {n} has no "name" (a string naming the tool): {snippet(body.strip())}')
    args = obj.get("arguments", obj.get("parameters"))
    if isinstance(args, str):  # some models (and the OpenAI API) send the arguments JSON-encoded
        args = _json(args, f"the arguments string of tool call {n}") if args.strip() else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ParseError(f'the "arguments" of tool call {n} must be a JSON object, not {type(args).__name__}')
    find_spec(tools, name)
    return ToolCall(name=name, arguments=args)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{what} is malformed: {exc.msg} (line {exc.lineno}, column {exc.colno} of the JSON)"
        ) from None
    except ValueError as exc:  # a number longer than Python converts
        raise ParseError(f"{what} could not be read: {exc}") from None
    except RecursionError:  # nesting deeper than the decoder can follow
        raise ParseError(f"{what} could not be read: it is nested too deeply") from None
