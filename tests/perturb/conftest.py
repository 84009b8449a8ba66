"""Fixtures for the perturbation tests: the fixture tasks (calc, and the demo's slugify task, built and validated
for real), a store holding both, and one env per task shared by a module's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def valid_slugify_task(docker_client, tmp_path_factory):
    """The demo's embedded task (two hunks, an issue with examples and an expected behaviour), validated."""
    from swefarm.harness.pipeline import build_task, validate_task
    from swefarm.tasks.demo import REPO, make_repo, make_task

    repo, commits = make_repo(tmp_path_factory.mktemp("slugify"))
    task, outcome = build_task(docker_client, make_task(commits), {REPO: repo}, log=lambda *a: None)
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    return task


@pytest.fixture(scope="session")
def fixture_tasks(valid_calc_task, valid_slugify_task):
    return {task.instance_id: task for task in (valid_calc_task, valid_slugify_task)}


@pytest.fixture(scope="session")
def perturb_store(tmp_path_factory, fixture_tasks):
    from swefarm.tasks.store import TaskStore

    path = tmp_path_factory.mktemp("perturb-store") / "tasks.db"
    TaskStore(path).put_many(list(fixture_tasks.values()))
    return path


@pytest.fixture(scope="module")
def task_envs(docker_client, fixture_tasks):
    """One unperturbed SWEEnv per fixture task; tests wrap them as they need (wrappers are thin)."""
    from swefarm.envs.pools import wait_closed
    from swefarm.envs.swe_env import SWEEnv

    envs = {tid: SWEEnv(task, client=docker_client, pool_size=1) for tid, task in fixture_tasks.items()}
    yield envs
    for env in envs.values():
        env.close()
    wait_closed()
