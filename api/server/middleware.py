"""ASGI middleware, outermost first: request metrics, request-body size limit.

The body limit reads at most `max_body_bytes` (from Content-Length at once, or while a chunked
body streams in) and answers 413 past that, before anything else reads it; the app then reads the
buffered body. Authentication is not middleware: it is a dependency of each protected route
(`auth.authenticated_owner`), declared in the OpenAPI document.
"""

from __future__ import annotations

import json
import time

from swefarm.api.contract.errors import ApiError, PayloadTooLargeError


async def send_error(send, exc: ApiError) -> None:
    body = json.dumps({"detail": exc.detail, "error": type(exc).__name__}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": exc.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    """Counts requests and their latency by method, route template and status."""

    def __init__(self, app, metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], template, status["code"], time.perf_counter() - start)


class BodyLimitMiddleware:
    """413 for a body larger than `limit` bytes; otherwise the body is buffered and handed on."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        too_large = PayloadTooLargeError(
            f"the request body is larger than this farm accepts ({self.limit} bytes); "
            "send a smaller action or raise SWEFARM_MAX_BODY_BYTES"
        )
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    return await send_error(send, too_large)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await send_error(send, too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
