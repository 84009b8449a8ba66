"""Tool-call formats: how an agent's raw text becomes tool calls, and how the system prompt says so.

A model is trained on one calling convention; the env speaks whichever one the
episode is configured with. Each format describes the tools and the syntax
(`instructions`), reads calls out of a reply (`parse`, which raises only
`ParseError`, with a message the agent can act on), and writes the reply a
model would give for given calls (`render`, for scripted policies and SFT
data, so that `parse(render(calls)) == calls`).

Calls written inside thinking are not calls: every parser strips thinking first.
"""

from __future__ import annotations

import functools
import inspect
from typing import Protocol

from swefarm.envs.models import ParseError, ToolCall

FORMATS = ("hermes", "minimax", "bash")


class ToolFormat(Protocol):
    name: str

    def instructions(self, tools: list[dict]) -> str:
        """System-prompt text: the tools (their specs) and exactly how to call them."""
        ...

    def parse(self, text: str, tools: list[dict]) -> list[ToolCall]:
        """The calls in a reply, in order; ParseError (and nothing else), whatever the text."""
        ...

    def render(self, calls: list[ToolCall], thinking: str = "") -> str:
        """The reply a model would write to make `calls`, after `thinking` if given; ValueError if it cannot."""
        ...


def get_format(name: str, **options) -> ToolFormat:
    """The format called `name`; `options` go to its constructor where it takes them (e.g. `bash_tool`).

    An option no format knows is a ValueError (a misspelt option must not be dropped silently).
    """
    from swefarm.envs.formats.bash_block import BashBlockFormat
    from swefarm.envs.formats.hermes import HermesFormat
    from swefarm.envs.formats.minimax import MiniMaxFormat

    classes = {"hermes": HermesFormat, "minimax": MiniMaxFormat, "bash": BashBlockFormat}
    if name not in classes:
        raise ValueError(f"unknown tool-call format {name!r}; known: {', '.join(FORMATS)}")
    known = frozenset().union(*(_parameters(cls) for cls in classes.values()))
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown tool-call format option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    cls = classes[name]
    accepted = _parameters(cls)
    return cls(**{k: v for k, v in options.items() if k in accepted})


@functools.cache
def _parameters(cls: type) -> frozenset[str]:
    """What a format's constructor takes (read once per class: signatures are slow, and formats are made per reset)."""
    return frozenset(inspect.signature(cls).parameters)


_THINK, _END_THINK = "<think>", "</think>"


def strip_thinking(text: str) -> str:
    """`text` without its thinking.

    Chat templates often put the opening <think> into the prompt, so a lone
    </think> means everything before it was thinking; a <think> that never
    closes means the reply was cut off while thinking. Linear in the text's
    length, whatever it holds.
    """
    kept, pos = [], 0
    while (start := text.find(_THINK, pos)) != -1:
        end = text.find(_END_THINK, start + len(_THINK))
        if end == -1:
            break
        kept.append(text[pos:start])
        pos = end + len(_END_THINK)
    kept.append(text[pos:])
    text = "".join(kept)
    if _END_THINK in text:
        text = text[text.rfind(_END_THINK) + len(_END_THINK) :]
    if _THINK in text:
        text = text[: text.find(_THINK)]
    return text


def render_thinking(thinking: str) -> str:
    """The prefix a reply with this thinking starts with ("" for none)."""
    return f"<think>\n{thinking}\n</think>\n\n" if thinking else ""


def find_spec(tools: list[dict], name: str) -> dict:
    """The spec of the tool called `name`; a ParseError naming the tools that exist when there is none."""
    for spec in tools:
        if spec["function"]["name"] == name:
            return spec
    known = ", ".join(spec["function"]["name"] for spec in tools) or "none"
    raise ParseError(f"there is no tool called {name!r}; the tools are: {known}")


def snippet(text: str, limit: int = 40) -> str:
    """A short quote of `text` for an error message."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
