"""Health (no token needed), Prometheus metrics and the workers list (token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool
from swefarm.api.contract.schemas import Health, WorkerPublic
from swefarm.api.server.deps import Owner, State

router = APIRouter()


@router.get("/v1/health", response_model=Health, tags=["farm"])
async def health(state: State) -> Health:
    """ok when the database answers and at least one worker is alive; degraded otherwise."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        alive = await run_in_threadpool(state.workers.alive_count)
        database = "ok"
    except Exception as exc:  # the database is unreachable: say so, do not fail the probe with a 500
        alive, database = 0, f"error: {type(exc).__name__}"
    try:
        release = version("swefarm")
    except PackageNotFoundError:
        release = "unknown"
    status = "ok" if alive and database == "ok" else "degraded"
    return Health(status=status, version=release, workers_alive=alive, database=database)


@router.get("/metrics", tags=["farm"], response_class=Response)
async def metrics(state: State, owner: Owner) -> Response:
    """Prometheus text format (scrape with `authorization: {credentials: <token>}`)."""
    body = await run_in_threadpool(state.metrics.render)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/workers", response_model=list[WorkerPublic], tags=["farm"])
async def workers(state: State, owner: Owner) -> list[WorkerPublic]:
    return await run_in_threadpool(state.workers.listing)
