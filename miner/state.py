"""The miner's own record of every candidate it has seen: how far it got and why it stopped.

One SQLite file ($SWEFARM_HOME/miner.db by default) beside the task store. Each candidate (a
merged PR or a plain commit of a repository) has one row, written as soon as its stage changes,
so an interrupted run resumes where it stopped and mining again adds nothing twice. The funnel
report is computed from these rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field
from swefarm.miner.models import STAGES, PullRecord, Rejection, Stage
from swefarm.tasks.database import enable_wal, retry_while_locked

from swefarm.settings import swefarm_home

SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (
    repo TEXT NOT NULL,
    key TEXT NOT NULL,
    source TEXT NOT NULL,
    stage TEXT NOT NULL,
    rejected_stage TEXT,
    code TEXT,
    detail TEXT,
    instance_id TEXT,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    quality TEXT,
    PRIMARY KEY (repo, key)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    args TEXT NOT NULL DEFAULT '{}'
);
"""


_COLUMNS = "repo, key, source, stage, rejected_stage, code, detail, instance_id, record, updated_at, quality"


def default_state_path() -> Path:
    return swefarm_home() / "miner.db"


class CandidateRow(BaseModel):
    """What the miner knows about one candidate."""

    repo: str
    key: str
    source: str
    stage: Stage
    rejected_stage: Stage | None = None
    code: str | None = None
    detail: str | None = None
    instance_id: str | None = None
    record: PullRecord
    quality: list[str] | None = Field(
        None, description="the task's statement quality flags ([] = ok); None: not judged"
    )

    @property
    def finished(self) -> bool:
        """Nothing more to do: rejected somewhere, or valid."""
        return self.rejected_stage is not None or self.stage == Stage.VALID


class StageCount(BaseModel):
    """One funnel row: how many candidates reached `stage`, and why the others stopped just before it."""

    stage: Stage
    reached: int
    rejected: dict[str, int] = Field(default_factory=dict, description="reason code -> candidates it stopped")


class RunInfo(BaseModel):
    repo: str
    source: str
    started_at: datetime
    seconds: float
    processed: int


class Funnel(BaseModel):
    """The funnel of one repository (or of all): counts per stage, reasons, throughput."""

    repo: str | None
    stages: list[StageCount]
    pending: int = Field(0, description="candidates still in progress (an interrupted run)")
    runs: list[RunInfo] = Field(default_factory=list)
    quality: dict[str, int] = Field(
        default_factory=dict, description="tasks whose statement is ok, and per quality flag (thin, leaks_fix, ...)"
    )
    quality_valid: dict[str, int] = Field(default_factory=dict, description="the same, for valid tasks only")

    @property
    def candidates(self) -> int:
        return self.stages[0].reached if self.stages else 0

    @property
    def valid(self) -> int:
        return self.stages[-1].reached if self.stages else 0

    @property
    def yield_pct(self) -> float:
        """Valid tasks per candidate, in percent."""
        return 100.0 * self.valid / self.candidates if self.candidates else 0.0

    @property
    def per_minute(self) -> float:
        """Candidates processed per minute of mining, over every recorded run."""
        seconds = sum(r.seconds for r in self.runs)
        return 60.0 * sum(r.processed for r in self.runs) / seconds if seconds else 0.0


class MinerState:
    """Thread-safe access to the miner's SQLite file."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_state_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        db = self._db  # a new file opened by several miners at once (bench zoo --jobs 2): retried while locked
        retry_while_locked(lambda: enable_wal(db))
        retry_while_locked(lambda: db.executescript(SCHEMA))
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(candidates)")}
        if "quality" not in columns:  # a state file from before quality verdicts
            with self._db:
                self._db.execute("ALTER TABLE candidates ADD COLUMN quality TEXT")

    def close(self) -> None:
        self._db.close()

    def get(self, repo: str, key: str) -> CandidateRow | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM candidates WHERE repo=? AND key=?", (repo, key)).fetchone()
        return self._row(row) if row else None

    def rows(self, repo: str | None = None) -> list[CandidateRow]:
        query, args = f"SELECT {_COLUMNS} FROM candidates", ()
        if repo:
            query, args = query + " WHERE repo=?", (repo,)
        with self._lock:
            found = self._db.execute(query + " ORDER BY repo, key", args).fetchall()
        return [self._row(r) for r in found]

    def save(
        self,
        record: PullRecord,
        source: str,
        stage: Stage,
        rejection: Rejection | None = None,
        instance_id: str | None = None,
        quality: list[str] | None = None,
    ) -> None:
        """Record that `record` reached `stage` (and stopped there, when `rejection` says why).

        `quality`: the task's statement quality flags, when known; a save without them keeps the earlier ones.
        """
        values = (
            record.repo,
            record.key,
            source,
            str(stage),
            str(rejection.stage) if rejection else None,
            rejection.code if rejection else None,
            rejection.detail if rejection else None,
            instance_id,
            record.model_dump_json(),
            datetime.now(UTC).isoformat(),
            json.dumps(quality) if quality is not None else None,
        )
        with self._lock, self._db:
            self._db.execute(
                f"INSERT INTO candidates ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (repo, key) DO UPDATE"
                " SET source=excluded.source, stage=excluded.stage, rejected_stage=excluded.rejected_stage,"
                " code=excluded.code, detail=excluded.detail, instance_id=excluded.instance_id,"
                " record=excluded.record, updated_at=excluded.updated_at,"
                " quality=COALESCE(excluded.quality, candidates.quality)",
                values,
            )

    def start_run(self, repo: str, source: str, args: dict) -> int:
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO runs (repo, source, started_at, args) VALUES (?,?,?,?)",
                (repo, source, datetime.now(UTC).isoformat(), json.dumps(args, default=str)),
            )
            return int(cur.lastrowid)

    def end_run(self, run_id: int, seconds: float, processed: int) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE runs SET seconds=?, processed=? WHERE id=?", (seconds, processed, run_id))

    def funnel(self, repo: str | None = None) -> Funnel:
        """Counts per stage (a candidate counts for every stage up to the one it reached)."""
        rows = self.rows(repo)
        order = {stage: i for i, stage in enumerate(STAGES)}
        stages = []
        for stage in STAGES:
            reached = sum(order[r.stage] >= order[stage] for r in rows)
            rejected: dict[str, int] = {}
            for r in rows:
                if r.rejected_stage == stage and r.code:
                    rejected[r.code] = rejected.get(r.code, 0) + 1
            stages.append(StageCount(stage=stage, reached=reached, rejected=dict(sorted(rejected.items()))))
        pending = sum(not r.finished for r in rows)
        judged = [r for r in rows if r.instance_id and r.quality is not None]
        query, args = "SELECT repo, source, started_at, seconds, processed FROM runs", ()
        if repo:
            query, args = query + " WHERE repo=?", (repo,)
        with self._lock:
            runs = [
                RunInfo(repo=a, source=b, started_at=c, seconds=d, processed=e)
                for a, b, c, d, e in self._db.execute(query + " ORDER BY id", args).fetchall()
            ]
        return Funnel(
            repo=repo,
            stages=stages,
            pending=pending,
            runs=runs,
            quality=_quality_counts(judged),
            quality_valid=_quality_counts([r for r in judged if r.stage == Stage.VALID]),
        )

    @staticmethod
    def _row(row: tuple) -> CandidateRow:
        repo, key, source, stage, rejected_stage, code, detail, instance_id, record, _, quality = row
        return CandidateRow(
            repo=repo,
            key=key,
            source=source,
            stage=stage,
            rejected_stage=rejected_stage,
            code=code,
            detail=detail,
            instance_id=instance_id,
            record=PullRecord.model_validate_json(record),
            quality=json.loads(quality) if quality is not None else None,
        )


def _quality_counts(rows: list[CandidateRow]) -> dict[str, int]:
    """{"tasks": judged, "ok": without flags, <flag>: with it}; a task with two flags counts for both."""
    if not rows:
        return {}
    counts = {"tasks": len(rows), "ok": sum(not r.quality for r in rows)}
    for row in rows:
        for flag in row.quality or []:
            counts[flag] = counts.get(flag, 0) + 1
    return counts
