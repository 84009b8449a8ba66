"""Episodes for trainers: play policies on tasks and keep their trajectories, masked when they must not be learned.

Each episode is `policy.rollout.play_episode`: the task's env, a policy from a
factory (`load_policy`, or a trainer's live model), and the one episode loop
(`policy.episode.play`); the policy's own record (`trajectory()`) comes back
with the env's reward, outcome and any infrastructure error filled in. Episodes
run on threads, so a batching engine serves their turns together. Nothing
raises here, because one bad episode must not stop a trainer: an episode that
failed comes back with `error` set (a bug is logged with its traceback first),
one whose grading failed with `infra_error` set, and trainers mask both (never
score them 0).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swefarm.policy.rollout import RolloutPlan, play_episode
from swefarm.policy.trajectory import Trajectory

from swefarm.errors import InfrastructureError

log = logging.getLogger("swefarm.train")


@dataclass
class EpisodeSpec:
    """One episode to play: which task, its seed, and the env settings."""

    task: str
    seed: int = 0
    episode: int = 0
    env_config: dict[str, Any] = field(default_factory=dict)


def play_many(
    specs: list[EpisodeSpec],
    factory,
    store: str | Path | None = None,
    concurrency: int = 4,
    on_done=None,
    client=None,
) -> list[Trajectory]:
    """Every episode of `specs` (in their order), at most `concurrency` at once, on one Docker client."""
    if not specs:
        return []
    concurrency = max(1, concurrency)
    if client is None:
        from swefarm.sandbox.engine import connect

        try:
            client = connect(pool_size=2 * concurrency + 4)
        except InfrastructureError:
            pass  # each episode meets the same failure and records it
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="swefarm-train-episode") as pool:
        futures = [pool.submit(play_one, spec, factory, store, client) for spec in specs]
        out = []
        for future in futures:
            trajectory = future.result()
            if on_done is not None:
                on_done(trajectory)
            out.append(trajectory)
    return out


def play_one(spec: EpisodeSpec, factory, store: str | Path | None = None, client=None) -> Trajectory:
    """One episode start to end; failures are recorded in the trajectory, never raised."""
    start = time.perf_counter()
    plan = RolloutPlan(tasks=[spec.task], store=store, env_config=spec.env_config)
    try:
        return play_episode(plan, factory, (spec.task, spec.episode, spec.seed), client)
    except Exception as exc:  # a missing task, a bug in the policy or the env: masked, the trainer goes on
        log.warning("episode %s #%d failed, masked: %s: %s", spec.task, spec.episode, type(exc).__name__, exc)
        return Trajectory(
            task=spec.task,
            episode=spec.episode,
            seed=spec.seed,
            policy=factory.name,
            error=f"{type(exc).__name__}: {exc}",
            wall_s=round(time.perf_counter() - start, 3),
            truncated=True,
            token_ids_exact=False,
        )


def trainable(trajectory: Trajectory) -> bool:
    """Whether a trainer may learn from this episode: it ran, was graded, and its tokens are exact."""
    return (
        trajectory.error is None
        and trajectory.infra_error is None
        and bool(trajectory.token_ids)
        and trajectory.token_ids_exact
    )
