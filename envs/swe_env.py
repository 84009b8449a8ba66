"""SWEEnv: one software-engineering task as a Gymnasium env; SamplerEnv: a task per reset from a dataset.

An episode: `reset()` hands out a fresh sandbox (from a warm pool) with the
repository at the base commit and returns the system prompt and the issue;
each `step(action)` runs the agent's tool calls and returns their output; the
episode ends when the agent submits (terminated), or on max steps or the
wall-clock budget (truncated). Then the working tree's diff is graded in a
fresh container and scored by the episode's RewardSpec.

What the agent sees never includes the gold patch, the hidden tests, their
names or git history after the base commit (the task image holds none of it).
`info` carries the chat so far, the tool specs, task metadata, timings and, at
the end, `reward_components`, the grade (`info["grade"]`, with `tampered`,
`suspicious` and `grade_failure` also at the top level); a failure the agent
could not cause sets `info["infra_error"]` and is never scored as a failed
attempt, while one its actions or code caused is graded as not resolved.

`reset(options=...)` may vary one episode (its tools, prompts, issue text,
sandbox set-up and tool responses; see `envs.episode`): the perturbation layer
does so, and `info["perturbation"]` records what it varied.

Sandboxes come from a provider (`sandbox.provider`): `client=` a provider, or a
Docker client, else the one `EnvConfig.sandbox_provider` names (default docker).
This module is the env and its episode state; where its sandboxes come from (pools,
prefetching) is `envs.pools`, and the chat it records is `envs.transcript`.
"""

from __future__ import annotations

import time
from copy import deepcopy
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
from swefarm.envs.actions import decode
from swefarm.envs.config import EnvConfig
from swefarm.envs.episode import EpisodeOptions
from swefarm.envs.models import ToolCall, ToolResult
from swefarm.envs.pools import EnvSandboxes, close_later
from swefarm.envs.sources import TaskSource, load_source
from swefarm.envs.spaces import AnyText
from swefarm.envs.tools import tool_interface
from swefarm.envs.tools.schema import check_arguments
from swefarm.envs.transcript import Transcript, prompts
from swefarm.rewards.outcome import EpisodeOutcome
from swefarm.sandbox.errors import AgentCausedError, SandboxError
from swefarm.sandbox.provider import SandboxProvider, as_provider, make_provider
from swefarm.tasks.models import Task
from swefarm.tasks.public import agent_view

MAX_TEXT = 1_000_000


class SWEEnv(gym.Env[str, Any]):
    """One task from the store (or a Task object) as a Gymnasium env."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        task: Task | str | None = None,
        *,
        store: str | Path | None = None,
        config: EnvConfig | dict | str | None = None,
        client=None,
        render_mode: str | None = None,
        **overrides: Any,
    ):
        if task is None:
            raise ValueError("SWEEnv needs a task: a Task or an instance id in the task store")
        self._setup(load_source(task=task, store=store), config, client, render_mode, overrides)

    # -- set-up ------------------------------------------------------------------------
    def _setup(self, source: TaskSource, config, client, render_mode, overrides) -> None:
        from swefarm.harness.images import sandbox_config

        self.config = EnvConfig.load(config, **overrides)
        self.source = source
        self.render_mode = render_mode
        self._episode = EpisodeOptions(config=self.config)
        self._cfg = self.config  # this episode's config: the env's, with what reset(options=...) changes
        self.format = self.config.call_format()
        self.observation_space = AnyText(max_length=MAX_TEXT, min_length=0)
        self.action_space = AnyText(max_length=MAX_TEXT, min_length=0)
        self._provider = _provider(client, self.config.sandbox_provider)
        self._box_config = sandbox_config(**self.config.sandbox_overrides())
        self._grading_box = sandbox_config(**self.config.sandbox_overrides(grading=True))
        self._sandboxes = EnvSandboxes(self._provider, self._box_config, self.config.pool_size)
        self._sandbox = None
        self._task: Task | None = None
        self._ended = True
        for task in source.preview():
            self._check_ready(task)

    def _check_ready(self, task: Task) -> None:
        from swefarm.harness.images import task_image

        if not task.FAIL_TO_PASS:
            raise ValueError(
                f"task {task.instance_id} has no FAIL_TO_PASS tests, so no episode on it can be graded; "
                f"validate it first: swefarm validate {task.instance_id}"
            )
        image = task_image(task)
        if not self._provider.image_exists(image):
            raise ValueError(
                f"task {task.instance_id} has no image {image}; build it first: swefarm build {task.instance_id}"
            )

    @property
    def task(self) -> Task | None:
        return self._task

    # -- gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """A fresh sandbox and the first observation. `options` may vary this episode (see `envs.episode`)."""
        super().reset(seed=seed)
        start = time.perf_counter()
        self._release_sandbox()
        self._task = None  # until a sandbox is in hand: a reset that fails leaves step() asking for reset()
        episode = EpisodeOptions.parse(options, self.config)
        cfg = episode.config
        tools = cfg.build_tools(self._box_config.workdir)  # before a sandbox is taken: a bad interface costs nothing
        task = self.source.draw(self.np_random)
        self._sandbox = self._take_sandbox(task)
        workdir = self._sandbox.config.workdir
        if workdir != self._box_config.workdir:  # a local sandbox's own directory
            tools = cfg.build_tools(workdir)
        for setup in episode.setup:
            setup(self._sandbox)
        self._episode, self._cfg, self._tools = episode, cfg, tools
        self.format = cfg.call_format()
        self._task = task
        self._prefetch_next()
        self._specs = [tool.spec for tool in self._tools.values()]
        self._ended = False
        self._steps = self._tool_calls = self._tokens = 0
        self._model_s = 0.0
        self._reset_s = time.perf_counter() - start
        self._env_s = self._reset_s
        system, user = prompts(cfg, episode, self.format, self._specs, list(self._tools), task, workdir)
        self._transcript = Transcript(system, user)
        info = self._info(step_s=self._reset_s)
        info["tools"] = deepcopy(self._specs)
        info["tool_format"] = cfg.tool_format
        info["tool_interface"] = tool_interface(self._tools)
        info["workdir"] = workdir
        info["task"] = agent_view(task)  # never the patch, the tests or their names
        return f"{system}\n\n{user}", info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        if self._task is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self._ended:
            return "The episode has ended; call reset() to start a new one.", 0.0, True, False, self._info(0.0)
        start = time.perf_counter()
        turn = decode(action, lambda text: self.format.parse(text, self._specs))
        if turn.truncate is not None:  # the policy ends the episode (its context is full, say): not a step
            self._model_s += turn.model_time_s
            self._tokens += turn.tokens
            return self._end("", time.perf_counter() - start, terminated=False, truncation=turn.truncate)
        self._steps += 1
        self._model_s += turn.model_time_s
        self._tokens += turn.tokens
        transcript = self._transcript
        transcript.assistant(turn, self._steps)
        submitted, step_error, outputs = False, None, []
        transcript.results = []
        if turn.error is not None:
            outputs.append(f"Error: {turn.error}")
            transcript.results.append({"name": None, "error": True, "exit_code": None, "timed_out": False})
            transcript.user(outputs[-1])
        for call in turn.calls if turn.error is None else []:
            try:
                result = self._run(call)
            except AgentCausedError as exc:  # what the agent's commands did stops the call: the agent's to read
                result = ToolResult(output=f"Error: {exc}", error=True)
            except SandboxError as exc:
                step_error = exc
                break
            text = self._clip(result.output)
            outputs.append(text)
            transcript.results.append(
                {
                    "name": call.name,
                    "error": result.error,
                    "exit_code": result.exit_code,
                    "timed_out": result.timed_out,
                    "transient": result.transient,
                }
            )
            transcript.tool(call, text)
            if result.submitted:
                submitted = True
                break
        step_s = time.perf_counter() - start
        self._env_s += step_s
        observation = "\n\n".join(outputs)
        if step_error is not None:
            return self._end(observation, step_s, terminated=False, step_error=step_error)
        if submitted:
            return self._end(observation, step_s, terminated=True)
        out_of_steps = self._steps >= self._cfg.max_steps
        out_of_time = self._env_s + self._model_s >= self._cfg.wall_clock_budget_s
        if out_of_steps or out_of_time:
            why = "the step limit" if out_of_steps else "the wall-clock budget"
            return self._end(observation, step_s, terminated=False, truncation=why)
        return observation, 0.0, False, False, self._info(step_s)

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._task is None:
            return None
        return self._transcript.render()

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        self._sandboxes.close()
        super().close()

    def warm(self, timeout: float = 120.0) -> None:
        """Start the pool of the next task's image and wait until its sandboxes are ready (a fast first reset)."""
        task = self.source.upcoming(deepcopy(self.np_random)) or self.source.draw(self.np_random)
        self._ensure_pool(task).wait_ready(timeout=timeout)

    def report(self, model_time_s: float = 0.0, tokens: int = 0) -> None:
        """Report policy time and tokens outside `step` (e.g. a final turn that made no call)."""
        if model_time_s < 0 or tokens < 0:
            raise ValueError("model_time_s and tokens must be >= 0")
        self._model_s += model_time_s
        self._tokens += tokens

    # -- forking (envs/fork.py) ------------------------------------------------------------
    def fork(self, n: int = 1) -> list[SWEEnv]:
        """n envs that go on from this moment of the episode, each in its own sandbox (see `envs.fork`)."""
        from swefarm.envs.fork import fork

        return fork(self, n)

    def snapshot(self):
        """This moment of the episode (workspace, shell, transcript); `restore` it here or in a sibling."""
        from swefarm.envs.fork import snapshot

        return snapshot(self)

    def restore(self, snapshot) -> None:
        """Go back to a snapshot: a fresh sandbox takes its state, the transcript and counts are its own."""
        from swefarm.envs.fork import restore

        restore(self, snapshot)

    # -- tools -----------------------------------------------------------------------------
    def _run(self, call: ToolCall) -> ToolResult:
        self._tool_calls += 1
        return self._episode.call(call, partial(self._call_tool, call))

    def _call_tool(self, call: ToolCall) -> ToolResult:
        tool = self._tools.get(call.name)
        if tool is None:
            return ToolResult(
                output=f"Error: there is no tool {call.name!r}; the tools are {', '.join(self._tools)}", error=True
            )
        problem = check_arguments(tool.spec, call.arguments)
        if problem is not None:
            return ToolResult(output=f"Error: {problem}", error=True)
        return tool(self._sandbox, call.arguments)

    def _clip(self, text: str) -> str:
        limit = self._cfg.max_observation_chars
        if len(text) <= limit:
            return text
        half = limit // 2
        cut = len(text) - 2 * half
        return f"{text[:half]}\n[... {cut} characters cut ...]\n{text[-half:]}"

    # -- the end of an episode ---------------------------------------------------------------
    def _end(
        self,
        observation: str,
        step_s: float,
        terminated: bool,
        truncation: str | None = None,
        step_error: SandboxError | None = None,
    ) -> tuple[str, float, bool, bool, dict]:
        """End the episode: grade the work (a step's sandbox failure too, unless the sandbox is gone) and score it.

        Only a failure the agent could not cause is `infra_error` (never scored); what its actions or
        code broke is graded not resolved, with the cause in `info["grade_failure"]`."""
        self._ended = True
        info = self._info(step_s)
        info["submitted"] = terminated
        if truncation:
            info["truncated_by"] = truncation
        report = None
        if step_error is not None or terminated or self._cfg.grade_on_truncation:
            report = self._grade(step_error)
            info["timing"]["grade_s"] = report.duration
        infra_error = report.infra_error if report else None
        outcome = EpisodeOutcome(
            resolved=bool(report and report.resolved),
            fail_to_pass_passed=report.fail_to_pass_passed if report else 0,
            fail_to_pass_total=len(self._task.FAIL_TO_PASS),
            pass_to_pass_passed=report.pass_to_pass_passed if report else 0,
            pass_to_pass_total=len(self._task.PASS_TO_PASS),
            submitted=terminated,
            env_time_s=self._env_s,
            model_time_s=self._model_s,
            tool_calls=self._tool_calls,
            tokens=self._tokens,
            steps=self._steps,
            tampered=bool(report and report.tampered),
            suspicious=len(report.suspicious) if report else 0,
            grade_failure=report.failure if report else None,
            infra_error=infra_error,
        )
        score = self._cfg.reward_spec.score(outcome)
        info["reward_components"] = score.components
        info["reward_values"] = score.values
        info["outcome"] = outcome.model_dump()
        if report is not None:
            info["grade"] = report.model_dump(mode="json")
            info["tampered"] = report.tampered
            info["suspicious"] = info["grade"]["suspicious"]
            info["grade_failure"] = info["grade"]["failure"]
        if infra_error is not None:
            info["infra_error"] = infra_error
            return observation, 0.0, False, True, info  # truncated, never a failed attempt
        return observation, score.total, terminated, not terminated, info

    def _grade(self, step_error: SandboxError | None = None):
        """The grade of what the agent left in its sandbox (harness/workspace.py decides whose failures are whose)."""
        from swefarm.harness.images import task_image
        from swefarm.harness.workspace import grade_after_error, grade_workspace

        task, box = self._task, self._grading_box
        image, timeout = task_image(task), self._cfg.grade_timeout_s
        if step_error is not None:
            return grade_after_error(self._sandbox, task, step_error, self._provider, image, timeout, box)
        return grade_workspace(self._sandbox, task, self._provider, image, timeout, box)

    # -- sandboxes (envs/pools.py) ---------------------------------------------------------------
    def _take_sandbox(self, task: Task):
        """A started sandbox for `task`: the prefetched one, else from the warm pool of its image."""
        from swefarm.harness.images import task_image

        return self._sandboxes.take(task.instance_id, task_image(task))

    def _ensure_pool(self, task: Task):
        from swefarm.harness.images import task_image

        return self._sandboxes.ensure_pool(task_image(task))

    def _prefetch_next(self) -> None:
        """For a sampler: start the sandbox the next reset will most likely want, while this episode runs."""
        from swefarm.harness.images import task_image

        upcoming = self.source.upcoming(deepcopy(self.np_random))
        if upcoming is None or upcoming.instance_id == self._task.instance_id:
            return
        self._sandboxes.prefetch(upcoming.instance_id, task_image(upcoming))

    def _release_sandbox(self) -> None:
        if self._sandbox is not None:
            close_later(self._sandbox)
            self._sandbox = None

    # -- what the agent and the trainer read ---------------------------------------------------------
    def _info(self, step_s: float) -> dict[str, Any]:
        return {
            "messages": list(self._transcript.messages),
            "step": self._steps,
            "tool_calls": self._tool_calls,
            "tool_results": list(self._transcript.results),
            "perturbation": deepcopy(self._episode.perturbation),
            "reward_components": {},
            "timing": {
                "step_s": round(step_s, 6),
                "reset_s": round(self._reset_s, 6),
                "env_s": round(self._env_s, 6),
                "model_s": round(self._model_s, 6),
                "wall_s": round(self._env_s + self._model_s, 6),
            },
        }


class SamplerEnv(SWEEnv):
    """A task per reset, drawn with the env's seeded RNG from a dataset (the task store or a JSONL file).

    `split` is "all" or a stable hash split: "train" / "test" (`test_fraction` of the tasks
    go to test, the same ones on every machine). Only valid tasks are drawn.
    """

    def __init__(
        self,
        dataset: str | Path | None = None,
        split: str = "all",
        seed: int | None = None,
        *,
        repo: str | None = None,
        test_fraction: float = 0.2,
        config: EnvConfig | dict | str | None = None,
        client=None,
        render_mode: str | None = None,
        **overrides: Any,
    ):
        source = load_source(dataset=dataset, split=split, repo=repo, test_fraction=test_fraction)
        self._setup(source, config, client, render_mode, overrides)
        self._first_seed = seed

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        if seed is None and self._first_seed is not None:
            seed, self._first_seed = self._first_seed, None
        return super().reset(seed=seed, options=options)


def _provider(client: Any, name: str) -> SandboxProvider:
    """The env's provider: `client` when it is one (it must be the one the config names), else the named one
    (a Docker client given is Docker's)."""
    if isinstance(client, SandboxProvider):
        if client.name != name:
            raise ValueError(f"the env was given a {client.name} sandbox provider, but its config names {name!r}")
        return client
    if name == "docker":
        return as_provider(client)
    if client is not None:
        raise ValueError(f"a Docker client was given, but the config names the {name!r} sandbox provider")
    return make_provider(name)
