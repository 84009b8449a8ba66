"""Scripted policies: the oracle (the gold patch, applied through the agent's own tools) and the empty one.

They are the two anchors of every reward check: the oracle must score 1 and
the empty policy 0 on any valid task. Both speak to the env only through the
Gymnasium API and write their turns as model text in the episode's tool-call
format, so an oracle episode also exercises the parser, the tools and the grader.

The oracle edits with the file editor where the episode has one: one
`str_replace` per hunk (old text = context and removed lines, new text =
context and added lines), `create` for new files. When a hunk's text is not
unique in its file, or the episode has no editor, it falls back to `git apply`
of that file's part of the patch through bash.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from unidiff import PatchedFile, PatchSet

from envs.formats import get_format
from envs.models import ToolCall

_HEREDOC = "SWEFARM_ORACLE_PATCH"


class EmptyPolicy:
    """Submits at once: the floor every reward must put at 0."""

    def __init__(self) -> None:
        self._format = None

    def begin(self, observation: str, info: dict[str, Any]) -> None:
        self._format = get_format(info["tool_format"], **_tool_names(info))
        self._submit = _tool_names(info)["submit_tool"]

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return self._format.render([ToolCall(self._submit, {})], thinking="Nothing to change; submitting.")


class OraclePolicy:
    """Applies the task's gold patch with the episode's tools, then submits."""

    def __init__(self, gold_patch: str):
        self.files = {patched.path: patched for patched in PatchSet(gold_patch)}

    def begin(self, observation: str, info: dict[str, Any]) -> None:
        names = _tool_names(info)
        self._format = get_format(info["tool_format"], **names)
        self._bash, self._submit, self._editor = names["bash_tool"], names["submit_tool"], _editor_name(info)
        self._fallbacks: list[str] = []  # files whose hunks the editor could not place: git apply them
        self._last_path: str | None = None
        self._plan = self._calls()

    def act(self, observation: str, info: dict[str, Any]) -> str:
        failed = any(result["error"] for result in info.get("tool_results", []))
        if failed and self._last_path is not None and self._last_path not in self._fallbacks:
            self._fallbacks.append(self._last_path)
        call, self._last_path = next(self._plan)
        return self._format.render([call], thinking=f"Next: {call.name} on {self._last_path or 'the task'}.")

    def _calls(self) -> Iterator[tuple[ToolCall, str | None]]:
        for path, patched in self.files.items():
            if self._editor is None or patched.is_rename or patched.is_binary_file or patched.is_removed_file:
                self._fallbacks.append(path)
            elif patched.is_added_file:
                text = "".join(line.value for hunk in patched for line in hunk.target_lines())
                yield ToolCall(self._editor, {"command": "create", "path": path, "file_text": text}), path
            else:
                for hunk in patched:
                    if path in self._fallbacks:
                        break
                    old = "".join(line.value for line in hunk.source_lines())
                    new = "".join(line.value for line in hunk.target_lines())
                    args = {"command": "str_replace", "path": path, "old_str": old, "new_str": new}
                    yield ToolCall(self._editor, args), path
        while self._fallbacks:
            path = self._fallbacks.pop(0)
            yield ToolCall(self._bash, {"command": _git_apply(self.files[path])}), None
        yield ToolCall(self._submit, {}), None


def _git_apply(patched: PatchedFile) -> str:
    """Put the file back as it was, then apply its part of the gold patch."""
    restore = "rm -f" if patched.is_added_file else "git checkout -q --"
    restore = f"{restore} '{patched.path}' 2>/dev/null; "
    return f"{restore}git apply --whitespace=nowarn - <<'{_HEREDOC}'\n{patched}{_HEREDOC}"


def _tool_names(info: dict[str, Any]) -> dict[str, str]:
    names = [spec["function"]["name"] for spec in info["tools"]]
    bash = next((n for n in names if "bash" in n), "bash")
    submit = next((n for n in names if "submit" in n), "submit")
    return {"bash_tool": bash, "submit_tool": submit}


def _editor_name(info: dict[str, Any]) -> str | None:
    if info["tool_format"] == "bash":
        return None
    for spec in info["tools"]:
        props = spec["function"]["parameters"].get("properties", {})
        if {"command", "path", "old_str", "new_str"} <= set(props):
            return spec["function"]["name"]
    return None


@dataclass
class Episode:
    """What one played episode gave: the reward and the final info, plus its length and wall time."""

    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    steps: int = 0
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)


def play(env, policy, seed: int | None = None, max_steps: int = 1000) -> Episode:
    """Run one episode of `policy` on `env` (any Gymnasium env speaking swefarm's API)."""
    start = time.perf_counter()
    observation, info = env.reset(seed=seed)
    policy.begin(observation, info)
    episode = Episode(info=info)
    while episode.steps < max_steps:
        action = policy.act(observation, info)
        episode.actions.append(action)
        observation, reward, terminated, truncated, info = env.step(action)
        episode.steps += 1
        if terminated or truncated:
            episode.reward, episode.terminated, episode.truncated, episode.info = reward, terminated, truncated, info
            break
    episode.seconds = time.perf_counter() - start
    return episode
