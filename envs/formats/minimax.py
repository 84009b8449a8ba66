"""minimax: MiniMax-M2's XML calls.

    <minimax:tool_call>
    <invoke name="bash">
    <parameter name="command">ls -la</parameter>
    </invoke>
    </minimax:tool_call>

Several <invoke> in a block, or several blocks, are parallel calls, run in order.

Values are raw text, as M2's chat template writes them (strings verbatim,
anything else as JSON): no XML escaping, and the whitespace around a value is
part of it (an `old_str` keeps its indentation). vLLM's minimax_m2 parser
first stripped values and later stopped (it broke exact-match edits); we keep
them verbatim. Values are converted to the types the tool's schema declares,
as vLLM does. A value cannot hold the text "</parameter>".
"""

from __future__ import annotations

import json
import re

from swefarm.envs.formats import find_spec, render_thinking, snippet, strip_thinking
from swefarm.envs.models import ParseError, ToolCall
from swefarm.envs.tools.schema import coerce

_OPEN, _CLOSE = "<minimax:tool_call>", "</minimax:tool_call>"
_INVOKE_END, _PARAM_END = "</invoke>", "</parameter>"
_TAG = {kind: re.compile(rf"<{kind}\b([^<>]*)>") for kind in ("invoke", "parameter")}
_NAME = re.compile(r"""\bname\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_SPACE = re.compile(r"\s*")
_SYNTAX = f'{_OPEN}\n<invoke name="TOOL_NAME">\n<parameter name="ARG">value</parameter>\n</invoke>\n{_CLOSE}'


class MiniMaxFormat:
    name = "minimax"

    def instructions(self, tools: list[dict]) -> str:
        specs = "".join(f"<tool>{json.dumps(spec['function'], ensure_ascii=False)}</tool>\n" for spec in tools)
        return (
            "# Tools\nYou may call one or more tools to assist with the user query.\n"
            f"Here are the tools available in JSONSchema format:\n\n<tools>\n{specs}</tools>\n\n"
            "When making tool calls, use XML format to invoke tools and pass parameters:\n\n"
            f'{_OPEN}\n<invoke name="tool-name-1">\n<parameter name="param-key-1">param-value-1</parameter>\n'
            f'<parameter name="param-key-2">param-value-2</parameter>\n...\n</invoke>\n{_CLOSE}\n\n'
            "Write each value as raw text, exactly as the tool should receive it (no escaping; whitespace counts); "
            "write numbers, booleans, arrays and objects as JSON. To make several calls at once, put one <invoke> "
            "per call in the block; they run in order."
        )

    def parse(self, text: str, tools: list[dict]) -> list[ToolCall]:
        text = strip_thinking(text)
        calls: list[ToolCall] = []
        pos = 0
        while (start := text.find(_OPEN, pos)) != -1:
            pos = _block(text, start + len(_OPEN), calls)
        if not calls:
            hint = f"<invoke> must be inside {_OPEN} ... {_CLOSE}. " if "<invoke" in text else ""
            raise ParseError(f"{hint}No tool call found. Call a tool like this:\n{_SYNTAX}")
        return [_typed(call, tools) for call in calls]

    def render(self, calls: list[ToolCall], thinking: str = "") -> str:
        lines = [_OPEN]
        for call in calls:
            lines.append(f'<invoke name="{call.name}">')
            for key, value in call.arguments.items():
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                if _PARAM_END in text:
                    raise ValueError(f"the minimax format cannot carry a value holding {_PARAM_END} ({key})")
                lines.append(f'<parameter name="{key}">{text}{_PARAM_END}')
            lines.append(_INVOKE_END)
        lines.append(_CLOSE)
        return render_thinking(thinking) + "\n".join(lines)


def _block(text: str, pos: int, calls: list[ToolCall]) -> int:
    """Read the invokes of the block whose body starts at `pos` into `calls`; where the block ends."""
    found = 0
    while True:
        pos = _SPACE.match(text, pos).end()
        if text.startswith(_CLOSE, pos):
            if not found:
                raise ParseError(f"{_OPEN} holds no <invoke>. Call a tool like this:\n{_SYNTAX}")
            return pos + len(_CLOSE)
        if text.startswith("<invoke", pos):
            pos = _invoke(text, pos, calls)
            found += 1
        elif pos >= len(text):
            raise ParseError(f"{_OPEN} is not closed: end the block with {_CLOSE}")
        else:
            raise ParseError(
                f'unexpected text {snippet(text[pos:])} in {_OPEN}; it holds only <invoke name="..."> ... '
                f"{_INVOKE_END} elements"
            )


def _invoke(text: str, pos: int, calls: list[ToolCall]) -> int:
    """Read the invoke starting at `pos` into `calls`; where it ends."""
    tag = _TAG["invoke"].match(text, pos)
    name = _name(tag, "invoke", text, pos)
    args: dict[str, str] = {}
    pos = tag.end()
    while True:
        pos = _SPACE.match(text, pos).end()
        if text.startswith(_INVOKE_END, pos):
            calls.append(ToolCall(name=name, arguments=args))
            return pos + len(_INVOKE_END)
        if text.startswith("<parameter", pos):
            tag = _TAG["parameter"].match(text, pos)
            key = _name(tag, "parameter", text, pos)
            end = text.find(_PARAM_END, tag.end())
            if end == -1:
                raise ParseError(f'<parameter name="{key}"> is not closed: end the value with {_PARAM_END}')
            if key in args:
                raise ParseError(f'<invoke name="{name}"> gives the parameter {key!r} twice')
            args[key] = text[tag.end() : end]
            pos = end + len(_PARAM_END)
        elif pos >= len(text):
            raise ParseError(f'<invoke name="{name}"> is not closed: end it with {_INVOKE_END}')
        else:
            raise ParseError(
                f'unexpected text {snippet(text[pos:])} in <invoke name="{name}">; it holds only '
                f'<parameter name="...">value</parameter> elements'
            )


def _name(tag: re.Match | None, kind: str, text: str, pos: int) -> str:
    """The name attribute of a tag; a ParseError when the tag is malformed or has none."""
    if tag is None:
        raise ParseError(f'malformed <{kind}> tag {snippet(text[pos:])}: write <{kind} name="...">')
    found = _NAME.search(tag.group(1))
    name = next((g for g in found.groups() if g is not None), "") if found else ""
    if not name.strip():
        raise ParseError(f'<{kind}> has no name: write <{kind} name="...">')
    return name.strip()


def _typed(call: ToolCall, tools: list[dict]) -> ToolCall:
    """The call with its values converted to the types its tool's schema declares."""
    spec = find_spec(tools, call.name)
    try:
        return ToolCall(name=call.name, arguments=coerce(spec, call.arguments))
    except RecursionError:
        raise ParseError(f"a value of {call.name} is nested too deeply to read") from None
