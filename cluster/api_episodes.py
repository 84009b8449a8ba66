"""What the REST farm runs on a sandbox host: a session's env, and one evaluation episode.

These functions travel with Ray calls (by reference: every node has swefarm installed) and run
on the host, with the same code a farm worker runs: `api.worker.hosting.build_env` for a
session's env, and `api.worker.episode.play_evaluation` for an episode. What comes back is
already what a client may read (`public_info`: no hidden test names).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any


def session_env(ctx, task, config: dict, perturbation: Any, seed: int | None):
    from swefarm.api.worker.hosting import build_env

    return build_env(task, config, perturbation, seed, ctx.client, ctx.pool_size)


def session_answer(method: str, result: Any, messages_from: int | None = None) -> dict:
    """A session call's result in the shape the worker's internal endpoint gives."""
    from swefarm.api.worker.hosting import public_info

    if method == "reset":
        observation, info = result
        return {"observation": observation, "info": public_info(info, messages_from)}
    observation, reward, terminated, truncated, info = result
    return {"observation": observation, "reward": float(reward), "terminated": bool(terminated),
            "truncated": bool(truncated), "info": public_info(info, messages_from)}  # fmt: skip


def play_item(ctx, job: dict, item: dict, task) -> dict:
    """One evaluation episode on this host (the task shipped with it, this node's engine): the columns
    to write on the episode's row (an infrastructure failure is one; a bug raises). A cancelled job's
    late results are dropped by the API, so nothing stops the episode here."""
    from swefarm.api.worker.episode import play_evaluation

    factory = ctx.policy(job["policy"], json.loads(job["policy_options"] or "{}"))  # PolicyUnavailableError
    return play_evaluation(task, SimpleNamespace(**job), SimpleNamespace(**item), factory, ctx.client, ctx.pool_size)
