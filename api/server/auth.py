"""Bearer tokens: each configured token is an owner; requests name theirs in `Authorization: Bearer ...`.

`authenticated_owner` is the FastAPI dependency every protected route takes (as `deps.Owner`): it
declares the bearer security scheme in OpenAPI (`HTTPBearer`), and answers 401 with
`WWW-Authenticate: Bearer` for a missing or unknown token. Routes without it (health, the OpenAPI
document) are public. Tokens are compared in constant time against every configured token (no early
exit), and only a hash of a token (its owner id) is ever stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from swefarm.api.contract.errors import UnauthorizedError

#: The security scheme in the OpenAPI document. It does not raise itself (auto_error=False): the
#: Authenticator does, with the API's error shape and a message that says what to send.
bearer = HTTPBearer(auto_error=False, description="a token this farm was given (SWEFARM_API_TOKENS)")


def owner_id(token: str) -> str:
    """The id a token's sessions, scaffolds and jobs are stored under: a hash, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class Authenticator:
    def __init__(self, tokens: list[str]):
        self._tokens = [(hashlib.sha256(t.encode()).digest(), owner_id(t)) for t in tokens]

    def owner(self, authorization: str | None) -> str:
        """The owner id for an `Authorization` header value; UnauthorizedError if it names no known token."""
        if not authorization:
            raise UnauthorizedError("missing bearer token: send `Authorization: Bearer <token>`")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("the Authorization header must be `Bearer <token>`")
        presented = hashlib.sha256(token.strip().encode()).digest()  # equal lengths for compare_digest
        found = None
        for digest, owner in self._tokens:
            if hmac.compare_digest(digest, presented) and found is None:
                found = owner
        if found is None:
            raise UnauthorizedError("invalid bearer token")
        return found


def authenticated_owner(
    request: Request, _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> str:
    """The owner id of the request's bearer token (the dependency behind `deps.Owner`)."""
    return request.app.state.farm.auth.owner(request.headers.get("authorization"))
