"""The repository zoo: mine a window of many real repositories and count what builds and validates.

A manifest (YAML, bench/zoo.yaml) lists repositories by name with a clone URL or a local path and
a window each. Every window is mined with `swefarm mine git` in its own process (as a user would
run it) into one bench home; the report per repository then comes from the miner's state and the
task store: candidates, tasks, environments built, valid tasks, yield, and the failure class of
each failure (build failures by harness/build_failures.py's classes, validation by its codes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import yaml
from pydantic import BaseModel, Field
from swefarm.harness.build_failures import classify_build_failure, strip_ansi
from swefarm.harness.repos import mirror_path, resolve_repo

#: Stages at which a rejection is a failure of the machinery (build, validation), not a filter.
FAILURE_STAGES = frozenset({"built", "valid"})


class ZooEntry(BaseModel):
    """One repository of the zoo and the window mined from it."""

    repo: str = Field(description="owner/name")
    url: str = Field("", description="clone URL (used when no local copy is found)")
    path: str = Field("", description="a local clone or mirror (wins over mirrors and the URL)")
    since: str | None = None
    until: str | None = None
    max: int = Field(8, ge=1, description="at most this many candidates, newest first in the window")
    branch: str | None = None
    kinds: list[str] = Field(default_factory=list, description="why it is in the zoo: packaging, age, layout")
    language: str = Field("python", description="the language its tasks are mined in (`swefarm mine --lang`)")


class RepoResult(BaseModel):
    repo: str
    window: str
    candidates: int = 0
    tasks: int = 0
    envs_attempted: int = 0
    envs_built: int = 0
    built_tasks: int = 0
    valid: int = 0
    yield_pct: float = 0.0
    env_build_ok: bool | None = None
    failures: dict[str, int] = Field(default_factory=dict)
    filtered: dict[str, int] = Field(default_factory=dict)
    install_steps: dict[str, int] = Field(default_factory=dict)
    pythons: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""


def load_manifest(path: Path) -> list[ZooEntry]:
    """The zoo's entries; raises ValueError naming the entry that is wrong."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    items = data.get("repos", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of repositories under 'repos'")
    entries = []
    for i, item in enumerate(items, 1):
        try:
            entries.append(ZooEntry.model_validate({**item, "since": _text(item.get("since")),
                                                    "until": _text(item.get("until"))}))  # fmt: skip
        except Exception as exc:
            name = item.get("repo", "?") if isinstance(item, dict) else item
            raise ValueError(f"{path}: entry {i} ({name}): {exc}") from None
    return entries


def _text(value) -> str | None:
    return None if value is None else str(value)


def locate(entry: ZooEntry, mirrors: Path | None, log: Callable[[str], None] = print) -> Path:
    """A local git directory for the entry: its path, a mirror under `mirrors`, or a clone of its URL."""
    path = Path(entry.path).expanduser() if entry.path else None
    if path and ((path / "HEAD").is_file() or (path / ".git").exists()):
        return path.resolve()
    if found := mirror_path(entry.repo, mirrors):
        return found
    if not entry.url:
        raise FileNotFoundError(f"{entry.repo}: no local copy found and no url to clone")
    return resolve_repo(entry.repo, {}, log=log, url=entry.url)


def _swefarm() -> list[str]:
    exe = shutil.which("swefarm", path=str(Path(sys.executable).parent)) or shutil.which("swefarm")
    return [exe] if exe else [sys.executable, "-m", "swefarm.cli.main"]


def mine_window(entry: ZooEntry, git_dir: Path, home: Path, runs: int, timeout: float, workers: int = 1) -> str:
    """Run `swefarm mine git` on the entry's window with SWEFARM_HOME=home; returns an error or ""."""
    cmd = [*_swefarm(), "mine", "git", str(git_dir), "--repo", entry.repo, "--max", str(entry.max)]
    cmd += ["--runs", str(runs), "--build-workers", str(workers), "--workers", "2"]
    if entry.language != "python":
        cmd += ["--lang", entry.language]
    for flag, value in (("--since", entry.since), ("--until", entry.until), ("--branch", entry.branch)):
        if value:
            cmd += [flag, value]
    log_path = home / "logs" / f"{entry.repo.replace('/', '__')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SWEFARM_HOME": str(home), "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    with open(log_path, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"mining did not finish in {timeout:.0f}s (log: {log_path})"
    if done.returncode != 0:
        tail = strip_ansi(log_path.read_text(errors="replace"))[-400:].strip()
        return f"swefarm mine git exited {done.returncode}: {tail}"
    return ""


def repo_result(entry: ZooEntry, home: Path) -> RepoResult:
    """What the miner's state and the task store say about the entry's repository."""
    from swefarm.miner.state import MinerState
    from swefarm.tasks.store import TaskStore

    state = MinerState(home / "miner.db")
    try:
        rows = state.rows(entry.repo)
    finally:
        state.close()
    store = TaskStore(home / "tasks.db")
    result = RepoResult(repo=entry.repo, window=_window(entry), candidates=len(rows))
    failures: Counter[str] = Counter()
    filtered: Counter[str] = Counter()
    envs: dict[str, bool] = {}
    steps: Counter[str] = Counter()
    pythons: Counter[str] = Counter()
    for row in rows:
        stage = str(row.stage)
        if row.instance_id:
            result.tasks += 1
        if stage in ("built", "valid") or (row.code and str(row.rejected_stage) == "valid"):
            result.built_tasks += 1
        if stage == "valid" and not row.code:
            result.valid += 1
        task = _task(store, row.instance_id)
        build = (task.extra.get("build") or {}) if task else {}
        if build.get("env_image"):
            envs[build["env_image"]] = envs.get(build["env_image"], False) or bool(build.get("ok"))
        if build.get("ok"):
            steps[build.get("install_step") or "recipe"] += 1
            pythons[str(build.get("python"))] += 1
        if not row.code:
            continue
        if str(row.rejected_stage) not in FAILURE_STAGES:
            filtered[row.code] += 1
        elif row.code == "build_failed":
            reason = (task.status_reason if task else None) or row.detail or ""
            failures[f"build:{build.get('failure_class') or classify_build_failure(reason)}"] += 1
        else:
            failures[f"validation:{row.code}"] += 1
    result.envs_attempted, result.envs_built = len(envs), sum(envs.values())
    result.env_build_ok = result.envs_built > 0 if envs else None
    if not envs and (result.built_tasks or any(k.startswith("build:") for k in failures)):
        result.env_build_ok = result.built_tasks > 0  # tasks built before builds were recorded
    result.failures, result.filtered = dict(failures), dict(filtered)
    result.install_steps, result.pythons = dict(steps), dict(pythons)
    result.yield_pct = round(100 * result.valid / result.candidates, 1) if result.candidates else 0.0
    return result


def _task(store, iid: str | None):
    if not iid:
        return None
    try:
        return store.get(iid)
    except KeyError:
        return None


def _window(entry: ZooEntry) -> str:
    return f"{entry.since or '…'}..{entry.until or '…'} max {entry.max}"


def totals(results: list[RepoResult]) -> dict:
    """The zoo's figures: repositories, environment build rate, yield and failure classes."""
    judged = [r for r in results if r.env_build_ok is not None]
    candidates = sum(r.candidates for r in results)
    valid = sum(r.valid for r in results)
    classes: Counter[str] = Counter()
    for r in results:
        classes.update(r.failures)
        if r.error:
            classes["mine_error"] += 1
    return {
        "repos": len(results),
        "repos_with_tasks": len(judged),
        "env_build_ok_pct": round(100 * sum(bool(r.env_build_ok) for r in judged) / len(judged), 1) if judged else 0.0,
        "envs_built": sum(r.envs_built for r in results),
        "envs_attempted": sum(r.envs_attempted for r in results),
        "candidates": candidates,
        "tasks": sum(r.tasks for r in results),
        "valid": valid,
        "valid_yield_pct": round(100 * valid / candidates, 1) if candidates else 0.0,
        "failure_classes": dict(classes.most_common()),
    }


def run_zoo(
    entries: list[ZooEntry],
    home: Path,
    mirrors: Path | None = None,
    jobs: int = 2,
    runs: int = 2,
    timeout: float = 3600,
    on_done: Callable[[RepoResult], None] = lambda r: None,
    log: Callable[[str], None] = print,
) -> dict:
    """Mine every entry (`jobs` repositories at once) and report per repository and in total."""
    home.mkdir(parents=True, exist_ok=True)

    def one(entry: ZooEntry) -> RepoResult:
        start = time.monotonic()
        try:
            error = mine_window(entry, locate(entry, mirrors, log), home, runs, timeout)
        except (OSError, RuntimeError) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        result = repo_result(entry, home).model_copy(update={"error": error})
        result.seconds = round(time.monotonic() - start, 1)
        return result

    results: list[RepoResult] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in as_completed([pool.submit(one, e) for e in entries]):
            result = future.result()
            results.append(result)
            on_done(result)
    results.sort(key=lambda r: r.repo.lower())
    return {"totals": totals(results), "repos": [r.model_dump() for r in results]}
