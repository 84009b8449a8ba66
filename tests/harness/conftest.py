"""Fixtures: the calc repository and tasks built from it on the real engine."""

from __future__ import annotations

import pytest
from fixture_calc import make_repo, make_task


@pytest.fixture(scope="session")
def calc_repo(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("repos"))


@pytest.fixture(scope="session")
def built_calc_task(docker_client, calc_repo):
    """The fixture task with its environment and task images built (cached across runs)."""
    from harness.pipeline import build_task

    repo, commits = calc_repo
    task, outcome = build_task(docker_client, make_task(commits), {"fixture/calc": repo}, log=lambda *a: None)
    assert outcome.ok, task.status_reason
    return task


@pytest.fixture(scope="session")
def build_variant(docker_client, calc_repo):
    """Build a variant of the fixture task (same repository and environment, other tests or recipe)."""
    from harness.pipeline import build_task

    repo, commits = calc_repo

    def build(instance_id: str, **changes):
        task = make_task(commits, instance_id).model_copy(update=changes)
        return build_task(docker_client, task, {"fixture/calc": repo}, log=lambda *a: None)

    return build
