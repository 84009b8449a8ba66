"""Miners started side by side on one new home (`swefarm bench zoo --jobs 2`) all open its state file: switching a
new SQLite file to WAL fails at once with "database is locked" in all but one of them, whatever the busy timeout."""

from __future__ import annotations

import multiprocessing

from swefarm.miner.state import MinerState


def _open(path, barrier, results) -> None:
    barrier.wait()
    try:
        MinerState(path).close()
        results.put("ok")
    except Exception as exc:  # what the test reports
        results.put(repr(exc))


def test_miners_opening_one_new_state_file_at_once_all_open_it(tmp_path):
    ctx = multiprocessing.get_context("fork")
    failures = []
    for round_ in range(20):  # one round in about a hundred and fifty failed before the retry
        path = tmp_path / f"home{round_}" / "miner.db"
        barrier, results = ctx.Barrier(8), ctx.Queue()
        workers = [ctx.Process(target=_open, args=(path, barrier, results)) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        failures += [r for r in (results.get(timeout=5) for _ in workers) if r != "ok"]
    assert failures == []
