"""Where a farm keeps the token it generated, and which token a client sends when it is given none.

A farm started with no token configured writes one to `$SWEFARM_HOME/api-token` (`api.farm.tokens`).
Clients (`SwefarmClient`, `swefarm optimize`) take `SWEFARM_API_TOKEN`, else the first of
`SWEFARM_API_TOKENS` (the variable the server reads, as an operator exports it), else that file.
"""

from __future__ import annotations

import os
from pathlib import Path

from swefarm.settings import current

TOKEN_FILE = "api-token"


def token_file() -> Path:
    return current().home.expanduser() / TOKEN_FILE


def client_token() -> str | None:
    """The token a client sends when it is given none (see the module's docstring)."""
    settings = current()
    if settings.api_token:
        return settings.api_token
    server_tokens = [t.strip() for t in os.environ.get("SWEFARM_API_TOKENS", "").split(",") if t.strip()]
    if server_tokens:
        return server_tokens[0]
    try:
        return token_file().read_text().strip() or None
    except OSError:
        return None
