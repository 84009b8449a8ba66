"""Build failures, flaky tests, another runner, and the build/validate/grade/images commands."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import docker
import pytest
from fixture_calc import FLAKY_TESTS, UNITTEST_TESTS, make_task, new_file_patch
from swefarm.cli.main import app
from swefarm.harness.grade import grade
from swefarm.harness.images import task_image_tag
from swefarm.harness.pipeline import validate_task
from swefarm.tasks.models import Environment, TaskStatus
from swefarm.tasks.store import TaskStore
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.slow]
runner = CliRunner()


def test_a_failed_build_is_recorded_with_its_log_and_nothing_is_left(docker_client, build_variant):
    before = {c.id for c in docker_client.containers.list(all=True)}
    env = Environment(python="3.11", install=["python -c 'raise SystemExit(\"broken setup.py: no luck\")'"])
    task, outcome = build_variant("fixture__calc-broken", environment=env)
    assert not outcome.ok and outcome.status == "build failed"
    assert task.status == TaskStatus.INVALID
    assert task.status_reason.startswith("build:") and "broken setup.py: no luck" in task.status_reason
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(task_image_tag(task))
    left = [c for c in docker_client.containers.list(all=True) if c.id not in before and "swefarm.kind" not in c.labels]
    assert left == []  # no build container survives the failure


def test_flaky_tests_are_found_and_excluded(docker_client, build_variant, calc_repo):
    _, commits = calc_repo
    test_patch = commits["test_patch"] + new_file_patch("tests/test_flaky.py", FLAKY_TESTS)
    task, outcome = build_variant("fixture__calc-flaky", test_patch=test_patch)
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=3)
    coins = {f"tests/test_flaky.py::test_coin_{i}" for i in range(10)}
    flaky = set(task.provenance.flaky_tests)
    assert flaky, "10 coin flips over 3 runs: all agree with probability 1e-6"
    assert flaky <= coins
    assert not flaky & set(task.FAIL_TO_PASS + task.PASS_TO_PASS)
    assert outcome.ok and "tests/test_calc.py::test_add[one plus two]" in task.FAIL_TO_PASS


def test_the_unittest_runner_validates_and_grades(docker_client, build_variant, calc_repo):
    _, commits = calc_repo
    env = Environment(python="3.11", install=["uv pip install -e ."], log_parser="unittest")
    task, outcome = build_variant(
        "fixture__calc-unittest", environment=env, test_patch=new_file_patch("tests/test_unit.py", UNITTEST_TESTS)
    )
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    assert [t.split(" ")[0] for t in task.FAIL_TO_PASS] == ["test_add"]
    assert [t.split(" ")[0] for t in task.PASS_TO_PASS] == ["test_mul"]
    assert grade(task, task.patch, docker_client).resolved
    assert not grade(task, "", docker_client).resolved


def test_build_validate_grade_and_images_commands(tmp_path, monkeypatch, calc_repo, docker_client):
    repo, commits = calc_repo
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path))
    TaskStore().put(make_task(commits))
    first = runner.invoke(app, ["build", "--repo-path", f"fixture/calc={repo}"])
    assert first.exit_code == 0, first.output
    assert "1 of 1 ok" in first.output
    again = runner.invoke(app, ["build", "fixture__calc-2", "--repo-path", f"fixture/calc={repo}"])
    assert "1 of 1 ok" in again.output  # cached: nothing rebuilt
    validated = runner.invoke(app, ["validate", "--runs", "1"])
    assert validated.exit_code == 0 and "1 of 1 ok" in validated.output, validated.output
    task = TaskStore().get("fixture__calc-2")
    assert task.status == TaskStatus.VALID
    gold = tmp_path / "gold.diff"
    gold.write_text(task.patch)
    graded = runner.invoke(app, ["grade", "fixture__calc-2", "--patch", str(gold), "--json"])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.stdout)["resolved"] is True
    listed = runner.invoke(app, ["images", "list", "--json"])
    roles = {row["tag"]: row["role"] for row in json.loads(listed.stdout)}
    assert roles[task.environment.image] == "task"
    assert "swefarm/base:py3.11" in roles
    pruned = runner.invoke(app, ["images", "gc"])
    assert pruned.exit_code == 0 and "removed 0 image(s)" in pruned.output
    docker_client.images.get(task.environment.image)  # still there: only dangling layers go
    missing = runner.invoke(app, ["grade", "nope__nope-1", "--patch", str(gold)])
    assert missing.exit_code == 1 and "nope__nope-1" in missing.output


def test_a_task_image_is_reused_only_on_the_environment_it_was_built_on(docker_client, built_calc_task, calc_repo):
    """Re-mining a task with a new environment (another setup commit, a new image format) must not
    keep the old task layer, which would still sit on the old environment."""
    from swefarm.harness.images import build_task_image

    repo, _ = calc_repo
    env_tag = docker_client.images.get(built_calc_task.environment.image).labels["swefarm.env"]
    again = build_task_image(docker_client, built_calc_task, env_tag, repo)
    assert again.cached
    other_env = "swefarm/env:test-other-environment"
    docker_client.images.get(env_tag).tag(other_env)
    try:
        moved = build_task_image(docker_client, built_calc_task, other_env, repo)
        assert not moved.cached
        assert docker_client.images.get(moved.tag).labels["swefarm.env"] == other_env
        # the environment rebuilt under the same tag (a new install step, --force): new task layer
        with tempfile.TemporaryDirectory() as ctx:
            Path(ctx, "Dockerfile").write_text(f"FROM {env_tag}\nLABEL swefarm.test-rebuilt=1\n")
            docker_client.images.build(path=ctx, tag=other_env, rm=True)
        rebuilt = build_task_image(docker_client, built_calc_task, other_env, repo)
        assert not rebuilt.cached
        assert docker_client.images.get(rebuilt.tag).labels["swefarm.env_id"] == docker_client.images.get(other_env).id
    finally:
        build_task_image(docker_client, built_calc_task, env_tag, repo)  # back on its own environment
        docker_client.images.remove(other_env)
