"""The farm's state: workers, sessions, scaffolds, evaluations and their episodes, in one SQL database.

SQLite by default (`sqlite:///$SWEFARM_HOME/api.db`); any SQLAlchemy URL selects another database
(e.g. `postgresql+psycopg://...` with its driver installed) so that workers on other machines can
share it. Times are UNIX seconds (floats). SQLite runs in WAL mode; a write transaction takes the
write lock up front (`BEGIN IMMEDIATE`) and waits for it instead of failing on a lock upgrade.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

metadata = MetaData()

workers = Table(
    "workers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_start", String(40), nullable=False, default=""),
    Column("status", String(20), nullable=False),  # alive | stopped | dead
    Column("dead_reason", Text),
    Column("max_sessions", Integer, nullable=False),
    Column("sessions", Integer, nullable=False, default=0),
    Column("sandboxes", Integer, nullable=False, default=0),
    Column("eval_running", Integer, nullable=False, default=0),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("worker_id", String(40)),
    Column("task_id", String(300), nullable=False),
    Column("scaffold", String(100)),
    Column("config", Text, nullable=False),  # the EnvConfig the episode runs with (JSON)
    Column("perturbation", Text),  # JSON
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("steps", Integer, nullable=False, default=0),
    Column("episodes", Integer, nullable=False, default=0),
    Column("reward", Float),
    Column("idle_timeout_s", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_active_at", Float, nullable=False),
    Column("ended_at", Float),
)
Index("sessions_worker_status", sessions.c.worker_id, sessions.c.status)

scaffolds = Table(
    "scaffolds",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("config", Text, nullable=False),
    Column("parent", Integer),
    Column("note", Text, nullable=False, default=""),
    Column("metadata", Text, nullable=False, default="{}"),
    Column("created_at", Float, nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("scaffold", String(100)),
    Column("config", Text, nullable=False),  # the EnvConfig snapshot: a restart never depends on the scaffold
    Column("policy", String(500), nullable=False),
    Column("policy_options", Text, nullable=False, default="{}"),
    Column("perturbation", Text),
    Column("seed", Integer, nullable=False, default=0),
    Column("keep_trajectories", Boolean, nullable=False, default=True),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("total", Integer, nullable=False),
    Column("summary", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
)

items = Table(
    "eval_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evaluation_id", String(40), nullable=False),
    Column("task_id", String(300), nullable=False),
    Column("variant", String(20), nullable=False),  # plain | perturbed
    Column("repeat", Integer, nullable=False, default=0),
    Column("status", String(20), nullable=False),
    Column("worker_id", String(40)),
    Column("claim", String(40)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("reward", Float),
    Column("resolved", Boolean),
    Column("steps", Integer),
    Column("infra_error", Text),
    Column("result", Text),  # reward components, timing, perturbation (JSON)
    Column("trajectory", Text),  # JSON
    Column("started_at", Float),
    Column("finished_at", Float),
)
Index("eval_items_evaluation", items.c.evaluation_id, items.c.status)
Index("eval_items_status", items.c.status, items.c.id)

events = Table(
    "eval_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evaluation_id", String(40), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("message", Text, nullable=False),
)


class Database:
    """An engine on the URL, the schema created if missing; `read()` and `write()` give connections in a transaction."""

    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, **self._engine_options())
        if self.is_sqlite:
            _sqlite_pragmas(self.engine)
        with self.write() as conn:
            metadata.create_all(conn)

    def _engine_options(self) -> dict:
        if not self.is_sqlite:
            return {"pool_pre_ping": True}
        return {"connect_args": {"timeout": 60, "check_same_thread": False}, "pool_size": 20, "max_overflow": 40}

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(swefarm_write=True)
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL without a password."""
        return make_url(self.url).render_as_string(hide_password=True)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("swefarm_write") else "BEGIN")


def now() -> float:
    return time.time()
