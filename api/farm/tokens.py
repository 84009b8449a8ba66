"""The farm's default token: generated once into `$SWEFARM_HOME/api-token`, where server and clients find it.

A farm started with no token configured (`SWEFARM_API_TOKENS`, `SWEFARM_API_TOKENS_FILE`) is not refused:
`swefarm serve` reads the token file, or writes a new random token there (mode 600, owned by the owner of
the home directory, so an operator who is not root reads it after a `docker compose up`), and says where.
Clients find it there (`api.contract.tokens.client_token`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from swefarm.api.contract.tokens import token_file


def ensure_token_file(path: Path | None = None) -> tuple[Path, bool]:
    """The token file, made with a new token if it does not exist; returns (path, whether it was made now)."""
    path = path or token_file()
    if path.exists() and path.read_text().strip():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    owner = path.parent.stat()
    if os.geteuid() == 0 and (owner.st_uid, owner.st_gid) != (0, 0):
        os.chown(tmp, owner.st_uid, owner.st_gid)  # the operator's, not the container's root
    try:
        os.link(tmp, path)  # never replaces a token another process wrote first
        made = True
    except FileExistsError:
        made = False
    finally:
        tmp.unlink()
    return path, made
