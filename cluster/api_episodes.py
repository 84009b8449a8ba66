"""What the REST farm runs on a sandbox host: a session's env, and one evaluation episode.

These functions travel with Ray calls (by reference: every node has swefarm installed) and run
on the host, with the same code a farm worker runs: `api.hosting.build_env` for a session's env,
and the worker's evaluation runner's `_play`/`_result` for an episode. What comes back is
already what a client may read (`public_info`: no hidden test names).
"""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any


class PolicyUnavailable(Exception):
    """The job's policy could not be loaded on the host: the job fails with this reason."""


def session_env(ctx, task, config: dict, perturbation: Any, seed: int | None):
    from swefarm.api.hosting import build_env

    return build_env(task, config, perturbation, seed, ctx.client, ctx.pool_size)


def session_answer(method: str, result: Any, messages_from: int | None = None) -> dict:
    """A session call's result in the shape the worker's internal endpoint gives."""
    from swefarm.api.hosting import public_info

    if method == "reset":
        observation, info = result
        return {"observation": observation, "info": public_info(info, messages_from)}
    observation, reward, terminated, truncated, info = result
    return {"observation": observation, "reward": float(reward), "terminated": bool(terminated),
            "truncated": bool(truncated), "info": public_info(info, messages_from)}  # fmt: skip


def _runner(ctx, task):
    """The worker's episode code, fed the shipped task and this node's engine (no database on a host)."""
    from swefarm.api.runner import EvaluationRunner

    class HostRunner(EvaluationRunner):
        def __init__(self):  # noqa: D107 - no worker, no database: only what _play and _result use
            self.worker = SimpleNamespace(store=SimpleNamespace(get=lambda _id: task), client=ctx.client)
            self.settings = SimpleNamespace(pool_size=ctx.pool_size)
            self._stop = threading.Event()

        def _check(self, item) -> None:  # a cancelled job's late results are dropped by the API
            return None

    return HostRunner()


def play_item(ctx, job: dict, item: dict, task) -> dict:
    """One evaluation episode on this host: the columns to write on the episode's row."""
    try:
        factory = ctx.policy(job["policy"], json.loads(job["policy_options"] or "{}"))
    except Exception as exc:
        raise PolicyUnavailable(
            f"the policy {job['policy']!r} could not be loaded: {type(exc).__name__}: {exc}"
        ) from None
    return _runner(ctx, task)._play(SimpleNamespace(**item), SimpleNamespace(**job), factory)
