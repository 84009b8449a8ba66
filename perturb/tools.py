"""The tools family: the same capabilities behind another interface.

An episode draws a tool-call format (hermes, minimax, bash), a tool set (bash
only; bash and an editor; bash and apply_patch; with or without search), the
order the tools are listed in, a name for each tool, names and an order for
each tool's arguments, and a description for each tool. The env then accepts
exactly that interface: a call by the old name, or with an old argument name,
is answered with an error naming what exists. The bash format carries only
bash and submit, so it always gets the bash-only set.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, Field, field_validator
from swefarm.envs.formats import FORMATS
from swefarm.perturb.base import Episode

TOOL_SETS: dict[str, list[str]] = {
    "bash_only": ["bash", "submit"],
    "editor": ["bash", "editor", "submit"],
    "editor_search": ["bash", "editor", "search", "submit"],
    "apply_patch": ["bash", "apply_patch", "submit"],
    "apply_patch_search": ["bash", "apply_patch", "search", "submit"],
}
DEFAULT_NAMES = {
    "bash": "bash",
    "editor": "str_replace_editor",
    "search": "search",
    "apply_patch": "apply_patch",
    "submit": "submit",
}
NAMES: dict[str, list[str]] = {
    "bash": ["shell", "execute_bash", "run_command", "terminal", "exec_command"],
    "editor": ["edit_file", "file_editor", "text_editor", "editor"],
    "search": ["grep", "search_code", "find_in_files", "code_search"],
    "apply_patch": ["patch", "apply_diff", "edit_with_patch"],
    "submit": ["finish", "task_complete", "done", "submit_patch"],
}
ARGUMENTS: dict[str, dict[str, list[str]]] = {
    "bash": {"command": ["cmd", "script", "shell_command"], "timeout": ["timeout_s", "time_limit"]},
    "editor": {
        "command": ["action", "operation"],
        "path": ["file_path", "file", "filename"],
        "file_text": ["content", "text"],
        "old_str": ["old_string", "search", "find"],
        "new_str": ["new_string", "replacement", "replace"],
        "insert_line": ["line", "after_line"],
        "view_range": ["line_range", "lines"],
    },
    "search": {"pattern": ["regex", "query"], "path": ["directory", "dir"], "include": ["glob", "file_glob"]},
    "apply_patch": {"patch": ["diff", "input", "patch_text"]},
}
#: Other descriptions per kind, as templates over the argument names (index 0 in params: the tool's own).
DESCRIPTIONS: dict[str, list[str]] = {
    "bash": [
        "Execute a bash command in the terminal. The session persists between calls (working directory, "
        "environment variables). Pass the command line in `{command}`; `{timeout}` optionally limits its run time "
        "in seconds. There is no internet access.",
        "Runs `{command}` in a long-lived bash shell and returns its combined stdout and stderr with the exit "
        "status. Commands are killed after a timeout (`{timeout}` seconds, optional).",
    ],
    "editor": [
        "Custom editing tool for viewing, creating and editing files.\n* State persists across calls.\n"
        "* `view` shows a file with line numbers (`{view_range}` limits it to [start, end]) or lists a directory "
        "two levels deep.\n* `create` writes a new file with `{file_text}`; it refuses to overwrite one.\n"
        "* `str_replace` replaces `{old_str}`, which must match exactly one place in the file, with `{new_str}`.\n"
        "* `insert` adds `{new_str}` after line `{insert_line}` (0 for the top).\n"
        "* `undo_edit` reverts the last edit to `{path}`.\nChoose the operation with `{command}`.",
        "File editor. `{command}` is one of view, create, str_replace, insert, undo_edit; `{path}` is the file "
        "(relative to the repository root, or absolute). str_replace needs `{old_str}` (exact and unique, "
        "whitespace included) and `{new_str}`; create needs `{file_text}`; insert needs `{insert_line}` and "
        "`{new_str}`; view takes an optional `{view_range}`.",
    ],
    "search": [
        "Grep the repository: lines matching the extended regular expression `{pattern}` under `{path}` "
        "(default: the repository root), only in files whose name matches `{include}` if given. Answers "
        "path:line:text.",
        "Search code for a regex. Arguments: `{pattern}` (required), `{path}` (a directory or a file), "
        "`{include}` (a file-name glob such as *.py).",
    ],
    "apply_patch": [
        "Apply a patch to the repository, all or nothing. `{patch}` holds a unified diff (git diff format, paths "
        "relative to the repository root) or an apply_patch block:\n*** Begin Patch\n*** Update File: PATH\n"
        "@@ a line near the change\n context\n-old line\n+new line\n*** End Patch",
    ],
    "submit": [
        "Call this when you have finished the task; your changes are then evaluated.",
        "Signal that the work is complete. Takes no arguments.",
    ],
}


class ToolsOptions(BaseModel):
    model_config = {"extra": "forbid"}

    formats: list[str] = Field(default_factory=lambda: list(FORMATS), description="tool-call formats to draw from")
    tool_sets: list[str] = Field(default_factory=lambda: list(TOOL_SETS), description="tool sets to draw from")
    rename_p: float = Field(0.7, ge=0, le=1, description="chance that a tool gets another name")
    argument_rename_p: float = Field(0.5, ge=0, le=1, description="chance that an argument gets another name")
    reorder: bool = Field(True, description="shuffle the order of the tools and of their arguments")

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        return _subset(value, FORMATS, "format")

    @field_validator("tool_sets")
    @classmethod
    def _sets(cls, value: list[str]) -> list[str]:
        return _subset(value, TOOL_SETS, "tool set")


class ToolsPerturbation:
    name = "tools"

    def __init__(self, **options: Any):
        self.options = ToolsOptions(**options)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        opts = self.options
        fmt = rng.choice(opts.formats)
        tool_set = "bash_only" if fmt == "bash" else rng.choice(opts.tool_sets)
        kinds = list(TOOL_SETS[tool_set])
        if opts.reorder:
            rng.shuffle(kinds)
        names = {k: rng.choice(NAMES[k]) if rng.random() < opts.rename_p else DEFAULT_NAMES[k] for k in kinds}
        arguments = {}
        for kind in (k for k in kinds if k in ARGUMENTS):
            order = list(ARGUMENTS[kind])
            if opts.reorder:
                rng.shuffle(order)
            arguments[kind] = {
                a: rng.choice(ARGUMENTS[kind][a]) if rng.random() < opts.argument_rename_p else a for a in order
            }
        descriptions = {k: rng.randrange(len(DESCRIPTIONS[k]) + 1) for k in kinds}
        return {
            "tool_format": fmt,
            "tool_set": tool_set,
            "tools": kinds,
            "tool_names": names,
            "tool_arguments": arguments,
            "descriptions": descriptions,
        }

    def apply(self, params: dict[str, Any], episode: Episode) -> None:
        arguments = params["tool_arguments"]
        descriptions = {}
        for kind, index in params["descriptions"].items():
            if index:
                names = {a: a for a in ARGUMENTS.get(kind, {})} | arguments.get(kind, {})
                descriptions[kind] = DESCRIPTIONS[kind][index - 1].format(**names)
        episode.configure(
            tools=params["tools"],
            tool_names=params["tool_names"],
            tool_arguments=arguments,
            tool_descriptions=descriptions,
            tool_format=params["tool_format"],
        )


def _subset(value: list[str], known, what: str) -> list[str]:
    unknown = [v for v in value if v not in known]
    if unknown or not value:
        raise ValueError(f"unknown {what}(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")
    return value
