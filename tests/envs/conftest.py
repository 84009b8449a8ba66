"""Fixtures for env tests: a task store holding the validated calc task, and envs closed after each test."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def calc_store(tmp_path_factory, valid_calc_task):
    from tasks.store import TaskStore

    path = tmp_path_factory.mktemp("store") / "tasks.db"
    TaskStore(path).put(valid_calc_task)
    return path


@pytest.fixture
def make_env(docker_client, valid_calc_task):
    """Make SWEEnvs on the calc task (keyword arguments are config overrides); all closed at teardown."""
    from envs.pools import wait_closed
    from envs.swe_env import SWEEnv

    made = []

    def make(task=None, **overrides):
        env = SWEEnv(task or valid_calc_task, client=docker_client, **overrides)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
    wait_closed()
