"""Error answers: every failure is `{"detail": <what to do>, "error": <class>}` with a 4xx where the client erred.

A JSON response escapes every non-ASCII character, so text with lone surrogates (which a JSON
body may carry as `\\ud800`) goes back out as valid JSON instead of failing to encode.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from swefarm.api.contract.errors import ApiError

log = logging.getLogger("swefarm.api")


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode("ascii")


def _error(status: int, detail: str, name: str, headers: dict | None = None, **extra: Any) -> SafeJSONResponse:
    return SafeJSONResponse({"detail": detail, "error": name, **extra}, status_code=status, headers=headers)


def describe_validation(errors: list[dict]) -> tuple[str, list[dict]]:
    """A one-line message and a short list (no echo of the input) from pydantic's errors."""
    lines, short = [], []
    for err in errors[:20]:
        loc = ".".join(str(part) for part in err.get("loc", ()) if part not in ("body",)) or "body"
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            msg, loc = f"the body is not valid JSON ({reason})" if reason else "the body is not valid JSON", "body"
        elif err.get("type") == "model_attributes_type" or (err.get("type") == "dict_type" and loc == "body"):
            msg = "the body must be a JSON object"
        lines.append(f"{loc}: {msg}")
        short.append({"loc": loc, "msg": msg, "type": err.get("type")})
    more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
    return "invalid request: " + "; ".join(lines) + more, short


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.detail, type(exc).__name__, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        detail, errors = describe_validation(list(exc.errors()))
        return _error(422, detail, "InvalidRequestError", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        name = {404: "NotFoundError", 405: "InvalidRequestError"}.get(exc.status_code, "ApiError")
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        return _error(exc.status_code, detail, name, headers=getattr(exc, "headers", None))

    @app.exception_handler(RecursionError)
    async def _deep(request: Request, exc: RecursionError):
        return _error(400, "the request body is nested too deeply", "InvalidRequestError")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the server's log has the details", "ApiError")
