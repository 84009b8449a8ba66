"""The task store: tasks in one SQLite file under $SWEFARM_HOME, safe for several processes at once.

Tasks are upserted by instance_id, so importing a file twice adds nothing the second time.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from swefarm.tasks import database
from swefarm.tasks.importers import ReadReport, read_tasks
from swefarm.tasks.models import Task, TaskStatus

from swefarm.settings import current

_BATCH = 500

Outcome = Literal["added", "updated", "unchanged"]


class TaskNotFoundError(KeyError):
    """No task with this instance_id is in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "task not found"


@dataclass
class ImportReport:
    """Counts from one import: tasks added, updated or already there, and bad records skipped."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def default_store_path() -> Path:
    """$SWEFARM_HOME/tasks.db, $SWEFARM_HOME defaulting to ~/.swefarm."""
    return current().home.expanduser() / "tasks.db"


class TaskStore:
    """Tasks in SQLite, keyed by instance_id. Open one per process (or thread); connections are per call."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        database.initialise(self.path)

    def put(self, task: Task) -> Outcome:
        """Insert or replace one task; says whether it was added, updated or already stored as is."""
        with database.transaction(self.path) as conn:
            return _upsert(conn, task, keep_state=False)

    def put_many(self, tasks: Iterable[Task], keep_state: bool = False) -> Counter[str]:
        """Upsert tasks in batches (one transaction each); counts by outcome.

        With `keep_state`, a task whose source content (SWE-bench fields, source recipe, extra
        fields) matches the stored one is left alone, so re-importing keeps its status, validation
        runs and built image; a task whose content changed replaces the stored one.
        """
        counts: Counter[str] = Counter(added=0, updated=0, unchanged=0)
        batch: list[Task] = []
        for task in tasks:
            batch.append(task)
            if len(batch) >= _BATCH:
                counts.update(self._put_batch(batch, keep_state))
                batch = []
        if batch:
            counts.update(self._put_batch(batch, keep_state))
        return counts

    def get(self, instance_id: str) -> Task:
        """The task with this id; `TaskNotFoundError` (a KeyError) if there is none."""
        with database.connect(self.path) as conn:
            row = conn.execute("SELECT data FROM tasks WHERE instance_id = ?", (instance_id,)).fetchone()
        if row is None:
            raise TaskNotFoundError(f"no task {instance_id!r} in the task store {self.path}")
        return Task.model_validate_json(row[0])

    def list(
        self,
        repo: str | None = None,
        status: str | TaskStatus | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[Task]:
        """Tasks matching every filter given, oldest first; `created_after` inclusive, `created_before` not."""
        return list(self.iter(repo, status, created_after, created_before, limit))

    def iter(
        self,
        repo: str | None = None,
        status: str | TaskStatus | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Task]:
        """Like `list`, one task at a time."""
        where, params = _filters(repo, status, created_after, created_before)
        sql = f"SELECT data FROM tasks{where} ORDER BY created_at, instance_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with database.connect(self.path) as conn:
            for (data,) in conn.execute(sql, params):
                yield Task.model_validate_json(data)

    def count(
        self,
        repo: str | None = None,
        status: str | TaskStatus | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> int:
        """How many tasks match the filters (all of them with none)."""
        where, params = _filters(repo, status, created_after, created_before)
        with database.connect(self.path) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM tasks{where}", params).fetchone()[0]

    def delete(self, instance_id: str) -> bool:
        """Remove a task; False if it was not there."""
        with database.transaction(self.path) as conn:
            return conn.execute("DELETE FROM tasks WHERE instance_id = ?", (instance_id,)).rowcount > 0

    def import_jsonl(
        self, path: str | Path, source: str | None = None, fmt: str = "auto", skip_bad: bool = False
    ) -> ImportReport:
        """Import a task file (see `tasks.importers`); tasks already stored with the same content stay as they are.

        Without `skip_bad` the whole file is checked before anything is written, so a bad record
        (`TaskFormatError`) leaves the store as it was.
        """
        if not skip_bad:
            for _ in read_tasks(path, fmt, source):
                pass
        read = ReadReport()
        counts = self.put_many(read_tasks(path, fmt, source, skip_bad, read), keep_state=True)
        return ImportReport(counts["added"], counts["updated"], counts["unchanged"], read.skipped, read.errors)

    def export_jsonl(self, path: str | Path, fmt: str = "swefarm", **filters: Any) -> int:
        """Write matching tasks as JSONL, swefarm's full records or SWE-bench instances; returns the count."""
        if fmt not in ("swefarm", "swebench"):
            raise ValueError(f"unknown export format {fmt!r}; choose swefarm or swebench")
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        n = 0
        with tmp.open("w", encoding="utf-8") as fh:
            for task in self.iter(**filters):
                fh.write((task.model_dump_json() if fmt == "swefarm" else _swebench_line(task)) + "\n")
                n += 1
        tmp.replace(path)
        return n

    def _put_batch(self, batch: Sequence[Task], keep_state: bool) -> Counter[str]:
        with database.transaction(self.path) as conn:
            return Counter(_upsert(conn, task, keep_state) for task in batch)


def _upsert(conn: sqlite3.Connection, task: Task, keep_state: bool) -> Outcome:
    row = conn.execute("SELECT data FROM tasks WHERE instance_id = ?", (task.instance_id,)).fetchone()
    data = task.model_dump_json()
    if row is not None and (row[0] == data or (keep_state and _same_source(Task.model_validate_json(row[0]), task))):
        return "unchanged"
    conn.execute(
        "INSERT INTO tasks (instance_id, repo, status, created_at, source, updated_at, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id) DO UPDATE SET repo = excluded.repo,"
        " status = excluded.status, created_at = excluded.created_at, source = excluded.source,"
        " updated_at = excluded.updated_at, data = excluded.data",
        (task.instance_id, task.repo, task.status.value, database.time_key(task.created_at),
         task.provenance.source, database.time_key(datetime.now(UTC)), data),
    )  # fmt: skip
    return "added" if row is None else "updated"


def _same_source(old: Task, new: Task) -> bool:
    def source(task: Task) -> tuple:
        return task.to_swebench(), task.language, task.environment.raw, task.extra

    return source(old) == source(new)


def _filters(
    repo: str | None, status: str | TaskStatus | None, after: datetime | None, before: datetime | None
) -> tuple[str, list[str]]:
    return database.where(repo, TaskStatus(status).value if status else None, after, before)


def _swebench_line(task: Task) -> str:
    """A SWE-bench instance; a task in another language than Python says which (as multilingual sets do)."""
    line = task.to_swebench()
    if task.language != "python":
        line["language"] = task.language
    return json.dumps(line)
