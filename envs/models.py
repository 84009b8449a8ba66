"""Data types the env, its tools and its tool-call formats share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One call the agent made: a tool name and its arguments (already decoded from the text)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass
class ToolResult:
    """What a tool returns. `output` is the text the agent reads."""

    output: str
    error: bool = False  # the call failed: bad arguments, a failing command, a missing file
    submitted: bool = False  # the agent asked to end the episode (the submit tool)
    exit_code: int | None = None
    timed_out: bool = False
    transient: bool = False  # the call was not run (a passing failure of the tool server); the same call may succeed


class ParseError(ValueError):
    """The agent's text holds no well-formed tool call. The message is written for the agent to read."""
