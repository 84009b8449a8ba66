"""One evaluation episode as the farm plays it, and the columns of its row: `play_evaluation(...)`.

A farm worker's evaluation runner calls it for each episode it claims, and so does a Ray sandbox
host (`swefarm.cluster`), so an episode is played and recorded one way wherever it runs. It builds
the job's env on `task` (the same env a session gets, perturbed for the `perturbed` variant, seeded
with the job's seed plus the repeat) and plays it through `policy.episode.play`. An infrastructure
failure is the episode's result (`infra_error`, never scored); any other exception is a bug and
propagates. What it returns is what a client may read (`public_info`: no hidden test names).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from swefarm.api.worker.hosting import build_env, public_action, public_info

from swefarm.errors import InfrastructureError

log = logging.getLogger("swefarm.worker")


def play_evaluation(
    task,
    job: Any,
    item: Any,
    factory,
    client,
    pool_size: int,
    before_step: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Play episode `item` (its `variant` and `repeat`) of evaluation `job` (its `perturbation`, `seed`,
    `config` and `keep_trajectories`) with a policy from `factory`; the values to write on its row.

    `before_step` runs before every action (a caller that must stop the episode raises out of it)."""
    from swefarm.policy.episode import play

    perturbation = json.loads(job.perturbation) if job.perturbation and item.variant == "perturbed" else None
    seed = job.seed + item.repeat
    env = None
    try:
        env = build_env(task, json.loads(job.config), perturbation, seed, client, pool_size)
        policy = factory.new(task)
        episode = play(env, policy, seed=seed, before_step=before_step)
    except InfrastructureError as exc:  # the env could not even be made
        return _infra(job, f"{type(exc).__name__}: {exc}", [])
    finally:
        if env is not None:
            env.close()
    actions = [public_action(action) for action in episode.actions]
    if episode.error is not None:
        return _infra(job, episode.error, actions)
    return _result(job, episode.reward, episode.info, actions, policy)


def _infra(job, error: str, actions: list) -> dict[str, Any]:
    trajectory = {"messages": [], "actions": actions, "info": {"error": error}}
    return {"infra_error": error[:4000], "trajectory": json.dumps(trajectory) if job.keep_trajectories else None}


def _result(job, reward: float, info: dict, actions: list, policy) -> dict[str, Any]:
    info = public_info(info)
    outcome = info.get("outcome", {})
    result = {
        "reward_components": info.get("reward_components", {}),
        "timing": info.get("timing", {}),
        "perturbation": info.get("perturbation"),
        "tampered": info.get("tampered"),
        "grade_failure": info.get("grade_failure"),
        "suspicious": info.get("suspicious", []),
    }
    values: dict[str, Any] = {
        "reward": float(reward),
        "resolved": bool((info.get("grade") or {}).get("resolved", False)),
        "steps": int(outcome.get("steps", info.get("step", 0)) or 0),
        "infra_error": info.get("infra_error"),
        "result": json.dumps(result),
    }
    if job.keep_trajectories:
        messages = info.pop("messages", [])
        trajectory = {"messages": messages, "actions": actions, "reward": float(reward), "info": info}
        record = getattr(policy, "trajectory", None)
        if callable(record):
            try:
                trajectory["policy"] = public_info({"t": record()})["t"]
            except Exception as exc:  # a scripted policy keeps no token record
                log.debug("no policy trajectory: %s", exc)
        values["trajectory"] = json.dumps(trajectory)
    return values
