"""The API server: `create_app(settings)` -> a FastAPI app with its state, middleware, routes and monitor.

The monitor runs beside the server: every `monitor_interval_s` it looks for lost workers (their
sessions fail, their episodes go back to the queue, their sandboxes are removed) and ends jobs
with nothing left to run. It runs once at start-up, so a restarted server picks up where the
last one stopped.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from swefarm.api import handlers
from swefarm.api.auth import Authenticator
from swefarm.api.db import Database
from swefarm.api.deps import AppState
from swefarm.api.metrics import Metrics
from swefarm.api.middleware import AuthMiddleware, BodyLimitMiddleware, MetricsMiddleware
from swefarm.api.routes import evaluations, health, scaffolds, sessions, tasks
from swefarm.api.settings import Settings
from swefarm.api.tasks import TaskCatalog
from swefarm.api.workers import WorkerDirectory

log = logging.getLogger("swefarm.api")

DESCRIPTION = """REST API of a swefarm env farm: tasks, sessions (reset/step over HTTP), versioned scaffolds
and evaluation jobs. Every endpoint but `/v1/health` needs `Authorization: Bearer <token>`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    metrics = Metrics(database)
    state = AppState(
        settings=settings,
        database=database,
        auth=Authenticator(settings.tokens()),
        tasks=TaskCatalog(settings.task_store),
        workers=_directory(database, settings, metrics),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        monitor = asyncio.create_task(_monitor(state))
        try:
            yield
        finally:
            monitor.cancel()
            await asyncio.gather(monitor, return_exceptions=True)
            await state.workers.aclose()
            database.close()

    app = FastAPI(
        title="swefarm",
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
        default_response_class=handlers.SafeJSONResponse,
    )
    app.state.farm = state
    handlers.install(app)
    for router in (health.router, tasks.router, scaffolds.router, sessions.router, evaluations.router):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(AuthMiddleware, authenticator=state.auth)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _directory(database: Database, settings: Settings, metrics: Metrics) -> WorkerDirectory:
    """The farm's workers; with `ray_address`, the Ray cluster's sandbox hosts (no SQL job queue)."""
    if settings.ray_address:
        from swefarm.cluster.api_farm import RayWorkerDirectory

        return RayWorkerDirectory(database, settings, metrics)
    return WorkerDirectory(database, settings, metrics)


async def _monitor(state: AppState) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            await loop.run_in_executor(None, state.workers.sweep)
        except Exception:
            log.exception("the monitor's sweep failed")
        await asyncio.sleep(state.settings.monitor_interval_s)
