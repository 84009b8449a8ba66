"""Fixtures for the REST API: a task store with the validated calc task, and real farms on 127.0.0.1.

A farm is `swefarm serve` in its own process group with real worker processes, a fresh SQLite
database and fresh tokens (api.local). Teardown stops it with SIGTERM and checks that no
sandbox of its workers is left.
"""

from __future__ import annotations

import pytest
from api_helpers import FAST, sandboxes_of


@pytest.fixture(scope="session")
def api_store(tmp_path_factory, valid_calc_task):
    from swefarm.tasks.store import TaskStore

    path = tmp_path_factory.mktemp("api-store") / "tasks.db"
    TaskStore(path).put(valid_calc_task)
    return path


@pytest.fixture(scope="module")
def make_farm(tmp_path_factory, api_store, docker_client):
    """Start farms (keyword arguments are settings); each is stopped at teardown and leaves no sandbox."""
    from swefarm.api.local import LocalFarm

    made: list[tuple[LocalFarm, set[int]]] = []

    def make(workers: int = 1, tokens: int = 2, **settings):
        home = tmp_path_factory.mktemp("farm")
        farm = LocalFarm(home, workers=workers, tokens=tokens, task_store=str(api_store), **{**FAST, **settings})
        pids: set[int] = set()
        made.append((farm, pids))
        farm.start()
        pids.update(farm.worker_pids())
        farm.seen_pids = pids  # every worker pid the test saw; the test adds new ones
        return farm

    yield make
    for farm, pids in made:
        try:
            pids.update(farm.worker_pids())
        except Exception:
            pass
        farm.stop()
        left = sandboxes_of(docker_client, pids)
        for container in left:
            container.remove(force=True)
        assert not left, f"the farm left sandboxes behind: {[c.short_id for c in left]}\n{farm.log_tail()}"


@pytest.fixture(scope="module")
def farm(make_farm):
    return make_farm()
