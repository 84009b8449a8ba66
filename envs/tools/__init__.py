"""The agent's tools: bash, a file editor, search and submit.

A tool is an object with a `name`, an OpenAI function `spec`, and a call that
takes the episode's sandbox and the decoded arguments and returns a
`ToolResult`. Tools keep per-episode state (the editor's undo history), so an
env makes fresh ones at every reset with `make_tools`. Which tools an episode
has, and what they are called, is configuration: the perturbation layer
varies both.
"""

from __future__ import annotations

from typing import Any, Protocol

from envs.models import ToolResult
from sandbox import Sandbox


class Tool(Protocol):
    name: str
    spec: dict

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult: ...


def tool_kinds() -> dict[str, type]:
    """Every tool kind by its configuration name."""
    from envs.tools.bash import BashTool
    from envs.tools.editor import EditorTool
    from envs.tools.search import SearchTool
    from envs.tools.submit import SubmitTool

    return {"bash": BashTool, "editor": EditorTool, "search": SearchTool, "submit": SubmitTool}


def make_tools(kinds: list[str], names: dict[str, str] | None = None, **options: Any) -> dict[str, Tool]:
    """Fresh tool instances for one episode, by the name the agent calls them.

    `names` renames kinds (e.g. {"editor": "str_replace_editor"}); `options`
    go to every tool whose constructor takes them (e.g. `workdir`, `timeout_s`).
    """
    import inspect

    known = tool_kinds()
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise ValueError(f"unknown tool kind(s) {', '.join(unknown)}; known: {', '.join(known)}")
    tools: dict[str, Tool] = {}
    for kind in kinds:
        cls = known[kind]
        accepted = inspect.signature(cls).parameters
        kwargs = {k: v for k, v in options.items() if k in accepted}
        if names and kind in names:
            kwargs["name"] = names[kind]
        tool = cls(**kwargs)
        if tool.name in tools:
            raise ValueError(f"two tools are called {tool.name!r}")
        tools[tool.name] = tool
    return tools
