"""Rollouts: many episodes of one policy on many tasks at once, written as trajectories as they finish.

asyncio orchestrates: each episode runs on a worker thread (Docker and the
sandbox are blocking), at most `concurrency` at a time, and model calls from
all of them meet in the backend, which batches them (the transformers engine
batches in-process; a vLLM server batches on its own). Each finished episode
is appended to the JSONL file at once, so a crash or Ctrl-C loses nothing
already played. Each episode plays through `policy.episode.play`: one that meets
an infrastructure failure (the model backend down, say) is written with its
error and the run goes on; any other exception is a bug and stops the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swefarm.policy.base import PolicyFactory
from swefarm.policy.episode import play
from swefarm.policy.trajectory import Trajectory, write_jsonl

from swefarm.errors import InfrastructureError


@dataclass
class RolloutPlan:
    """What to run: tasks x episodes, with which env settings and perturbation."""

    tasks: list[str]
    episodes: int = 1
    concurrency: int = 1
    store: str | Path | None = None
    env_config: dict[str, Any] = field(default_factory=dict)
    perturb: Any = None  # a perturbation spec for perturb.wrap (None: unperturbed)
    seed: int = 0

    def jobs(self) -> list[tuple[str, int, int]]:
        """(task, episode index, seed) for every episode, in a stable order."""
        out = []
        for t, task in enumerate(self.tasks):
            for k in range(self.episodes):
                out.append((task, k, self.seed + 1000 * t + k))
        return out


def run(
    plan: RolloutPlan,
    factory: PolicyFactory,
    out: str | Path | None = None,
    on_done: Callable[[Trajectory], None] | None = None,
    client=None,
) -> list[Trajectory]:
    """Play every episode of `plan` with `factory`'s policies; append each to `out` (JSONL) when it ends."""
    return asyncio.run(run_async(plan, factory, out, on_done, client))


async def run_async(plan, factory, out=None, on_done=None, client=None) -> list[Trajectory]:
    from swefarm.sandbox import registry
    from swefarm.sandbox.engine import connect

    if plan.episodes < 1 or plan.concurrency < 1:
        raise ValueError("episodes and concurrency must be at least 1")
    if not plan.tasks:
        raise ValueError("no tasks to run")
    client = client or connect(pool_size=plan.concurrency * 2 + 4)
    needed = 2 * plan.concurrency + 16
    if registry.cap() < needed:
        registry.set_cap(needed)
    slots = asyncio.Semaphore(plan.concurrency)
    loop = asyncio.get_running_loop()
    results: list[Trajectory] = []
    with ThreadPoolExecutor(max_workers=plan.concurrency, thread_name_prefix="swefarm-rollout") as pool:

        async def one(job: tuple[str, int, int]) -> None:
            async with slots:
                trajectory = await loop.run_in_executor(pool, play_episode, plan, factory, job, client)
            if out is not None:
                write_jsonl([trajectory], out)
            results.append(trajectory)
            if on_done is not None:
                on_done(trajectory)

        await asyncio.gather(*(one(job) for job in plan.jobs()))
    order = {(task, k): i for i, (task, k, _) in enumerate(plan.jobs())}
    return sorted(results, key=lambda t: order[(t.task, t.episode)])


def play_episode(plan: RolloutPlan, factory: PolicyFactory, job: tuple[str, int, int], client) -> Trajectory:
    """One episode, start to end, through `policy.episode.play`.

    An infrastructure failure (a sandbox, the model server) is recorded in the trajectory's `error`,
    with the policy's turns so far; any other exception is a bug and propagates (the run stops).
    """
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.tasks.store import TaskStore

    task_id, k, seed = job
    start = time.perf_counter()
    task = TaskStore(plan.store).get(task_id)
    base = {"task": task_id, "repo": task.repo, "episode": k, "seed": seed, "policy": factory.name,
            "perturbation": plan.perturb}  # fmt: skip
    env = None
    try:
        env = SWEEnv(task, config=plan.env_config or None, client=client)
        if plan.perturb:
            from swefarm import perturb

            env = perturb.wrap(env, plan.perturb, seed=seed)
        policy = factory.new(task)
        episode = play(env, policy, seed=seed)
    except InfrastructureError as exc:  # the env could not even be made
        fields = {**base, "error": f"{type(exc).__name__}: {exc}", "wall_s": round(time.perf_counter() - start, 3)}
        return Trajectory(**fields, truncated=True, token_ids_exact=False)
    finally:
        if env is not None:
            env.close()
    fields = {**base, "wall_s": round(time.perf_counter() - start, 3)}
    if episode.began:
        fields["scaffold"] = _scaffold(env, episode.start_info)
    if episode.error is not None:
        fields.update(error=episode.error, truncated=True)
        return policy.trajectory(**fields) if episode.began else Trajectory(**fields, token_ids_exact=False)
    fields.update(_outcome(episode.info, episode.reward, episode.terminated, episode.truncated))
    return policy.trajectory(**fields)


def _scaffold(env, info: dict[str, Any]) -> dict[str, Any]:
    config = getattr(env.unwrapped, "config", None)
    scaffold = {
        "tool_format": info.get("tool_format"),
        "tools": [spec["function"]["name"] for spec in info.get("tools", [])],
    }
    if config is not None:
        scaffold.update(max_steps=config.max_steps, wall_clock_budget_s=config.wall_clock_budget_s)
    return scaffold


def _outcome(info: dict[str, Any], reward: float, terminated: bool, truncated: bool) -> dict[str, Any]:
    outcome = info.get("outcome") or {}
    timing = info.get("timing") or {}
    return {
        "perturbation": info.get("perturbation"),
        "reward": float(reward),
        "reward_components": info.get("reward_components") or {},
        "resolved": bool(outcome.get("resolved", False)),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
        "truncated_by": info.get("truncated_by"),
        "infra_error": info.get("infra_error"),
        "steps": int(info.get("step", 0)),
        "env_time_s": float(timing.get("env_s", 0.0)),
    }
