"""The real check on a SWE-bench-format file (issue 14): build every instance from its repository and
grade its gold patch on the dataset's own test lists, before any validation replaces them; the empty
patch must never resolve.

`swefarm bench gold DATA.jsonl --mirrors DIR` runs it (`make check-real DATA=... MIRRORS=...`). The
data file is an argument only: nothing reads a dataset by default. Repositories come from a folder of
mirrors, else are cloned from GitHub (harness/repos.py). Results are kept per task in its store
(`extra["gold_check"]`), so a second run resumes and `--force` checks again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import docker
from pydantic import BaseModel
from swefarm.harness.grade import GradeReport, grade
from swefarm.harness.pipeline import build_task
from swefarm.harness.repos import RepoError, mirror_path, resolve_repo
from swefarm.tasks.importers import read_tasks
from swefarm.tasks.models import Task
from swefarm.tasks.store import TaskStore


class GoldResult(BaseModel):
    """One instance: did it build, and how did the gold and the empty patch grade on the dataset's lists."""

    instance_id: str
    repo: str
    built: bool = False
    path: str = ""
    python: str = ""
    install_step: str = ""
    failure_class: str = ""
    reason: str = ""
    gold_resolved: bool | None = None
    empty_resolved: bool | None = None
    fail_to_pass: str = ""
    pass_to_pass: str = ""
    not_passing: list[str] = []
    infra_error: str = ""
    seconds: float = 0.0


def check_task(
    client: docker.DockerClient, task: Task, repo_paths: dict[str, Path], log=print
) -> tuple[Task, GoldResult]:
    """Build `task` and grade its gold and empty patches on its own FAIL_TO_PASS / PASS_TO_PASS."""
    start = time.monotonic()
    result = GoldResult(instance_id=task.instance_id, repo=task.repo)
    built, outcome = build_task(client, task, repo_paths, log=log)
    info = built.extra.get("build") or {}
    result.path, result.python = info.get("path", ""), info.get("python") or ""
    result.install_step = info.get("install_step", "")
    if not outcome.ok:
        result.failure_class, result.reason = info.get("failure_class", ""), outcome.reason[:600]
    else:
        result.built = True
        # the dataset's own lists, even when a validation has replaced them with ours since
        kept = ("FAIL_TO_PASS", "PASS_TO_PASS")
        lists = {k: built.extra[f"dataset_{k}"] for k in kept if f"dataset_{k}" in built.extra}
        basis = built.model_copy(update=lists)
        gold = grade(basis, built.patch, client=client)
        empty = grade(basis, "", client=client)
        result.gold_resolved, result.empty_resolved = gold.resolved, empty.resolved
        result.fail_to_pass = f"{gold.fail_to_pass_passed}/{gold.fail_to_pass_total}"
        result.pass_to_pass = f"{gold.pass_to_pass_passed}/{gold.pass_to_pass_total}"
        result.not_passing = _not_passing(gold)
        result.infra_error = gold.infra_error or empty.infra_error or ""
    result.seconds = round(time.monotonic() - start, 1)
    checked = built.model_copy(update={"extra": {**built.extra, "gold_check": result.model_dump()}})
    return checked, result


def _not_passing(report: GradeReport) -> list[str]:
    return [f"{t}: {s}" for t, s in report.tests.items() if s not in ("passed", "PASSED")][:20]


def check_gold(
    data: Path,
    store: TaskStore,
    mirrors: Path | None = None,
    source: str = "swe-bench",
    jobs: int = 2,
    only: list[str] | None = None,
    force: bool = False,
    client: docker.DockerClient | None = None,
    on_done: Callable[[GoldResult], None] = lambda r: None,
    log: Callable[[str], None] = print,
) -> dict:
    """Import `data` into `store` and check every instance (or those of `only`, ids or repositories)."""
    from swefarm.sandbox.engine import connect

    client = client or connect()
    tasks = []
    for task in read_tasks(data, "auto", source):  # a task stored already keeps what the check learnt
        try:
            tasks.append(store.get(task.instance_id))
        except KeyError:
            store.put(task)
            tasks.append(task)
    log(f"{data}: {len(tasks)} instances")
    ids = [t.instance_id for t in tasks]
    if only:
        tasks = [t for t in tasks if t.instance_id in only or t.repo in only]
    repo_paths = _repo_paths({t.repo for t in tasks}, mirrors, log)
    results: list[GoldResult] = []
    todo = []
    for task in tasks:
        if not force and (done := task.extra.get("gold_check")):
            results.append(GoldResult.model_validate(done))
            on_done(results[-1])
        elif task.repo not in repo_paths:
            results.append(GoldResult(instance_id=task.instance_id, repo=task.repo, failure_class="repository",
                                      reason=repo_paths.get(f"error:{task.repo}", "no repository")))  # fmt: skip
            on_done(results[-1])
        else:
            todo.append(task)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(check_task, client, t, repo_paths, lambda *a: None) for t in todo]
        for future in as_completed(futures):
            checked, result = future.result()
            store.put(checked)
            results.append(result)
            on_done(result)
    order = {iid: i for i, iid in enumerate(ids)}
    results.sort(key=lambda r: order.get(r.instance_id, 0))
    return {"totals": totals(results), "instances": [r.model_dump() for r in results]}


def _repo_paths(repos: set[str], mirrors: Path | None, log) -> dict:
    """Each repository's git directory (a mirror, else a clone); a repository that cannot be had is
    noted under `error:owner/name` with the reason."""
    paths: dict = {}
    for repo in sorted(repos):
        try:
            paths[repo] = mirror_path(repo, mirrors) or resolve_repo(repo, log=log)
        except RepoError as exc:
            paths[f"error:{repo}"] = str(exc)
            log(f"{repo}: {exc}")
    return paths


def totals(results: list[GoldResult]) -> dict:
    """The check's figures: instances, built, gold resolved (of all instances), empty resolved (must be 0)."""
    n = len(results)
    gold = sum(bool(r.gold_resolved) for r in results)
    return {
        "instances": n,
        "built": sum(r.built for r in results),
        "gold_resolved": gold,
        "gold_resolved_pct": round(100 * gold / n, 1) if n else 0.0,
        "empty_resolved": sum(bool(r.empty_resolved) for r in results),
        "build_failures": dict(Counter(r.failure_class or "other" for r in results if not r.built).most_common()),
        "gold_not_resolved": [r.instance_id for r in results if r.built and not r.gold_resolved],
    }
