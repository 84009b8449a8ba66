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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from swefarm.envs.models import ParseError, ToolCall


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
    """Decode `action`; `parse(text) -> list[ToolCall]` is the episode format's parser. Never raises."""
    try:
        return _decode(action, parse)
    except ParseError as exc:
        return Turn(text=action if isinstance(action, str) else "", error=str(exc))
    except Exception as exc:  # anything odd the agent sends is its mistake, never the env's crash
        return Turn(error=f"the action could not be read ({type(exc).__name__}: {exc})")


def _decode(action: Any, parse) -> Turn:
    if isinstance(action, str):
        try:
            return Turn(text=action, calls=parse(action))
        except ParseError as exc:
            return Turn(text=action, error=str(exc))
    if isinstance(action, ToolCall):
        return Turn(calls=[action])
    if isinstance(action, list):
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
        if action.get("tool_calls"):
            turn.calls = [_call(c) for c in action["tool_calls"]]
        else:
            try:
                turn.calls = parse(turn.text)
            except ParseError as exc:
                turn.error = str(exc)
        return turn
    turn.calls = [_call(action)]
    return turn


def _call(raw: Any) -> ToolCall:
    if isinstance(raw, ToolCall):
        return raw
    if not isinstance(raw, dict):
        raise ParseError(f"a tool call is an object with a name and arguments, not {type(raw).__name__}")
    fn = raw.get("function") if isinstance(raw.get("function"), dict) else raw
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError("a tool call needs a name")
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ParseError(f"the arguments of {name} are not valid JSON: {exc}") from None
    if not isinstance(args, dict):
        raise ParseError(f"the arguments of {name} must be an object")
    return ToolCall(name=name, arguments=args, id=str(raw.get("id") or ""))


def _number(action: dict, key: str) -> float:
    value = action.get(key, 0) or 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ParseError(f"{key} must be a non-negative number")
    return float(value)
