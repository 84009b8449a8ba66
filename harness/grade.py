"""Grading: `grade(task, diff) -> GradeReport`, in a fresh sealed container.

The agent's diff is applied to the base commit; the test files, and every file
that can change how tests are collected or reported (conftest.py,
sitecustomize, .pth files, pytest/tox config, modules that shadow the runner),
are put back as they were at the base commit; the test patch is applied; only
the FAIL_TO_PASS and PASS_TO_PASS tests run; statuses come from structured
output (JUnit XML for pytest), never from stdout lines the code could print.
A test counts as passing when it PASSED, or was XFAIL where validation saw it
XFAIL too (so code that calls pytest.xfail() cannot turn a failure into a pass).
"""

from __future__ import annotations

import fnmatch
import time

import docker
from pydantic import BaseModel, Field
from swefarm.harness.images import sandbox_config, task_image
from swefarm.harness.results import TestStatus
from swefarm.harness.testrun import InfraError, apply_patch, diff_paths, restore_paths, run_tests
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.engine import connect
from swefarm.sandbox.errors import SandboxError
from swefarm.sandbox.models import SandboxConfig
from swefarm.tasks.models import Task

#: Paths the agent may not change for grading: they decide how tests are found, run and reported.
PROTECTED = (
    "conftest.py",
    "*/conftest.py",
    "sitecustomize.py",
    "*/sitecustomize.py",
    "usercustomize.py",
    "*/usercustomize.py",
    "*.pth",
    "pytest.ini",
    "tox.ini",
    "setup.cfg",
    "pyproject.toml",
    ".pytest.ini",
    "pytest.py",
    "_pytest/*",
    "py.py",
    "unittest.py",
    "unittest/*",
    "tests/runtests.py",
    "bin/test",
)


class GradeReport(BaseModel):
    instance_id: str
    resolved: bool = False
    patch_applied: bool = False
    fail_to_pass_passed: int = 0
    fail_to_pass_total: int = 0
    pass_to_pass_passed: int = 0
    pass_to_pass_total: int = 0
    tests: dict[str, str] = Field(default_factory=dict, description="every target test's status")
    reverted: list[str] = Field(default_factory=list, description="protected paths the diff touched, put back")
    exit_code: int | None = None
    duration: float = 0.0
    infra_error: str | None = None
    log_tail: str = ""


def protected(path: str, test_files: list[str]) -> bool:
    return path in test_files or any(fnmatch.fnmatch(path, pattern) for pattern in PROTECTED)


def passes(status: TestStatus | None, expected: TestStatus | None = None) -> bool:
    if status == TestStatus.PASSED:
        return True
    return status == TestStatus.XFAIL and expected == TestStatus.XFAIL


def grade(
    task: Task,
    diff: str,
    client: docker.DockerClient | None = None,
    image: str | None = None,
    timeout: float = 1800,
    sandbox: SandboxConfig | None = None,
) -> GradeReport:
    """Grade `diff` against `task` (in a sandbox with `sandbox`'s limits, default the task's). Infrastructure
    failures set `infra_error` and never score 0."""
    report = GradeReport(
        instance_id=task.instance_id,
        fail_to_pass_total=len(task.FAIL_TO_PASS),
        pass_to_pass_total=len(task.PASS_TO_PASS),
    )
    start = time.monotonic()
    try:
        with DockerSandbox(client or connect(), image or task_image(task), sandbox or sandbox_config()) as sb:
            _grade_in(sb, task, diff, report, timeout)
    except (SandboxError, InfraError) as exc:
        report.infra_error = f"{exc.__class__.__name__}: {exc}"
        report.resolved = False
    report.duration = round(time.monotonic() - start, 3)
    return report


def _grade_in(sb: DockerSandbox, task: Task, diff: str, report: GradeReport, timeout: float) -> None:
    applied, message = apply_patch(sb, diff, "agent")
    report.patch_applied = applied
    if not applied:
        report.log_tail = f"the patch does not apply:\n{message[-2000:]}"
        return
    test_files = diff_paths(task.test_patch)
    touched = diff_paths(diff) + _untracked(sb)
    report.reverted = sorted({p for p in touched if protected(p, test_files)})
    restore_paths(sb, report.reverted)
    ok, message = apply_patch(sb, task.test_patch, "tests")
    if not ok:
        raise InfraError(f"the test patch does not apply on the base commit: {message[-500:]}")
    targets = list(dict.fromkeys([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]))
    run = run_tests(sb, task, targets, timeout=timeout)
    expected = _expected_statuses(task)
    report.tests = {t: str(run.status_of(t) or "missing") for t in targets}
    report.fail_to_pass_passed = sum(passes(run.status_of(t), expected.get(t)) for t in task.FAIL_TO_PASS)
    report.pass_to_pass_passed = sum(passes(run.status_of(t), expected.get(t)) for t in task.PASS_TO_PASS)
    report.exit_code = run.exit_code
    report.log_tail = run.log_tail[-4000:]
    all_pass = (report.fail_to_pass_passed, report.pass_to_pass_passed) == (
        report.fail_to_pass_total,
        report.pass_to_pass_total,
    )
    # Cross-check with the exit code: a run whose tests all passed cannot have failed.
    report.resolved = bool(targets) and all_pass and run.exit_code == 0


def _untracked(sb: DockerSandbox) -> list[str]:
    res = sb.run_stateless("git ls-files --others --exclude-standard", timeout=60, max_output=10_000_000)
    return [line for line in res.output.splitlines() if line]


def _expected_statuses(task: Task) -> dict[str, TestStatus]:
    """The statuses the gold patch produced in the last validation run, when there is one."""
    gold = [r for r in task.provenance.validation_runs if r.label.startswith("gold")]
    if not gold:
        return {}
    return {t: TestStatus(s) for t, s in gold[-1].outcomes.items() if s in TestStatus._value2member_map_}
