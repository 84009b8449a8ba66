"""Forking a session over REST: n new sessions on the same worker, each going on from this one's state.

The parent must be an active episode. The new sessions are recorded first (so the token's session
limit counts them), then the worker forks the env (`envs.fork`); if it cannot, they are failed
with its reason and the parent goes on as it was.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update
from starlette.concurrency import run_in_threadpool
from swefarm.api.contract.errors import ApiError, ConflictError, TooManyRequestsError
from swefarm.api.contract.forks import ForkRequest, ForkResult
from swefarm.api.farm import db
from swefarm.api.server import sessions
from swefarm.api.server.directory import LIVE_SESSION, WorkerLost


def _insert(state, owner: str, parent, n: int) -> list[str]:
    limit = state.settings.max_sessions_per_token
    ids = ["s-" + uuid.uuid4().hex for _ in range(n)]
    t = db.now()
    copied = {
        "owner": owner, "worker_id": parent.worker_id, "task_id": parent.task_id, "scaffold": parent.scaffold,
        "config": parent.config, "perturbation": parent.perturbation, "idle_timeout_s": parent.idle_timeout_s,
        "status": "starting", "steps": parent.steps, "episodes": parent.episodes, "created_at": t, "last_active_at": t,
    }  # fmt: skip
    with state.database.write() as conn:
        live = conn.execute(
            select(db.sessions.c.id).where((db.sessions.c.owner == owner) & db.sessions.c.status.in_(LIVE_SESSION))
        ).all()
        if len(live) + n > limit:
            raise TooManyRequestsError(
                f"this token holds {len(live)} live sessions and the limit is {limit}: a fork of {n} does not fit;"
                " close some first"
            )
        conn.execute(insert(db.sessions), [dict(copied, id=session_id) for session_id in ids])
    return ids


def _fail(database: db.Database, ids: list[str], error: str) -> None:
    with database.write() as conn:
        conn.execute(
            update(db.sessions)
            .where(db.sessions.c.id.in_(ids) & db.sessions.c.status.in_(LIVE_SESSION))
            .values(status="failed", error=error[:4000], ended_at=db.now())
        )


async def fork(state, owner: str, session_id: str, body: ForkRequest) -> ForkResult:
    parent = await run_in_threadpool(sessions._row, state.database, owner, session_id)
    if parent.status != "active":
        why = f": {parent.error}" if parent.error else ""
        raise ConflictError(f"session {session_id} is {parent.status}{why}; only an active episode can be forked")
    ids = await run_in_threadpool(_insert, state, owner, parent, body.n)
    path = f"/internal/sessions/{session_id}/fork"
    try:
        await sessions._forward(state, parent, "POST", path, {"session_ids": ids})
    except WorkerLost as exc:
        await run_in_threadpool(_fail, state.database, ids, f"the fork failed: {exc}")
        result = await sessions._lost(state, parent, str(exc))
        raise ConflictError(result.info["infra_error"]) from None
    except ApiError as exc:
        await run_in_threadpool(_fail, state.database, ids, f"the fork failed: {exc.detail}")
        raise
    state.metrics.sessions_started.inc(len(ids))
    made = [await run_in_threadpool(sessions.get, state, owner, i) for i in ids]
    return ForkResult(sessions=made)
