"""Failed environment builds, remembered: one failure per image tag, with its reason and recipe hash.

An environment image is shared by every task whose recipe and environment commit match, so a
build that failed would otherwise be tried again by each of them (22 attempts for 5 images in one
real run). The tag holds the recipe hash, so a changed recipe gets a new tag and is built afresh;
the same recipe is tried again only when the caller forces it. Kept in SQLite under $SWEFARM_HOME,
safe for several processes.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from swefarm.settings import swefarm_home

_SCHEMA = """CREATE TABLE IF NOT EXISTS failed_builds (
    tag TEXT PRIMARY KEY, recipe_hash TEXT, failure_class TEXT, reason TEXT, at TEXT, log_tail TEXT)"""


@dataclass(frozen=True)
class FailedBuild:
    tag: str
    recipe_hash: str
    failure_class: str
    reason: str
    at: str
    log_tail: str = ""


def _connect(path: Path | None) -> sqlite3.Connection:
    path = path or swefarm_home() / "env-builds.db"
    conn = sqlite3.connect(path, timeout=30)
    conn.execute(_SCHEMA)
    return conn


def recorded_failure(tag: str, path: Path | None = None) -> FailedBuild | None:
    """The failure recorded for the image `tag`, or None."""
    with closing(_connect(path)) as conn:
        row = conn.execute("SELECT * FROM failed_builds WHERE tag=?", (tag,)).fetchone()
    return FailedBuild(*row) if row else None


def record_failure(
    tag: str, recipe_hash: str, failure_class: str, reason: str, log_tail: str = "", path: Path | None = None
) -> None:
    """Remember that building `tag` failed, and why (with the end of its log)."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    with closing(_connect(path)) as conn, conn:
        conn.execute(
            "INSERT OR REPLACE INTO failed_builds VALUES (?,?,?,?,?,?)",
            (tag, recipe_hash, failure_class, reason, at, log_tail),
        )


def forget_failure(tag: str, path: Path | None = None) -> None:
    """Drop the failure recorded for `tag` (it built, or is being forced)."""
    with closing(_connect(path)) as conn, conn:
        conn.execute("DELETE FROM failed_builds WHERE tag=?", (tag,))
