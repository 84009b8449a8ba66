"""The agent's tools: bash, a file editor, search and submit.

A tool is an object with a `name`, an OpenAI function `spec`, and a call that
takes the episode's sandbox and the decoded arguments and returns a
`ToolResult`. Tools keep per-episode state (the editor's undo history), so an
env makes fresh ones at every reset with `make_tools`. Which tools an episode
has, and what they are called, is configuration: the perturbation layer
varies both.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Protocol

from swefarm.envs.models import ToolResult
from swefarm.sandbox import Sandbox


class Tool(Protocol):
    name: str
    spec: dict

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult: ...


def tool_kinds() -> dict[str, type]:
    """Every tool kind by its configuration name."""
    from swefarm.envs.tools.apply_patch import ApplyPatchTool
    from swefarm.envs.tools.bash import BashTool
    from swefarm.envs.tools.editor import EditorTool
    from swefarm.envs.tools.search import SearchTool
    from swefarm.envs.tools.submit import SubmitTool

    return {
        "bash": BashTool,
        "editor": EditorTool,
        "search": SearchTool,
        "apply_patch": ApplyPatchTool,
        "submit": SubmitTool,
    }


def make_tools(
    kinds: list[str],
    names: dict[str, str] | None = None,
    arguments: dict[str, dict[str, str]] | None = None,
    descriptions: dict[str, str] | None = None,
    **options: Any,
) -> dict[str, Tool]:
    """Fresh tool instances for one episode, by the name the agent calls them.

    `names` renames kinds (e.g. {"editor": "str_replace_editor"}); `arguments`
    renames and orders a kind's arguments ({"bash": {"command": "cmd"}}) and
    `descriptions` replaces a kind's description (see `RenamedTool`); `options`
    go to every tool whose constructor takes them (e.g. `workdir`, `timeout_s`);
    an option no tool takes is a ValueError.
    Each tool carries its `kind`.
    """
    from swefarm.envs.tools.renamed import RenamedTool

    known = tool_kinds()
    unknown = [k for k in [*kinds, *(arguments or {}), *(descriptions or {})] if k not in known]
    if unknown:
        raise ValueError(f"unknown tool kind(s) {', '.join(unknown)}; known: {', '.join(known)}")
    takes = _options_taken()
    strange = sorted(set(options) - takes)
    if strange:  # a misspelt option must not be dropped silently
        raise ValueError(f"unknown tool option(s) {', '.join(strange)}; known: {', '.join(sorted(takes))}")
    tools: dict[str, Tool] = {}
    for kind in kinds:
        cls = known[kind]
        accepted = _parameters(cls)
        kwargs = {k: v for k, v in options.items() if k in accepted}
        if names and kind in names:
            kwargs["name"] = names[kind]
        tool = cls(**kwargs)
        if (arguments and kind in arguments) or (descriptions and kind in descriptions):
            tool = RenamedTool(tool, (arguments or {}).get(kind), (descriptions or {}).get(kind))
        tool.kind = kind
        if tool.name in tools:
            raise ValueError(f"two tools are called {tool.name!r}")
        tools[tool.name] = tool
    return tools


@functools.cache
def _parameters(cls: type) -> frozenset[str]:
    """What a tool's constructor takes (signatures are slow to read: once per class, not per reset)."""
    return frozenset(inspect.signature(cls).parameters)


@functools.cache
def _options_taken() -> frozenset[str]:
    return frozenset(p for cls in tool_kinds().values() for p in _parameters(cls)) - {"name"}


def tool_interface(tools: dict[str, Tool]) -> dict[str, dict[str, Any]]:
    """What each tool is under the name the agent calls it: {name: {"kind", "arguments": {argument: name}}}.

    Scripted policies read this to find a renamed editor's `old_str`; it is not shown to the agent.
    """
    from swefarm.envs.tools.renamed import RenamedTool

    out = {}
    for name, tool in tools.items():
        props = tool.spec["function"]["parameters"].get("properties", {})
        names = tool.arguments if isinstance(tool, RenamedTool) else {p: p for p in props}
        out[name] = {"kind": getattr(tool, "kind", name), "arguments": dict(names)}
    return out
