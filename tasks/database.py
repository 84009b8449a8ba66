"""SQLite plumbing for the task store: the schema, WAL, connections, write transactions and filters.

Several processes may use one file at once. WAL lets readers run beside a writer; each write
takes the write lock up front (`BEGIN IMMEDIATE`) and waits for it (the busy timeout) instead of
failing with "database is locked" when a read would have to be upgraded to a write.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

BUSY_TIMEOUT_S = 60.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    instance_id TEXT PRIMARY KEY,
    repo        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT,
    source      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_repo ON tasks (repo);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
"""


def initialise(path: Path) -> None:
    """Create the file and its schema if needed, and switch it to WAL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as conn:
        retry_while_locked(lambda: enable_wal(conn))
        retry_while_locked(lambda: conn.executescript(SCHEMA))


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (transactions are explicit), closed afterwards."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection inside a write transaction, committed on success and rolled back on error."""
    with connect(path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def where(
    repo: str | None, status: str | None, after: datetime | None, before: datetime | None
) -> tuple[str, list[str]]:
    """A WHERE clause and its parameters for the given filters; `after` inclusive, `before` not."""
    clauses: list[str] = []
    params: list[str] = []
    for clause, value in (
        ("repo = ?", repo),
        ("status = ?", status),
        ("created_at >= ?", time_key(after)),
        ("created_at < ?", time_key(before)),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def time_key(value: datetime | None) -> str | None:
    """A timestamp as fixed-width UTC text, so SQLite orders and compares it correctly (naive means UTC)."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def enable_wal(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode=WAL")


def retry_while_locked(step: Callable[[], object]) -> None:
    """Run `step`, retrying while another process locks the file: switching a new file to WAL
    fails at once with "database is locked" instead of waiting, whatever the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))
