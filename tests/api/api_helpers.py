"""Helpers for the API tests: fast farm settings, a farm's sandboxes, polling."""

from __future__ import annotations

import time

import pytest

#: Fast monitoring, so lost workers and idle sessions are noticed within a second or two.
FAST = dict(
    heartbeat_s=0.5, worker_stale_s=15.0, monitor_interval_s=0.5, poll_s=0.2, pool_size=1,
    allowed_policies=["oracle", "empty"],
)  # fmt: skip


def sandboxes_of(client, pids) -> list:
    """Containers swefarm made for any of these (worker) processes, running or not."""
    from swefarm.sandbox.labels import KIND, OWNER_PID

    found = []
    for pid in pids:
        found += client.containers.list(all=True, filters={"label": [KIND, f"{OWNER_PID}={pid}"]})
    return found


def wait_for(predicate, timeout: float = 120.0, what: str = "the condition"):
    """Poll until `predicate()` is truthy (returns it); fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
