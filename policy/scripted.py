"""Scripted policies: the oracle (the gold patch, applied through the agent's own tools) and the empty one.

They are the two anchors of every reward check: the oracle must score 1 and
the empty policy 0 on any valid task. Both speak to the env only through the
Gymnasium API and write their turns as model text in the episode's tool-call
format, so an oracle episode also exercises the parser, the tools and the grader.

The oracle edits with the file editor where the episode has one: one
`str_replace` per hunk (old text = context and removed lines, new text =
context and added lines), `create` for new files; else with the whole patch
through apply_patch where there is one. When a hunk's text is not unique in its
file, or the episode has neither tool, it falls back to `git apply` of that
file's part of the patch through bash. Both policies find the tools under the
names a perturbed episode gives them (`info["tool_interface"]`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

from swefarm.envs.models import ToolCall
from swefarm.policy.interface import episode_format, tool_interface
from swefarm.policy.trajectory import Trajectory, TurnRecord
from unidiff import PatchedFile, PatchSet

_HEREDOC = "SWEFARM_ORACLE_PATCH"


class ScriptedPolicy:
    """The Policy protocol for policies without a model: each turn recorded as text, no token ids.

    Subclasses say what to do in `start(info)` and `next_action(observation, info)`.
    """

    def begin(self, observation: str, info: dict[str, Any]) -> None:
        self.turns: list[TurnRecord] = []
        self.start(info)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self.turns:
            self.turns[-1].observation = observation
        action = self.next_action(observation, info)
        self.turns.append(TurnRecord(index=len(self.turns), prompt_ids=[], completion_ids=[], text=action))
        return action

    def finish(self, observation: str, info: dict[str, Any]) -> None:
        if self.turns:
            self.turns[-1].observation = observation

    def trajectory(self, **fields: Any) -> Trajectory:
        turns = getattr(self, "turns", [])
        return Trajectory(**fields, turns=turns, token_ids_exact=False, token_note="scripted policy: no model tokens")

    def start(self, info: dict[str, Any]) -> None:
        raise NotImplementedError

    def next_action(self, observation: str, info: dict[str, Any]) -> str:
        raise NotImplementedError


class EmptyPolicy(ScriptedPolicy):
    """Submits at once: the floor every reward must put at 0."""

    def start(self, info: dict[str, Any]) -> None:
        self._tools = _Tools(info)
        self._last: str | None = None

    def next_action(self, observation: str, info: dict[str, Any]) -> str:
        if self._last is not None and _transient(info):
            return self._last  # the call never ran: send it again
        self._last = self._tools.render(self._tools.call("submit"), "Nothing to change; submitting.")
        return self._last


class OraclePolicy(ScriptedPolicy):
    """Applies the task's gold patch with the episode's tools, then submits.

    It finds the tools by kind, under whatever names the episode gives them and
    their arguments (`info["tool_interface"]`), edits with the editor or
    apply_patch where the episode has one, else with `git apply` through bash
    from the repository root, and sends a call again when it failed transiently.
    """

    def __init__(self, gold_patch: str):
        self.patch = gold_patch
        self.files = {patched.path: patched for patched in PatchSet(gold_patch)}

    def start(self, info: dict[str, Any]) -> None:
        self._tools = _Tools(info)
        self._fallbacks: list[str] = []  # files the editor (or apply_patch) could not change: git apply them
        self._last_paths: list[str] = []
        self._last: str | None = None
        self._plan = self._calls()

    def next_action(self, observation: str, info: dict[str, Any]) -> str:
        if self._last is not None and _transient(info):
            return self._last  # the call never ran: send it again
        failed = any(result["error"] for result in info.get("tool_results", []))
        if failed:
            self._fallbacks.extend(p for p in self._last_paths if p not in self._fallbacks)
        call, self._last_paths = next(self._plan)
        what = ", ".join(self._last_paths) or "the task"
        self._last = self._tools.render(call, f"Next: {call.name} on {what}.")
        return self._last

    def _calls(self) -> Iterator[tuple[ToolCall, list[str]]]:
        tools = self._tools
        if tools.has("editor"):
            yield from self._edits()
        elif tools.has("apply_patch"):
            yield tools.call("apply_patch", patch=self.patch), list(self.files)
        else:
            self._fallbacks.extend(self.files)
        while self._fallbacks:
            path = self._fallbacks.pop(0)
            yield tools.call("bash", command=tools.at_root(_git_apply(self.files[path]))), []
        yield tools.call("submit"), []

    def _edits(self) -> Iterator[tuple[ToolCall, list[str]]]:
        tools = self._tools
        for path, patched in self.files.items():
            if patched.is_rename or patched.is_binary_file or patched.is_removed_file:
                self._fallbacks.append(path)
            elif patched.is_added_file:
                text = "".join(line.value for hunk in patched for line in hunk.target_lines())
                yield tools.call("editor", command="create", path=path, file_text=text), [path]
            else:
                for hunk in patched:
                    if path in self._fallbacks:
                        break
                    old = "".join(line.value for line in hunk.source_lines())
                    new = "".join(line.value for line in hunk.target_lines())
                    yield tools.call("editor", command="str_replace", path=path, old_str=old, new_str=new), [path]


def _git_apply(patched: PatchedFile) -> str:
    """Put the file back as it was, then apply its part of the gold patch."""
    restore = "rm -f" if patched.is_added_file else "git checkout -q --"
    restore = f"{restore} '{patched.path}' 2>/dev/null; "
    return f"{restore}git apply --whitespace=nowarn - <<'{_HEREDOC}'\n{patched}{_HEREDOC}"


def _transient(info: dict[str, Any]) -> bool:
    return any(result.get("transient") for result in info.get("tool_results", []))


class _Tools:
    """The episode's tools by kind: their names, their arguments' names, and the format calls are written in."""

    def __init__(self, info: dict[str, Any]):
        interface = tool_interface(info)
        self.names = {entry["kind"]: name for name, entry in interface.items()}
        self.arguments = {entry["kind"]: entry["arguments"] for entry in interface.values()}
        self.workdir = info.get("workdir")
        self.format = episode_format(info, interface)
        self._text_only = info["tool_format"] == "bash"  # the bash format carries only bash and submit

    def has(self, kind: str) -> bool:
        return kind in self.names and not (self._text_only and kind not in ("bash", "submit"))

    def call(self, kind: str, **arguments: Any) -> ToolCall:
        names = self.arguments.get(kind, {})
        return ToolCall(self.names[kind], {names.get(k, k): v for k, v in arguments.items()})

    def render(self, call: ToolCall, thinking: str) -> str:
        return self.format.render([call], thinking=thinking)

    def at_root(self, command: str) -> str:
        """`command` run from the repository root, wherever the shell is."""
        return f"cd {shlex.quote(self.workdir)}; {command}" if self.workdir else command
