"""What `env.step` accepts, decoded into one shape.

An action is one of:
- the model's raw text (a str), parsed with the episode's tool-call format;
- a structured call: a `ToolCall`, `{"name": ..., "arguments": {...}}`, or an
  OpenAI tool call `{"type": "function", "function": {"name", "arguments": "<json>"}}`;
  or a list of them (parallel calls);
- an assistant turn: `{"content": <text>, "tool_calls": [...]}` (OpenAI message
  shape); the calls are used when given, else the content is parsed.

An action `{"truncate": "<why>"}` ends the episode as truncated (a policy whose
context is full, say); the working tree is graded as on any truncation.

Any dict may also carry what the caller measured for this turn:
`model_time_s` (seconds the policy spent generating) and `tokens` (tokens it
generated); both feed the speed and cost rewards.

Whatever the agent sends decodes: anything malformed (a call's arguments that are
not a JSON object of JSON values, nested deeper than `MAX_DEPTH`, a name that is
not text, bytes, NaN, ...) becomes the turn's `error`, which the env shows the
agent. Only the formats' `ParseError` means that; any other exception is a bug in
swefarm and propagates with its traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from swefarm.envs.models import ParseError, ToolCall

MAX_DEPTH = 64  # how deeply a call's arguments may nest: tools take flat arguments and short lists


@dataclass
class Turn:
    """One decoded action: the assistant's text, its calls (or why there are none), and reported costs."""

    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    error: str | None = None
    model_time_s: float = 0.0
    tokens: int = 0
    truncate: str | None = None  # the caller ends the episode, for this reason


def decode(action: Any, parse) -> Turn:
    """Decode `action`; `parse(text) -> list[ToolCall]` is the episode format's parser (it raises only ParseError).

    Never raises for anything the agent sends; a bug in the parser or here propagates."""
    try:
        return _decode(action, parse)
    except ParseError as exc:
        return Turn(text=action if isinstance(action, str) else "", error=str(exc))


def _decode(action: Any, parse) -> Turn:
    if isinstance(action, str):
        try:
            return Turn(text=action, calls=[_checked(c) for c in parse(action)])
        except ParseError as exc:
            return Turn(text=action, error=str(exc))
    if isinstance(action, ToolCall):
        return Turn(calls=[_checked(action)])
    if isinstance(action, list):
        if not action:
            raise ParseError("the list of tool calls is empty: make at least one call")
        return Turn(calls=[_call(c) for c in action])
    if not isinstance(action, dict):
        raise ParseError(f"an action is text or a tool call, not {type(action).__name__}")
    turn = Turn(model_time_s=_number(action, "model_time_s"), tokens=int(_number(action, "tokens")))
    if "truncate" in action:
        reason = action["truncate"]
        if not isinstance(reason, str) or not reason.strip():
            raise ParseError("truncate takes the reason the episode ends, as text")
        turn.truncate = reason.strip()[:200]
        return turn
    if "content" in action or "tool_calls" in action:
        turn.text = action.get("content") or ""
        if not isinstance(turn.text, str):
            raise ParseError("content must be text")
        calls = action.get("tool_calls")
        if calls:
            if not isinstance(calls, list):
                raise ParseError(f"tool_calls is a list of calls, not {type(calls).__name__}")
            turn.calls = [_call(c) for c in calls]
        else:
            try:
                turn.calls = [_checked(c) for c in parse(turn.text)]
            except ParseError as exc:
                turn.error = str(exc)
        return turn
    turn.calls = [_call(action)]
    return turn


def _call(raw: Any) -> ToolCall:
    if isinstance(raw, ToolCall):
        return _checked(raw)
    if not isinstance(raw, dict):
        raise ParseError(f"a tool call is an object with a name and arguments, not {type(raw).__name__}")
    fn = raw.get("function") if isinstance(raw.get("function"), dict) else raw
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError("a tool call needs a name (text)")
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError as exc:  # malformed JSON, or an integer longer than Python reads
            raise ParseError(f"the arguments of {name} are not valid JSON: {exc}") from None
        except RecursionError:
            raise ParseError(f"the arguments of {name} are nested too deeply to read") from None
    call_id = raw.get("id")
    call_id = call_id if isinstance(call_id, str) else str(call_id) if isinstance(call_id, int) else ""
    return _checked(ToolCall(name=name, arguments=args, id=call_id))


def _checked(call: ToolCall) -> ToolCall:
    """`call` when its name is text and its arguments a JSON object of JSON values; else a ParseError saying why."""
    if not isinstance(call.name, str) or not call.name:
        raise ParseError("a tool call needs a name (text)")
    if not isinstance(call.arguments, dict):
        raise ParseError(f"the arguments of {call.name} must be an object, not {type(call.arguments).__name__}")
    problem = _json_problem(call.arguments)
    if problem:
        raise ParseError(f"the arguments of {call.name} must be JSON: {problem}")
    return call


def _json_problem(value: Any) -> str | None:
    """What keeps `value` from being plain JSON (checked without recursion), or None."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"they nest deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return "every key of an object is text"
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{item} is not a JSON number"
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 10**300:
            return "a number has more digits than any tool reads"
        elif item is not None and not isinstance(item, str | int | float | bool):
            return f"{type(item).__name__} is not a JSON value"
    return None


def _number(action: dict, key: str) -> float:
    value = action.get(key, 0) or 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ParseError(f"{key} must be a non-negative number")
    return float(value)
