"""What grading relies on in a task's environment: its pytest plugins (recorded when its image is built, loaded by
name with autoload off), and test files a canary can live in."""

from __future__ import annotations

import json

import pytest
from fixture_calc import new_file_patch
from swefarm.harness import runner_env
from swefarm.harness.grade import grade
from swefarm.harness.images import sandbox_config
from swefarm.harness.pipeline import validate_task
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.tasks.models import Environment

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MOCKED = (
    "import calc\n\n\ndef test_add_is_spied(mocker):\n    spy = mocker.spy(calc, 'add')\n"
    "    assert calc.add(1, 2) == 3\n    assert spy.call_count == 1\n"
)


@pytest.fixture(scope="module")
def mock_task(docker_client, build_variant, calc_repo):
    _, commits = calc_repo
    env = Environment(
        python="3.11", install=["uv pip install -e ."], packages=["pytest", "pytest-mock"], log_parser="pytest"
    )
    test_patch = commits["test_patch"] + new_file_patch("tests/test_mock.py", MOCKED)
    task, outcome = build_variant("fixture__calc-mock", environment=env, test_patch=test_patch)
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    return task


def test_the_plugins_are_recorded_in_the_image_when_it_is_built(docker_client, mock_task):
    with DockerSandbox(docker_client, mock_task.environment.image, sandbox_config()) as sb:
        record = json.loads(sb.read_file(runner_env.RECORD))
    assert [p["name"] for p in record["plugins"]] == ["pytest_mock"]
    assert {"pytest", "_pytest", "pluggy", "pytest_mock", "json", "unittest"} <= set(record["modules"])
    assert "" in record["roots"] and "src" in record["roots"] and "calc" not in record["modules"]


def test_grading_loads_them_by_name_and_nothing_else(docker_client, mock_task, monkeypatch):
    assert "tests/test_mock.py::test_add_is_spied" in mock_task.FAIL_TO_PASS
    gold = grade(mock_task, mock_task.patch, docker_client)
    assert gold.resolved and not gold.tampered, gold.model_dump(exclude={"log_tail"})
    # Autoload is off: recorded without its plugins, the same image cannot give the test its `mocker`.
    bare = runner_env.RunnerEnv(pytest="8.0", roots=["", "src"])
    monkeypatch.setattr(runner_env, "runner_env", lambda sb, key: bare)
    monkeypatch.setattr("swefarm.harness.attempt.runner_env", lambda sb, key: bare)
    without = grade(mock_task, mock_task.patch, docker_client)
    assert not without.resolved and without.tests["tests/test_mock.py::test_add_is_spied"] == "error"


MARKED = (
    "import pytest\n\npytestmark = pytest.mark.skipif(False, reason='never skipped, but a canary cannot know')\n\n\n"
    "def test_add_marked():\n    from calc import add\n\n    assert add(2, 5) == 7\n"
)


def test_canaries_go_to_a_new_file_beside_targets_whose_module_may_skip(docker_client, build_variant):
    task, outcome = build_variant("fixture__calc-marked", test_patch=new_file_patch("tests/test_marked.py", MARKED))
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok and task.FAIL_TO_PASS == ["tests/test_marked.py::test_add_marked"], task.status_reason
    gold = grade(task, task.patch, docker_client)
    assert gold.resolved and gold.canaries == 4 and not gold.tampered, gold.model_dump(exclude={"log_tail"})
    assert not grade(task, "", docker_client).resolved
