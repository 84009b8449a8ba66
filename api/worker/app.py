"""The worker's internal HTTP endpoint, which only the API calls (with the worker's own secret).

Env work is blocking (Docker, the sandbox's socket), so it runs on the worker's thread pool.
Failures come back as the API's error shape, so the API can pass a client's mistake on as is.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel
from swefarm.api.contract.errors import (
    ApiError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    UnauthorizedError,
    UnavailableError,
)
from swefarm.api.farm import handlers
from swefarm.api.worker.host import Worker

log = logging.getLogger("swefarm.worker")


class OpenRequest(BaseModel):
    session_id: str
    task_id: str
    config: dict[str, Any]
    perturbation: Any = None
    seed: int | None = None
    idle_timeout_s: float
    messages_from: int | None = None


class StepRequest(BaseModel):
    action: Any
    messages_from: int | None = None


class ResetRequest(BaseModel):
    seed: int | None = None
    messages_from: int | None = None


def _convert(exc: BaseException) -> ApiError:
    import gymnasium
    from swefarm.sandbox.errors import SandboxError
    from swefarm.tasks.store import TaskNotFoundError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, TaskNotFoundError):
        return NotFoundError(str(exc))
    if isinstance(exc, gymnasium.error.ResetNeeded):
        return ConflictError(str(exc))
    if isinstance(exc, SandboxError):
        return UnavailableError(f"the sandbox failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError | TypeError | KeyError):
        return InvalidRequestError(str(exc))
    log.error("worker call failed", exc_info=exc)
    return ApiError(f"the worker failed: {type(exc).__name__}: {exc}")


def create_worker_app(worker: Worker, url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker.start(url)
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, worker.stop)

    app = FastAPI(title="swefarm worker (internal)", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, default_response_class=handlers.SafeJSONResponse)  # fmt: skip
    handlers.install(app)

    @app.middleware("http")
    async def _secret(request: Request, call_next):
        header = request.headers.get("authorization", "")
        if request.url.path != "/internal/health" and not hmac.compare_digest(
            header.encode(), f"Bearer {worker.secret}".encode()
        ):
            exc = UnauthorizedError("this is a swefarm worker's internal endpoint")
            return handlers.SafeJSONResponse({"detail": exc.detail, "error": type(exc).__name__}, status_code=401)
        return await call_next(request)

    async def call(fn, *args):
        try:
            return await asyncio.get_running_loop().run_in_executor(worker.executor, partial(fn, *args))
        except BaseException as exc:
            raise _convert(exc) from None

    @app.get("/internal/health")
    async def health():
        return {"id": worker.id, "sessions": len(worker.sessions)}

    @app.post("/internal/sessions")
    async def open_session(body: OpenRequest):
        observation, info = await call(
            worker.open, body.session_id, body.task_id, body.config, body.perturbation, body.seed, body.idle_timeout_s
        )
        from swefarm.api.worker.hosting import public_info

        return {"observation": observation, "info": public_info(info, body.messages_from)}

    @app.post("/internal/sessions/{session_id}/step")
    async def step(session_id: str, body: StepRequest):
        return await call(worker.step, session_id, body.action, body.messages_from)

    @app.post("/internal/sessions/{session_id}/reset")
    async def reset(session_id: str, body: ResetRequest):
        observation, info = await call(worker.reset, session_id, body.seed, body.messages_from)
        return {"observation": observation, "info": info}

    @app.delete("/internal/sessions/{session_id}")
    async def close(session_id: str):
        return {"closed": await call(worker.close, session_id)}

    return app
