"""The SQLite task store: upserts, filters, and several processes writing at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime

import pytest
from swefarm.tasks.models import TaskStatus
from swefarm.tasks.store import TaskNotFoundError, TaskStore
from task_samples import make_task


@pytest.fixture
def store(tmp_path) -> TaskStore:
    return TaskStore(tmp_path / "tasks.db")


def test_default_path_is_under_swefarm_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path / "home"))
    assert TaskStore().path == tmp_path / "home" / "tasks.db"
    assert (tmp_path / "home" / "tasks.db").is_file()


def test_put_reports_added_unchanged_updated(store):
    task = make_task(1)
    assert store.put(task) == "added"
    assert store.put(task) == "unchanged"
    assert store.put(task.model_copy(update={"status": TaskStatus.VALID})) == "updated"
    assert store.get(task.instance_id).status is TaskStatus.VALID
    assert store.count() == 1


def test_put_many_counts_each_outcome(store):
    store.put(make_task(1))
    counts = store.put_many([make_task(1), make_task(2), make_task(1, problem_statement="changed")])
    assert (counts["added"], counts["updated"], counts["unchanged"]) == (1, 1, 1)


def test_get_missing_raises_a_keyerror_naming_the_id(store):
    with pytest.raises(KeyError) as info:
        store.get("nope__nope-1")
    assert isinstance(info.value, TaskNotFoundError)
    assert "nope__nope-1" in str(info.value) and str(store.path) in str(info.value)


def test_delete(store):
    store.put(make_task(1))
    assert store.delete("demo__calc-1") is True
    assert store.delete("demo__calc-1") is False
    assert store.count() == 0


def test_filters_and_order(store):
    store.put_many(make_task(n, repo="demo/calc" if n % 2 else "demo/other") for n in range(1, 11))
    store.put(make_task(5, status=TaskStatus.VALID))
    assert [t.instance_id for t in store.list(limit=3)] == ["demo__calc-1", "demo__calc-2", "demo__calc-3"]
    assert {t.repo for t in store.list(repo="demo/other")} == {"demo/other"}
    assert [t.instance_id for t in store.list(status="valid")] == ["demo__calc-5"]
    after, before = datetime(2023, 1, 4, tzinfo=UTC), datetime(2023, 1, 7, 10, tzinfo=UTC)
    window = store.list(created_after=after, created_before=before)
    assert [t.instance_id for t in window] == ["demo__calc-3", "demo__calc-4", "demo__calc-5"]
    assert store.count(repo="demo/calc", status=TaskStatus.IMPORTED) == 4
    assert store.count(created_after=datetime(2023, 1, 4)) == 8  # a naive date is read as UTC


def test_tasks_without_a_date_are_listed_but_not_matched_by_date_filters(store):
    store.put(make_task(1, created_at=None))
    assert len(store.list()) == 1
    assert store.list(created_after=datetime(2000, 1, 1, tzinfo=UTC)) == []


def test_store_uses_wal(store):
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _writer(path: str, worker: int, n: int) -> int:
    store = TaskStore(path)
    for i in range(n):
        store.put(make_task(worker * 1000 + i))
        store.put(make_task(i, status=TaskStatus.BUILT))  # every worker also updates the same shared ids
        if i % 10 == 0:
            store.put_many(make_task(worker * 1000 + 500 + i + j) for j in range(5))
            store.list(limit=20)
    return worker


def test_several_processes_write_at_once_without_losing_rows(tmp_path):
    path = str(tmp_path / "tasks.db")
    workers, n = 6, 40
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        done = pool.starmap(_writer, [(path, w, n) for w in range(1, workers + 1)])
    assert sorted(done) == list(range(1, workers + 1))
    store = TaskStore(path)
    own, batched, shared = workers * n, workers * 4 * 5, n
    assert store.count() == own + batched + shared
    assert store.count(status="built") == shared
    assert store.get("demo__calc-3039").instance_id == "demo__calc-3039"


def _open_and_put(path: str, worker: int) -> int:
    store = TaskStore(path)
    store.put_many(make_task(worker * 10 + i) for i in range(3))
    return store.count()


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    # workers forked from a thread-free server start within a millisecond of each other: they race to
    # create the file and switch it to WAL ("fork" from this process could deadlock on locks other
    # test threads hold)
    ctx = multiprocessing.get_context("forkserver")
    for round_ in range(10):
        path = str(tmp_path / f"race{round_}.db")
        with ctx.Pool(8) as pool:
            pool.starmap(_open_and_put, [(path, w) for w in range(8)])
        assert TaskStore(path).count() == 24


def test_language_is_stored_and_exported(store, tmp_path):
    import json

    store.put(make_task(instance_id="js-1", language="javascript"))
    store.put(make_task(instance_id="py-1"))
    assert store.get("js-1").language == "javascript"
    assert store.get("py-1").language == "python"
    out = tmp_path / "swebench.jsonl"
    store.export_jsonl(out, fmt="swebench")
    lines = {row["instance_id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert lines["js-1"]["language"] == "javascript"
    assert "language" not in lines["py-1"]  # SWE-bench's own fields only, for Python
    assert store.put_many([make_task(instance_id="js-1", language="python")], keep_state=True)["updated"] == 1
