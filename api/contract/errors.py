"""The API's errors, shared by the server (which answers with them) and the client (which raises them).

Each carries its HTTP status and inherits the builtin it resembles, so `except LookupError`
catches a missing task whether it came from the task store or over REST. The server sends
`{"detail": message, "error": ClassName}`; the client raises the class of that name.
"""

from __future__ import annotations

from swefarm.errors import InfrastructureError


class ApiError(RuntimeError):
    """Base class: an answer other than success from the swefarm API."""

    status = 500

    def __init__(self, detail: str, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status


class InvalidRequestError(ApiError, ValueError):
    """The request is malformed or asks for something the farm does not allow."""

    status = 422


class UnauthorizedError(ApiError, PermissionError):
    """No bearer token, or one the farm does not know."""

    status = 401


class ForbiddenError(ApiError, PermissionError):
    """The token is known but may not do this (a policy the farm does not allow, say)."""

    status = 403


class NotFoundError(ApiError, LookupError):
    """No such resource for this token (another token's session looks the same as a missing one)."""

    status = 404


class ConflictError(ApiError):
    """The resource is in a state that does not allow this (an ended session, a busy one)."""

    status = 409


class PayloadTooLargeError(ApiError, ValueError):
    """The request body is larger than the farm accepts."""

    status = 413


class TooManyRequestsError(ApiError):
    """A per-token quota is reached (live sessions)."""

    status = 429


class UnavailableError(ApiError, InfrastructureError, ConnectionError):
    """No worker can take the request now, or the server cannot be reached."""

    status = 503


ERRORS: dict[str, type[ApiError]] = {
    cls.__name__: cls
    for cls in (
        ApiError,
        InvalidRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        TooManyRequestsError,
        UnavailableError,
    )
}

_BY_STATUS = {cls.status: cls for cls in ERRORS.values() if cls is not ApiError}


def error_for(status: int, detail: str, name: str | None = None) -> ApiError:
    """The exception for an error answer: by the class name the server sent, else by status."""
    cls = ERRORS.get(name or "") or _BY_STATUS.get(status)
    if cls is None:
        cls = InvalidRequestError if 400 <= status < 500 else ApiError
    return cls(detail, status)
