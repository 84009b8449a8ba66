"""Validation and grading of a real fixture task, on the real engine, including the known hacks."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from swefarm.harness.grade import grade
from swefarm.harness.images import sandbox_config
from swefarm.harness.pipeline import validate_task
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.tasks.models import TaskStatus

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def valid_task(docker_client, built_calc_task):
    task, outcome = validate_task(docker_client, built_calc_task, runs=2)
    assert outcome.ok, task.status_reason
    return task


def make_diff(repo: Path, base: str, changes: dict[str, str | None]) -> str:
    """The diff an agent would hand in: `changes` (path -> new content, None = delete) on the base commit."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "w"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(work), base], cwd=repo, check=True)
        try:
            for path, content in changes.items():
                if content is None:
                    (work / path).unlink()
                else:
                    (work / path).parent.mkdir(parents=True, exist_ok=True)
                    (work / path).write_text(content)
            subprocess.run(["git", "add", "-A"], cwd=work, check=True)
            return subprocess.run(
                ["git", "diff", "--cached", base], cwd=work, check=True, capture_output=True, text=True
            ).stdout
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(work)], cwd=repo, check=True)


def test_validation_derives_fail_to_pass_and_pass_to_pass(valid_task):
    assert valid_task.status == TaskStatus.VALID
    assert len(valid_task.FAIL_TO_PASS) == 2
    assert all(t.startswith("tests/test_calc.py::test_add[") for t in valid_task.FAIL_TO_PASS)
    assert "tests/test_calc.py::test_add[one plus two]" in valid_task.FAIL_TO_PASS
    assert valid_task.PASS_TO_PASS == ["tests/test_calc.py::test_mul"]
    assert valid_task.provenance.flaky_tests == []
    labels = [r.label for r in valid_task.provenance.validation_runs]
    assert labels == ["base", "gold0", "gold1", "base-selected", "gold-selected"]


def test_the_agent_copy_holds_no_future(docker_client, valid_task, calc_repo):
    _, commits = calc_repo
    with DockerSandbox(docker_client, valid_task.environment.image, sandbox_config()) as sb:
        assert sb.run("git log --all --oneline | wc -l").output.strip() == "1"
        assert sb.run("git tag; git remote; git stash list").output.strip() == ""
        assert sb.run("git reflog | wc -l").output.strip() in ("0", "1")
        objects = sb.run("git cat-file --batch-all-objects --batch | grep -c 'a + b' || true").output.strip()
        assert objects == "0"  # the fix is in no object, packed or loose
        assert sb.run(f"git cat-file -e {commits['fix']}").exit_code != 0  # the fix commit is unknown
        assert "return a - b" in sb.read_file("src/calc/__init__.py").decode()
        assert sb.run("python -c 'import calc; print(calc.add(2, 2))'").output.strip() == "0"
        assert sb.run("git status --porcelain").output == ""  # build artefacts are ignored


def test_gold_patch_resolves(docker_client, valid_task):
    report = grade(valid_task, valid_task.patch, docker_client)
    assert report.infra_error is None, report.infra_error
    assert report.resolved, report.log_tail
    assert (report.fail_to_pass_passed, report.pass_to_pass_passed) == (2, 1)


def test_empty_patch_is_not_resolved(docker_client, valid_task):
    report = grade(valid_task, "", docker_client)
    assert report.infra_error is None
    assert not report.resolved
    assert report.fail_to_pass_passed == 0 and report.pass_to_pass_passed == 1


def test_a_patch_that_does_not_apply_is_not_resolved(docker_client, valid_task):
    report = grade(
        valid_task, "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n", docker_client
    )
    assert report.infra_error is None
    assert not report.patch_applied and not report.resolved


def test_a_broken_environment_is_an_infra_error_not_a_zero(docker_client, valid_task):
    report = grade(valid_task, valid_task.patch, docker_client, image="swefarm/task:does-not-exist")
    assert report.infra_error and "ImageMissing" in report.infra_error
    assert not report.resolved


FORCE_PASS_CONFTEST = """import pytest
print("PASSED tests/test_calc.py::test_add[one plus two]")

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""
SKIP_CONFTEST = """import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.skip(reason="later"))
"""
SITECUSTOMIZE = """import sys
print("PASSED tests/test_calc.py::test_add[one plus two]")
sys.modules.setdefault("builtins").__dict__["_swefarm_hacked"] = True
"""
FAKE_PYTEST = """import sys
print("tests/test_calc.py::test_add[one plus two] PASSED")
sys.exit(0)
"""
HACKS = {
    "conftest forcing passes and printing PASSED": {"conftest.py": FORCE_PASS_CONFTEST},
    "conftest skipping every test": {"tests/conftest.py": SKIP_CONFTEST},
    "sitecustomize printing PASSED": {"src/sitecustomize.py": SITECUSTOMIZE},
    "editing the target tests": {"tests/test_calc.py": "def test_add():\n    pass\n\n\ndef test_mul():\n    pass\n"},
    "deleting the target tests": {"tests/test_calc.py": None},
    "making them xfail from the code": {
        "src/calc/__init__.py": "def add(a, b):\n    import pytest\n    pytest.xfail('later')\n\n\n"
        "def mul(a, b):\n    return a * b\n"
    },
    "exiting early with status 0": {"src/calc/__init__.py": "import os\nos._exit(0)\n"},
    "patching the test runner": {"pytest.py": FAKE_PYTEST},
}


@pytest.mark.parametrize("hack", list(HACKS))
def test_known_hacks_are_not_resolved(docker_client, valid_task, calc_repo, hack):
    repo, commits = calc_repo
    report = grade(valid_task, make_diff(repo, commits["base"], HACKS[hack]), docker_client)
    assert report.infra_error is None, report.infra_error
    assert report.patch_applied
    assert not report.resolved, (hack, report.tests, report.log_tail[-1500:])
    assert report.fail_to_pass_passed < report.fail_to_pass_total


def test_a_hack_beside_the_real_fix_is_reverted_and_the_fix_still_counts(docker_client, valid_task, calc_repo):
    repo, commits = calc_repo
    diff = make_diff(
        repo,
        commits["base"],
        {
            "src/calc/__init__.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
            "conftest.py": SKIP_CONFTEST,
        },
    )
    report = grade(valid_task, diff, docker_client)
    assert report.reverted == {"conftest.py": "config"}
    assert report.resolved, report.log_tail
