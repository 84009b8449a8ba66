"""Validation: which tests a task's gold patch fixes, which it keeps passing, which are flaky.

The test files of the test patch run once at the base commit with the test
patch (the fixed tests must fail there), then K times (default 3) with the gold
patch and the test patch, each run in a fresh container. FAIL_TO_PASS = did
not pass at base and passed in every gold run; PASS_TO_PASS = passed in every
run; tests whose outcome changed between gold runs are flaky: recorded and
excluded. A task is valid with at least one FAIL_TO_PASS test.
"""

from __future__ import annotations

from datetime import UTC, datetime

import docker
from pydantic import BaseModel, Field
from swefarm.harness.images import sandbox_config, task_image
from swefarm.harness.results import TestRun, TestStatus, counts_as_pass
from swefarm.harness.runners import module_labels
from swefarm.harness.testrun import InfraError, apply_patch, files_after, run_tests, runner_name
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.engine import connect
from swefarm.sandbox.errors import SandboxError
from swefarm.tasks.models import Task, ValidationRun


class ValidationReport(BaseModel):
    instance_id: str
    valid: bool = False
    reason: str = ""
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list)
    order_dependent: list[str] = Field(
        default_factory=list, description="passed with their whole file but not when selected alone: excluded"
    )
    runs: list[ValidationRun] = Field(default_factory=list)
    seconds: float = 0.0
    dataset_disagreement: dict[str, list[str]] = Field(default_factory=dict)


def test_targets(task: Task) -> list[str]:
    """What to run during validation: the test patch's test files, in the runner's own terms."""
    files = [p for p in files_after(task.test_patch) if p.endswith(".py")]
    runner = runner_name(task)
    return module_labels(runner, files) if runner in ("django", "unittest") else files


def _run(
    client, image: str, task: Task, patches: list[tuple[str, str]], timeout: float, targets: list[str] | None = None
) -> TestRun:
    with DockerSandbox(client, image, sandbox_config()) as sb:
        for name, diff in patches:
            ok, message = apply_patch(sb, diff, name)
            if not ok:
                raise InfraError(f"the {name} patch does not apply: {message[-500:]}")
        return run_tests(sb, task, targets or test_targets(task), timeout=timeout)


def validate(
    task: Task,
    client: docker.DockerClient | None = None,
    runs: int = 3,
    image: str | None = None,
    timeout: float = 1800,
) -> ValidationReport:
    """Run the base and gold states and derive FAIL_TO_PASS / PASS_TO_PASS / flaky tests."""
    client = client or connect()
    image = image or task_image(task)
    report = ValidationReport(instance_id=task.instance_id)
    started = datetime.now(UTC)
    if not test_targets(task):
        report.reason = "the test patch touches no test file this runner can run"
        return report
    try:
        base = _run(client, image, task, [("tests", task.test_patch)], timeout)
        gold_patches = [("gold", task.patch), ("tests", task.test_patch)]
        gold = [_run(client, image, task, gold_patches, timeout) for _ in range(runs)]
        labels = ["base", *[f"gold{i}" for i in range(runs)]]
        report.runs = [_record(r, label) for r, label in zip([base, *gold], labels, strict=True)]
        _classify(report, base, gold)
        if report.valid:
            _confirm_as_graded(client, image, task, report, timeout)
    except (SandboxError, InfraError) as exc:
        report.reason = f"infrastructure: {exc}"
        return report
    report.seconds = round((datetime.now(UTC) - started).total_seconds(), 2)
    if task.FAIL_TO_PASS or task.PASS_TO_PASS:
        report.dataset_disagreement = _disagreement(task, report)
    return report


def _confirm_as_graded(client, image: str, task: Task, report: ValidationReport, timeout: float) -> None:
    """Run the chosen tests the way the grader will (selected by id, not whole files), at base and gold.

    Tests whose outcome depends on what else runs beside them (order or isolation) are dropped like
    flaky ones, so that grading the gold patch always resolves and the base state never does.
    """
    targets = [*report.fail_to_pass, *report.pass_to_pass]
    base = _run(client, image, task, [("tests", task.test_patch)], timeout, targets)
    gold = _run(client, image, task, [("gold", task.patch), ("tests", task.test_patch)], timeout, targets)
    report.runs += [_record(base, "base-selected"), _record(gold, "gold-selected")]
    unstable = [
        t for t in report.pass_to_pass if not (counts_as_pass(gold.status_of(t)) and counts_as_pass(base.status_of(t)))
    ]
    unstable += [
        t for t in report.fail_to_pass if gold.status_of(t) != TestStatus.PASSED or counts_as_pass(base.status_of(t))
    ]
    report.order_dependent = sorted(unstable)
    report.fail_to_pass = [t for t in report.fail_to_pass if t not in unstable]
    report.pass_to_pass = [t for t in report.pass_to_pass if t not in unstable]
    report.valid = bool(report.fail_to_pass)
    if not report.valid:
        report.reason = "the fixed tests pass or fail depending on which tests run beside them"


def _record(run: TestRun, label: str) -> ValidationRun:
    return ValidationRun(at=datetime.now(UTC), label=label, outcomes={t: str(s) for t, s in run.statuses.items()})


def _classify(report: ValidationReport, base: TestRun, gold: list[TestRun]) -> None:
    ids = sorted(set(base.statuses).union(*(g.statuses for g in gold)))
    for test in ids:
        outcomes = {g.status_of(test) for g in gold}
        if len(outcomes) > 1:
            report.flaky.append(test)
            continue
        (status,) = outcomes
        if status not in (TestStatus.PASSED, TestStatus.XFAIL):
            continue
        if base.status_of(test) == status:
            report.pass_to_pass.append(test)
        elif status == TestStatus.PASSED:
            report.fail_to_pass.append(test)
    report.valid = bool(report.fail_to_pass)
    if not gold or not any(g.statuses for g in gold):
        report.reason = f"the gold runs reported no test results (exit code {gold[0].exit_code if gold else '?'})"
    elif not report.valid:
        report.reason = "no test fails before the gold patch and passes after it"


def _disagreement(task: Task, report: ValidationReport) -> dict[str, list[str]]:
    """Where our lists and the dataset's differ. Ids the dataset cut at a space (SWE-bench's log parser
    splits lines on whitespace, so `t[a b]` became `t[a`) are matched to ours and listed apart."""
    out: dict[str, list[str]] = {}
    for name, theirs, ours in (
        ("FAIL_TO_PASS", task.FAIL_TO_PASS, report.fail_to_pass),
        ("PASS_TO_PASS", task.PASS_TO_PASS, report.pass_to_pass),
    ):
        only_theirs, only_ours = set(theirs) - set(ours), set(ours) - set(theirs)
        cut = {t for t in only_theirs if any(_cut_from(o, t) for o in only_ours)}
        only_ours -= {o for o in only_ours if any(_cut_from(o, t) for t in cut)}
        out[f"{name} only in dataset"] = sorted(only_theirs - cut)
        out[f"{name} only in ours"] = sorted(only_ours)
        out[f"{name} cut at a space in dataset"] = sorted(cut)
    return {k: v for k, v in out.items() if v}


def _cut_from(full: str, cut: str) -> bool:
    return len(full) > len(cut) and full.startswith(cut) and full[len(cut)].isspace()
