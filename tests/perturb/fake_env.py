"""A deterministic stand-in for SWEEnv for wrapper tests: it applies the reset options as SWEEnv does, no Docker.

It honours the same `reset(options=...)` contract (envs.episode.EpisodeOptions), renders the
prompts from the episode's config, runs tool calls through the middleware against a fake
command runner, and echoes info["perturbation"].
"""

from __future__ import annotations

import gymnasium as gym
from swefarm.envs.config import EnvConfig
from swefarm.envs.episode import EpisodeOptions
from swefarm.envs.models import ToolCall, ToolResult
from swefarm.envs.spaces import AnyText

ISSUE = "widget() crashes on empty input\n\nSteps to reproduce:\n\n```\nwidget('')\n```\n\nExpected: it returns ''."


class FakeSandbox:
    class config:  # noqa: N801 - mirrors SandboxConfig's attribute
        workdir = "/testbed"

    def __init__(self):
        self.commands: list[str] = []

    def run_stateless(self, cmd, timeout=None, cwd=None, **_):
        from swefarm.sandbox.models import CommandResult

        self.commands.append(cmd)
        return CommandResult(exit_code=0, output="SWEFARM_CWD=/testbed\n", duration=0.0)

    def run(self, cmd, timeout=None, idle_timeout=None):
        from swefarm.sandbox.models import CommandResult

        self.commands.append(cmd)
        return CommandResult(exit_code=0, output="", duration=0.0)


class FakeEnv(gym.Env):
    def __init__(self):
        self.config = EnvConfig()
        self.observation_space = self.action_space = AnyText(max_length=100_000, min_length=0)
        self.resets: list[dict] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode = EpisodeOptions.parse(options, self.config)
        self.sandbox = FakeSandbox()
        for setup in self.episode.setup:
            setup(self.sandbox)
        cfg = self.episode.config
        system = cfg.system_prompt.format(workdir="/testbed", submit="submit", tool_instructions="TOOLS", tool_list="x")
        user = cfg.instance_prompt.format(
            repo="o/r", workdir="/testbed", problem_statement=self.episode.problem_statement(ISSUE)
        )
        self.resets.append({"seed": seed, "options": options})
        info = {"perturbation": self.episode.perturbation, "system": system, "user": user, "config": cfg}
        return f"{system}\n\n{user}", info

    def run(self, name: str, output: str, exit_code: int | None = 0) -> ToolResult:
        """A tool call through the episode's middleware, answered with `output`."""
        return self.episode.call(ToolCall(name, {}), lambda: ToolResult(output=output, exit_code=exit_code))

    def step(self, action):
        return "", 0.0, False, False, {"perturbation": self.episode.perturbation}
