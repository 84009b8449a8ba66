"""Sessions over REST: one episode at a time on a task, hosted by a worker, owned by one token.

The API records a session, picks the least-loaded worker and forwards calls to it. A session
whose worker is lost answers its steps the way an env reports an infrastructure failure
(`truncated`, `info["infra_error"]`, never a scored 0), whether the step found the loss or the
monitor did first, and is failed from then on (a reset is refused); the worker's sandboxes are
reaped by the monitor. Another token's session is a 404, the same as a
missing one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from swefarm.api.contract.errors import ApiError, ConflictError, NotFoundError, TooManyRequestsError, UnavailableError
from swefarm.api.contract.schemas import (
    ResetRequest,
    SessionCreate,
    SessionPublic,
    SessionStarted,
    StepRequest,
    StepResult,
)
from swefarm.api.farm import db, perturbation
from swefarm.api.server import scaffolds
from swefarm.api.server.directory import LIVE_SESSION, WorkerLost, lost_error, was_lost


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _public(row) -> SessionPublic:
    return SessionPublic(
        id=row.id, task_id=row.task_id, scaffold=row.scaffold,
        perturbation=json.loads(row.perturbation) if row.perturbation else None, status=row.status,
        error=row.error, steps=row.steps, episodes=row.episodes, reward=row.reward, idle_timeout_s=row.idle_timeout_s,
        worker_id=row.worker_id, created_at=_time(row.created_at), last_active_at=_time(row.last_active_at),
        ended_at=_time(row.ended_at),
    )  # fmt: skip


def _row(database: db.Database, owner: str, session_id: str):
    with database.read() as conn:
        row = conn.execute(
            select(db.sessions).where((db.sessions.c.id == session_id) & (db.sessions.c.owner == owner))
        ).first()
    if row is None:
        raise NotFoundError(f"no session {session_id}")
    return row


def get(state, owner: str, session_id: str) -> SessionPublic:
    return _public(_row(state.database, owner, session_id))


def listing(state, owner: str, status: str | None, limit: int) -> list[SessionPublic]:
    query = select(db.sessions).where(db.sessions.c.owner == owner)
    if status:
        query = query.where(db.sessions.c.status == status)
    with state.database.read() as conn:
        rows = conn.execute(query.order_by(db.sessions.c.created_at.desc()).limit(limit)).all()
    return [_public(row) for row in rows]


def _insert(state, owner: str, body: SessionCreate) -> tuple[str, dict, object]:
    settings = state.settings
    ref, config = scaffolds.resolve(state.database, owner, body, settings)
    spec = body.perturbation if body.perturbation is not None else config.perturbation
    perturbation.require(spec)
    state.tasks.get(body.task_id)  # a NotFoundError before any worker is bothered
    idle = min(body.idle_timeout_s or settings.session_idle_s, settings.max_session_idle_s)
    worker = state.workers.pick()
    session_id = "s-" + uuid.uuid4().hex
    env_config = config.model_dump(exclude={"perturbation"})
    t = db.now()
    with state.database.write() as conn:
        live = conn.execute(
            select(db.sessions.c.id).where((db.sessions.c.owner == owner) & db.sessions.c.status.in_(LIVE_SESSION))
        ).all()
        if len(live) >= settings.max_sessions_per_token:
            raise TooManyRequestsError(
                f"this token already holds {len(live)} live sessions (the limit is {settings.max_sessions_per_token});"
                " close some first"
            )
        conn.execute(
            insert(db.sessions).values(
                id=session_id, owner=owner, worker_id=worker.id, task_id=body.task_id, scaffold=ref,
                config=json.dumps(env_config), perturbation=None if spec is None else json.dumps(spec),
                status="starting", idle_timeout_s=idle, created_at=t, last_active_at=t,
            )
        )  # fmt: skip
    request = {
        "session_id": session_id, "task_id": body.task_id, "config": env_config, "perturbation": spec,
        "seed": body.seed, "idle_timeout_s": idle, "messages_from": body.messages_from,
    }  # fmt: skip
    return session_id, request, worker


def _fail(database: db.Database, session_id: str, error: str) -> None:
    with database.write() as conn:
        conn.execute(
            update(db.sessions)
            .where((db.sessions.c.id == session_id) & db.sessions.c.status.in_(LIVE_SESSION))
            .values(status="failed", error=error[:4000], ended_at=db.now())
        )


async def start(state, owner: str, body: SessionCreate) -> SessionStarted:
    session_id, request, worker = await run_in_threadpool(_insert, state, owner, body)
    try:
        answer = await state.workers.call(worker, "POST", "/internal/sessions", request)
    except (ApiError, WorkerLost) as exc:
        await run_in_threadpool(_fail, state.database, session_id, f"the session could not start: {exc}")
        state.metrics.sessions_failed.inc()
        if isinstance(exc, WorkerLost):
            asyncio.get_running_loop().run_in_executor(None, state.workers.sweep)
            raise UnavailableError(f"the session could not start: {exc}; try again") from None
        raise
    state.metrics.sessions_started.inc()
    session = await run_in_threadpool(get, state, owner, session_id)
    return SessionStarted(session=session, observation=answer["observation"], info=answer["info"])


def _usable(row) -> None:
    if row.status in ("active", "ended"):
        return
    why = f": {row.error}" if row.error else ""
    raise ConflictError(f"session {row.id} is {row.status}{why}; start a new session")


async def _forward(state, row, method: str, path: str, body: dict | None, raw: bool = False):
    worker = state.workers.get(row.worker_id)  # a WAL read never waits for a writer: no thread hop
    if worker is None or worker.status != "alive":
        raise WorkerLost(f"worker {row.worker_id} is {'gone' if worker is None else worker.status}")
    try:
        return await state.workers.call(worker, method, path, body, raw=raw)
    except NotFoundError:
        raise WorkerLost(f"worker {worker.id} no longer holds the session (it restarted)") from None


async def step(state, owner: str, session_id: str, body: StepRequest) -> StepResult | Response:
    """The worker's answer is passed on as it came (it has the StepResult shape): the hot path does no re-encoding."""
    row = _row(state.database, owner, session_id)
    if row.status == "failed" and was_lost(row.error):  # the monitor found the loss first: the same answer
        return _lost_result(row, row.error)
    _usable(row)
    started = time.perf_counter()
    try:
        answer = await _forward(
            state, row, "POST", f"/internal/sessions/{session_id}/step",
            {"action": body.action, "messages_from": body.messages_from, "full_history": body.full_history}, raw=True,
        )  # fmt: skip
    except WorkerLost as exc:
        return await _lost(state, row, str(exc))
    state.metrics.step_latency.observe(time.perf_counter() - started)
    return Response(answer, media_type="application/json")


async def _lost(state, row, reason: str) -> StepResult:
    """The worker holding the session is gone: fail the session and report it like an env's infra error."""
    error = lost_error(f"worker {row.worker_id}", reason)
    await run_in_threadpool(_fail, state.database, row.id, error)
    state.metrics.sessions_failed.inc()
    asyncio.get_running_loop().run_in_executor(None, state.workers.sweep)  # reap its sandboxes now
    return _lost_result(row, error)


def _lost_result(row, error: str) -> StepResult:
    info = {"infra_error": error, "session_status": "failed", "step": row.steps}
    return StepResult(observation="", reward=0.0, terminated=False, truncated=True, info=info)


async def reset(state, owner: str, session_id: str, body: ResetRequest) -> SessionStarted:
    row = await run_in_threadpool(_row, state.database, owner, session_id)
    _usable(row)
    try:
        answer = await _forward(state, row, "POST", f"/internal/sessions/{session_id}/reset", body.model_dump())
    except WorkerLost as exc:
        result = await _lost(state, row, str(exc))
        raise ConflictError(result.info["infra_error"]) from None
    session = await run_in_threadpool(get, state, owner, session_id)
    return SessionStarted(session=session, observation=answer["observation"], info=answer["info"])


async def close(state, owner: str, session_id: str) -> SessionPublic:
    row = await run_in_threadpool(_row, state.database, owner, session_id)
    if row.status in LIVE_SESSION:
        try:
            await _forward(state, row, "DELETE", f"/internal/sessions/{session_id}", None)
        except (WorkerLost, ApiError):
            pass  # the worker is gone: the monitor reaps what it left
        await run_in_threadpool(_closed, state.database, session_id)
    return await run_in_threadpool(get, state, owner, session_id)


def _closed(database: db.Database, session_id: str) -> None:
    with database.write() as conn:
        conn.execute(
            update(db.sessions)
            .where((db.sessions.c.id == session_id) & db.sessions.c.status.in_(LIVE_SESSION))
            .values(status="closed", ended_at=db.now())
        )
