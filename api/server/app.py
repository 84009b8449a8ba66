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
from swefarm.api.farm import handlers
from swefarm.api.farm.db import Database
from swefarm.api.farm.settings import Settings
from swefarm.api.server.auth import Authenticator
from swefarm.api.server.deps import AppState
from swefarm.api.server.directory import WorkerDirectory
from swefarm.api.server.metrics import Metrics
from swefarm.api.server.middleware import BodyLimitMiddleware, MetricsMiddleware
from swefarm.api.server.routes import evaluations, health, scaffolds, sessions, tasks
from swefarm.api.server.tasks import TaskCatalog

log = logging.getLogger("swefarm.api")

DESCRIPTION = """REST API of a swefarm env farm: tasks, sessions (reset/step over HTTP), versioned scaffolds
and evaluation jobs. Every endpoint but `/v1/health` needs `Authorization: Bearer <token>` (the `HTTPBearer`
security scheme below)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    metrics = Metrics(database)
    state = AppState(
        settings=settings,
        database=database,
        auth=Authenticator(settings.tokens()),
        tasks=TaskCatalog(settings.task_store),
        workers=WorkerDirectory(database, settings, metrics),
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
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


async def _monitor(state: AppState) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            await loop.run_in_executor(None, state.workers.sweep)
        except Exception:
            log.exception("the monitor's sweep failed")
        await asyncio.sleep(state.settings.monitor_interval_s)
