"""Episodes for trainers: play policies on tasks through the public Gymnasium API and keep their trajectories.

Each episode is `gymnasium.make("swefarm.envs:swe/Task-v0", task=..., store=...)`,
a policy from a factory (`load_policy`, or a trainer's live model), and the
usual reset/step loop; the policy's own record (`trajectory()`) comes back with
the env's reward, outcome and any infrastructure error filled in. Episodes run
on threads, so a batching engine serves their turns together. Nothing raises:
an episode whose rollout failed comes back with `error` set, one whose sandbox
failed with `infra_error` set, and trainers mask both (never score them 0).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swefarm.policy.trajectory import Trajectory

ENV_ID = "swefarm.envs:swe/Task-v0"


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
) -> list[Trajectory]:
    """Every episode of `specs` (in their order), at most `concurrency` at once."""
    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="swefarm-train-episode") as pool:
        futures = [pool.submit(play_one, spec, factory, store) for spec in specs]
        out = []
        for future in futures:
            trajectory = future.result()
            if on_done is not None:
                on_done(trajectory)
            out.append(trajectory)
    return out


def play_one(spec: EpisodeSpec, factory, store: str | Path | None = None) -> Trajectory:
    """One episode start to end; failures are recorded in the trajectory, never raised."""
    import gymnasium
    from swefarm.tasks.store import TaskStore

    start = time.perf_counter()
    base: dict[str, Any] = {"task": spec.task, "episode": spec.episode, "seed": spec.seed, "policy": factory.name}
    env = policy = None
    try:
        task = TaskStore(store).get(spec.task)
        base["repo"] = task.repo
        env = gymnasium.make(ENV_ID, task=task, config=spec.env_config or None, disable_env_checker=True)
        policy = factory.new(task)
        observation, info = env.reset(seed=spec.seed)
        base["scaffold"] = {
            "tool_format": info.get("tool_format"),
            "tools": [t["function"]["name"] for t in info["tools"]],
        }
        policy.begin(observation, info)
        reward, terminated, truncated = 0.0, False, False
        while not (terminated or truncated):
            action = policy.act(observation, info)
            observation, reward, terminated, truncated, info = env.step(action)
        if hasattr(policy, "finish"):
            policy.finish(observation, info)
        fields = {**base, **outcome_fields(info, reward, terminated, truncated)}
        fields["wall_s"] = round(time.perf_counter() - start, 3)
        return policy.trajectory(**fields)
    except Exception as exc:
        fields = {**base, "error": f"{type(exc).__name__}: {exc}", "wall_s": round(time.perf_counter() - start, 3)}
        if policy is not None and getattr(policy, "turns", None):
            try:
                return policy.trajectory(**fields, truncated=True)
            except Exception:
                pass
        return Trajectory(**fields, truncated=True, token_ids_exact=False)
    finally:
        if env is not None:
            env.close()


def outcome_fields(info: dict[str, Any], reward: float, terminated: bool, truncated: bool) -> dict[str, Any]:
    """The trajectory fields the env's final info decides."""
    outcome = info.get("outcome") or {}
    return {
        "reward": float(reward),
        "reward_components": info.get("reward_components") or {},
        "resolved": bool(outcome.get("resolved", False)),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
        "truncated_by": info.get("truncated_by"),
        "infra_error": info.get("infra_error"),
        "steps": int(info.get("step", 0)),
        "env_time_s": float((info.get("timing") or {}).get("env_s", 0.0)),
    }


def trainable(trajectory: Trajectory) -> bool:
    """Whether a trainer may learn from this episode: it ran, was graded, and its tokens are exact."""
    return (
        trajectory.error is None
        and trajectory.infra_error is None
        and bool(trajectory.token_ids)
        and trajectory.token_ids_exact
    )
