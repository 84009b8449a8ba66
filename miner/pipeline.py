"""The mining pipeline: candidates -> linked -> tasks -> environment images -> validation -> task store.

Every step records its outcome in the miner's state (miner.db) and every task goes to the task
store as soon as it exists, so a stopped run resumes where it stopped and mining again adds
nothing twice: candidates with a verdict are skipped, unfinished ones continue from their stage.
Tasks of one release share one environment image: the environment-setup commit of a version is
the newest base commit among that version's tasks, as SWE-bench does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field
from rich.progress import Progress, TaskID
from swefarm.harness.outcomes import RETRY
from swefarm.miner.filters import FilterConfig, check_record
from swefarm.miner.github_api import GitHubError
from swefarm.miner.models import PullRecord, Rejection, Stage
from swefarm.miner.quality import Judge, assess, judge_statement
from swefarm.miner.state import MinerState
from swefarm.miner.taskify import make_task
from swefarm.tasks.models import QualityVerdict, Task, TaskStatus
from swefarm.tasks.store import TaskNotFoundError, TaskStore

#: Rejections that say nothing about the candidate itself: the next run tries again.
RETRY_CODES = frozenset({"git_error", "github_error", *map(str, RETRY)})


class Source(Protocol):
    """Where candidates come from (GitHubSource, GitSource)."""

    name: str
    repo: str

    def candidates(self): ...

    def link(self, record: PullRecord) -> PullRecord: ...

    def complete(self, record: PullRecord) -> PullRecord: ...


class MineOptions(BaseModel):
    workers: int = Field(4, ge=1, description="candidates read and turned into tasks at once")
    build_workers: int = Field(2, ge=1, description="image builds at once")
    validate_workers: int = Field(2, ge=1, description="validations at once")
    runs: int = Field(2, ge=1, description="gold runs per task in validation (flaky tests differ between them)")
    build: bool = Field(True, description="build images (False: stop once tasks exist)")
    validate_tasks: bool = Field(True, description="validate built tasks")
    force: bool = Field(False, description="process again candidates that already have a verdict")


class MineSummary(BaseModel):
    repo: str
    candidates: int = 0
    known: int = Field(0, description="skipped: a verdict from an earlier run")
    tasks: int = 0
    built: int = 0
    valid: int = 0
    rejected: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0
    api_calls: int | None = None
    api_not_modified: int | None = None


class Miner:
    """Runs one source through the pipeline into a task store."""

    def __init__(
        self,
        source: Source,
        git_dir: Callable[[], Path],
        store: TaskStore,
        state: MinerState,
        filters: FilterConfig | None = None,
        options: MineOptions | None = None,
        docker_client=None,
        progress: Progress | None = None,
        log: Callable[[str], None] = print,
        judge: Judge | None = None,
    ):
        self.source, self.repo = source, source.repo
        self._git_dir_fn, self._git_dir = git_dir, None
        self.store, self.state = store, state
        self.filters = filters or FilterConfig()
        self.options = options or MineOptions()
        self.client = docker_client
        self.progress = progress
        self.log = log
        self.judge = judge
        self.summary = MineSummary(repo=self.repo)
        self._bars: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._records: dict[str, PullRecord] = {}  # instance id -> the candidate it came from

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> MineSummary:
        start = time.monotonic()
        run_id = self.state.start_run(self.repo, self.source.name, self.options.model_dump())
        try:
            tasks = self._make_tasks()
            tasks = self._share_environments(tasks)
            self._build_and_validate(tasks)
        finally:
            self.summary.seconds = round(time.monotonic() - start, 1)
            self.state.end_run(run_id, self.summary.seconds, self.summary.candidates - self.summary.known)
            api = getattr(self.source, "api", None)
            if api is not None:
                self.summary.api_calls, self.summary.api_not_modified = api.calls, api.not_modified
        return self.summary

    def git_dir(self) -> Path:
        with self._lock:
            if self._git_dir is None:
                self._git_dir = self._git_dir_fn()
            return self._git_dir

    def _make_tasks(self) -> list[Task]:
        """Read candidates and turn the new ones into tasks; collect unfinished ones from earlier runs."""
        tasks: list[Task] = []
        pending: list[Future] = []
        bar = self._bar("candidates", "read")
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="mine") as pool:
            for record in self.source.candidates():
                self.summary.candidates += 1
                self._advance(bar, f"{record.key}")
                known = self.state.get(self.repo, record.key)
                if known and not self.options.force:
                    if known.finished and known.code not in RETRY_CODES:
                        self.summary.known += 1
                        continue
                    if known.instance_id and known.stage in (Stage.FILTERED, Stage.BUILT) and not known.code:
                        task = self._stored(known.instance_id)
                        if task is not None:
                            self._records[task.instance_id] = known.record
                            tasks.append(task)
                            continue
                self.state.save(record, self.source.name, Stage.CANDIDATE)
                self._grow("tasks")
                pending.append(pool.submit(self._to_task, record))
            self._total(bar)
            for future in pending:
                if (task := future.result()) is not None:
                    tasks.append(task)
        return tasks

    def _to_task(self, record: PullRecord) -> Task | None:
        bar = self._bars.get("tasks")
        try:
            record = self.source.link(record)
            if rejections := check_record(record, self.filters):
                return self._reject(record, Stage.CANDIDATE, rejections[0])
            self.state.save(record, self.source.name, Stage.LINKED)
            record = self.source.complete(record)
            task, rejections = make_task(record, self.git_dir(), self.filters, self.source.name)
            if task is None:
                return self._reject(record, Stage.LINKED, rejections[0])
            existing = self._stored(task.instance_id)
            if existing is not None and not self.options.force and existing.status != TaskStatus.IMPORTED:
                task = existing  # built or judged before: keep what was learnt
            if task.quality is None or self.options.force:
                task = task.model_copy(update={"quality": self._quality(task)})
            self.store.put(task)
            flags = task.quality.flags if task.quality else None
            self.state.save(record, self.source.name, Stage.FILTERED, instance_id=task.instance_id, quality=flags)
            with self._lock:
                self._records[task.instance_id] = record
                self.summary.tasks += 1
            return task
        except GitHubError as exc:
            return self._reject(
                record, Stage.CANDIDATE, Rejection(stage=Stage.LINKED, code="github_error", detail=str(exc))
            )
        finally:
            self._advance(bar, record.key)

    def _quality(self, task: Task) -> QualityVerdict:
        """The statement's quality verdict: the heuristics, and the judge's answer when there is a judge."""
        verdict = assess(task)
        if self.judge is None:
            return verdict
        try:
            return judge_statement(task, self.judge, verdict)
        except (RuntimeError, OSError, ValueError) as exc:  # a judge server that fails costs the verdict, not the run
            self.log(f"the judge failed on {task.instance_id}: {exc}")
            return verdict.model_copy(update={"notes": [*verdict.notes, f"judge {self.judge.name} failed: {exc}"]})

    def _share_environments(self, tasks: list[Task]) -> list[Task]:
        """Tasks of one version share the environment of that version's newest base commit."""
        fresh = [t for t in tasks if t.status == TaskStatus.IMPORTED and not t.environment.image]
        groups: dict[str, list[Task]] = {}
        for task in fresh:
            if task.version:
                groups.setdefault(task.version, []).append(task)
        shared = {}
        for group in groups.values():
            newest = max(group, key=lambda t: (t.extra.get("mined", {}).get("merged_at", ""), t.instance_id))
            for task in group:
                shared[task.instance_id] = newest.base_commit
        out = []
        for task in tasks:
            if task.instance_id in shared and task.environment_setup_commit != shared[task.instance_id]:
                task = task.model_copy(update={"environment_setup_commit": shared[task.instance_id]})
                self.store.put(task)
            out.append(task)
        return out

    def _build_and_validate(self, tasks: list[Task]) -> None:
        if not tasks or not self.options.build:
            return
        from swefarm.harness.pipeline import build_task, validate_task

        client = self.client
        if client is None:
            from swefarm.sandbox.engine import connect

            client = self.client = connect()
        to_build = [t for t in tasks if not (t.status in (TaskStatus.BUILT,) and t.environment.image)]
        to_validate = [t for t in tasks if t.status == TaskStatus.BUILT and t.environment.image]
        build_bar = self._bar("build", "build", total=len(to_build))
        validate_bar = (
            self._bar("validate", "validate", total=len(to_validate)) if self.options.validate_tasks else None
        )
        with (
            ThreadPoolExecutor(self.options.build_workers, thread_name_prefix="build") as builders,
            ThreadPoolExecutor(self.options.validate_workers, thread_name_prefix="validate") as validators,
        ):
            futures: dict[Future, str] = {}
            for task in to_build:
                futures[builders.submit(build_task, client, task, {self.repo: self.git_dir()}, log=self.log)] = "build"
            for task in to_validate if self.options.validate_tasks else []:
                futures[validators.submit(validate_task, client, task, self.options.runs)] = "validate"
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    step = futures.pop(future)
                    task, outcome = future.result()
                    self.store.put(task)
                    record = self._records[task.instance_id]
                    if step == "build":
                        self._advance(build_bar, f"{task.instance_id} {outcome.status}")
                        if not outcome.ok:
                            rejection = _rejection(Stage.BUILT, outcome)
                            self._reject(record, Stage.FILTERED, rejection, task.instance_id)
                            continue
                        self.state.save(record, self.source.name, Stage.BUILT, instance_id=task.instance_id)
                        with self._lock:
                            self.summary.built += 1
                        if self.options.validate_tasks:
                            self._grow("validate", validate_bar)
                            futures[validators.submit(validate_task, client, task, self.options.runs)] = "validate"
                    else:
                        self._advance(validate_bar, f"{task.instance_id} {outcome.status}")
                        if outcome.ok:
                            self.state.save(record, self.source.name, Stage.VALID, instance_id=task.instance_id)
                            with self._lock:
                                self.summary.valid += 1
                        else:
                            self._reject(record, Stage.BUILT, _rejection(Stage.VALID, outcome), task.instance_id)

    # -- bookkeeping -----------------------------------------------------------------------------

    def _stored(self, iid: str) -> Task | None:
        try:
            return self.store.get(iid)
        except TaskNotFoundError:
            return None

    def _reject(self, record: PullRecord, reached: Stage, rejection: Rejection, iid: str | None = None) -> None:
        self.state.save(record, self.source.name, reached, rejection, instance_id=iid)
        with self._lock:
            self.summary.rejected[rejection.code] = self.summary.rejected.get(rejection.code, 0) + 1
        return None

    def _bar(self, name: str, label: str, total: int | None = None) -> TaskID | None:
        if self.progress is None:
            return None
        bar = self.progress.add_task(label, total=total)
        self._bars[name] = bar
        return bar

    def _grow(self, name: str, bar: TaskID | None = None) -> None:
        if self.progress is None:
            return
        if bar is None and name not in self._bars:
            self._bar(name, name, total=0)
        bar = bar if bar is not None else self._bars[name]
        with self._lock:
            total = self.progress.tasks[bar].total or 0
            self.progress.update(bar, total=total + 1)

    def _advance(self, bar: TaskID | None, detail: str = "") -> None:
        if self.progress is not None and bar is not None:
            label = self.progress.tasks[bar].description.split(":")[0]
            self.progress.update(bar, advance=1, description=f"{label}: {detail}"[:60])

    def _total(self, bar: TaskID | None) -> None:
        if self.progress is not None and bar is not None:
            self.progress.update(bar, total=self.progress.tasks[bar].completed)


def _rejection(stage: Stage, outcome) -> Rejection:
    """A failed build or validation step (a harness StepOutcome) as the rejection the funnel counts."""
    return Rejection(stage=stage, code=str(outcome.code), detail=outcome.reason[:300])
