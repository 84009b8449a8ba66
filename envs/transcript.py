"""An episode's transcript: the prompts it opens with, the chat as the agent and the trainer read it, and the
tool results of the last step.

`SWEEnv` keeps one per episode (a fork copies it); `info["messages"]` and `info["tool_results"]`
are read from it, and `render()` prints it.
"""

from __future__ import annotations

import json
from typing import Any

from swefarm.envs.actions import Turn
from swefarm.envs.config import EnvConfig
from swefarm.envs.episode import EpisodeOptions
from swefarm.envs.formats import ToolFormat
from swefarm.envs.models import ToolCall
from swefarm.tasks.models import Task


def prompts(
    cfg: EnvConfig,
    episode: EpisodeOptions,
    tool_format: ToolFormat,
    specs: list[dict[str, Any]],
    tool_names: list[str],
    task: Task,
    workdir: str,
) -> tuple[str, str]:
    """The system prompt and the first user message of an episode on `task` in `workdir`."""
    submit = cfg.tool_names.get("submit", "submit")
    system = cfg.system_prompt.format(
        workdir=workdir,
        submit=submit,
        tool_instructions=tool_format.instructions(specs),
        tool_list=", ".join(tool_names),
    )
    issue = episode.problem_statement(task.problem_statement)
    user = cfg.instance_prompt.format(repo=task.repo, workdir=workdir, problem_statement=issue)
    return system, user


class Transcript:
    """The chat of one episode (OpenAI-style messages) and the last step's tool results."""

    def __init__(self, system: str, user: str):
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        self.results: list[dict[str, Any]] = []

    def assistant(self, turn: Turn, step: int) -> None:
        """The policy's turn; its calls get ids (`call_<step>_<i>` where the policy gave none), in `turn` too."""
        message: dict[str, Any] = {"role": "assistant", "content": turn.text}
        if turn.calls and turn.error is None:
            calls: list[dict[str, Any]] = []
            for i, call in enumerate(turn.calls):
                call_id = call.id or f"call_{step}_{i}"
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                )
            message["tool_calls"] = calls
            turn.calls = [ToolCall(c.name, c.arguments, calls[i]["id"]) for i, c in enumerate(turn.calls)]
        self.messages.append(message)

    def user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def tool(self, call: ToolCall, text: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text})

    def render(self) -> str:
        return "\n\n".join(f"[{m['role']}] {m.get('content', '')}" for m in self.messages)
