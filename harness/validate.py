"""Validation: which tests a task's gold patch fixes, which it keeps passing, which are flaky.

The test files of the test patch run once at the base commit with the test
patch (the fixed tests must fail there), then K times (default 3) with the gold
patch and the test patch, each run in a fresh container. FAIL_TO_PASS = did
not pass at base and passed in every gold run; PASS_TO_PASS = passed in every
run; tests whose outcome changed between gold runs are flaky: recorded and
excluded. A task is valid with at least one FAIL_TO_PASS test. The chosen tests
then run once more the way the grader runs them (selected by id, at base and
gold); those whose outcome depends on what runs beside them are dropped too.

Expected failures (XFAIL in every gold run) go in neither list, as in SWE-bench's
datasets: an XFAIL test asserts nothing a fix must keep (it fails before and after
either way), and one a later fix turns into XPASS would count as a regression. They
are listed in `expected_failures` and in `dropped` with the reason `xfail`.

Every outcome is a code (`ValidationOutcome`). A run that reported no tests, or
crashed before running any, is `no_test_results` with the cause read from its
output, never an ordinary `no_fail_to_pass`; test modules that fail to import in
the base and the gold runs alike make `environment_broken` (the install is at
fault, not the task). Every test the task's own (imported) lists hold that ours
do not, and every test our rules left out, is explained in `dropped`
(test id -> `DropReason`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import docker
from pydantic import BaseModel, Field
from swefarm.harness.dropped import disagreement, dropped_tests
from swefarm.harness.images import sandbox_config, task_image
from swefarm.harness.outcomes import ValidationOutcome
from swefarm.harness.parsers import TestIndex
from swefarm.harness.parsers.crash import collection_errors, crash_cause, module_of
from swefarm.harness.results import TestRun, TestStatus, counts_as_pass
from swefarm.harness.runners import module_labels
from swefarm.harness.runners_js import is_js_test_file
from swefarm.harness.testrun import InfraError, apply_patch, files_after, run_tests, runner_name
from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError
from swefarm.sandbox.provider import SandboxProvider, as_provider
from swefarm.tasks.models import Task, ValidationRun

_TIMED_OUT = "[swefarm: killed after"


class PatchError(InfraError):
    """The gold or test patch does not apply at the base commit: the task is broken, not the machine."""


class ValidationReport(BaseModel):
    instance_id: str
    valid: bool = False
    outcome: ValidationOutcome = Field(ValidationOutcome.INFRA_ERROR, description="how validation ended, as a code")
    reason: str = Field("", description="the outcome in words, with its cause")
    cause: str = Field("", description="what a run that gave no results printed last, or why modules did not import")
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list)
    order_dependent: list[str] = Field(
        default_factory=list, description="passed with their whole file but not when selected alone: excluded"
    )
    expected_failures: list[str] = Field(default_factory=list, description="XFAIL in every gold run: excluded")
    collection_errors: list[str] = Field(
        default_factory=list, description="test modules that failed to import in the base and every gold run"
    )
    dropped: dict[str, str] = Field(
        default_factory=dict, description="test id -> why it is in neither list (a DropReason)"
    )
    runs: list[ValidationRun] = Field(default_factory=list)
    seconds: float = 0.0
    dataset_disagreement: dict[str, list[str]] = Field(default_factory=dict)

    def end(self, outcome: ValidationOutcome, reason: str, cause: str = "") -> None:
        """Set how validation ended; the reason carries the cause, so one line says it all."""
        self.outcome, self.cause = outcome, cause
        self.valid = outcome == ValidationOutcome.VALID
        self.reason = f"{reason}: {cause}" if cause else reason


def test_targets(task: Task) -> list[str]:
    """What to run during validation: the test patch's test files, in the runner's own terms."""
    runner = runner_name(task)
    if task.language != "python":
        return [p for p in files_after(task.test_patch) if is_js_test_file(p)]
    files = [p for p in files_after(task.test_patch) if p.endswith(".py")]
    return module_labels(runner, files) if runner in ("django", "unittest") else files


def tests_beside(changed: list[str], tracked: list[str]) -> list[str]:
    """JS: the test files in the folders of the changed files and above them, for a test patch that changes only
    what tests read (markdown-it's fixture texts under test/fixtures/ drive test/*.mjs)."""
    folders = set()
    for path in changed:
        folder = posixpath.dirname(path)
        while folder:
            folders.add(folder)
            folder = posixpath.dirname(folder)
    return sorted(p for p in tracked if is_js_test_file(p) and posixpath.dirname(p) in folders)


@contextmanager
def _patched(provider: SandboxProvider, image: str, patches: list[tuple[str, str]]) -> Iterator[Sandbox]:
    """A fresh sandbox of `image` with `patches` applied (PatchError names the one that does not apply)."""
    with provider.start(image, sandbox_config()) as sb:
        for name, diff in patches:
            ok, message = apply_patch(sb, diff, name)
            if not ok:
                raise PatchError(f"the {name} patch does not apply: {message[-500:]}")
        yield sb


def _targets_beside(provider: SandboxProvider, image: str, task: Task, timeout: float) -> list[str]:
    with _patched(provider, image, [("tests", task.test_patch)]) as sb:
        listed = sb.run_stateless("git ls-files -co --exclude-standard", timeout=min(timeout, 120))
    return tests_beside(files_after(task.test_patch), listed.output.splitlines())


def _run(
    provider: SandboxProvider,
    image: str,
    task: Task,
    patches: list[tuple[str, str]],
    timeout: float,
    targets: list[str] | None = None,
) -> TestRun:
    with _patched(provider, image, patches) as sb:
        return run_tests(sb, task, targets or test_targets(task), timeout=timeout)


def validate(
    task: Task,
    client: docker.DockerClient | SandboxProvider | None = None,
    runs: int = 3,
    image: str | None = None,
    timeout: float = 1800,
) -> ValidationReport:
    """Run the base and gold states and derive FAIL_TO_PASS / PASS_TO_PASS / flaky tests."""
    provider = as_provider(client)
    image = image or task_image(task)
    report = ValidationReport(instance_id=task.instance_id)
    started = datetime.now(UTC)
    targets = test_targets(task)
    base, gold = None, []
    try:
        if not targets and task.language != "python":  # a patch of what tests read: the tests beside it
            targets = _targets_beside(provider, image, task, timeout)
        if not targets:
            report.end(ValidationOutcome.NO_RUNNABLE_TESTS, "the test patch touches no test file this runner can run")
            return report
        base = _run(provider, image, task, [("tests", task.test_patch)], timeout, targets)
        gold_patches = [("gold", task.patch), ("tests", task.test_patch)]
        gold = [_run(provider, image, task, gold_patches, timeout, targets) for _ in range(runs)]
        labels = ["base", *[f"gold{i}" for i in range(runs)]]
        report.runs = [_record(r, label) for r, label in zip([base, *gold], labels, strict=True)]
        _classify(report, base, gold)
        if report.valid:
            _confirm_as_graded(provider, image, task, report, timeout)
    except PatchError as exc:
        report.end(ValidationOutcome.PATCH_DOES_NOT_APPLY, str(exc))
        return report
    except (SandboxError, InfraError) as exc:
        report.end(ValidationOutcome.INFRA_ERROR, f"infrastructure: {exc}")
        return report
    report.seconds = round((datetime.now(UTC) - started).total_seconds(), 2)
    report.dropped = dropped_tests(task, report, base, gold)
    if task.FAIL_TO_PASS or task.PASS_TO_PASS:
        report.dataset_disagreement = disagreement(task, report)
    return report


def _confirm_as_graded(
    provider: SandboxProvider, image: str, task: Task, report: ValidationReport, timeout: float
) -> None:
    """Run the chosen tests the way the grader will (selected by id, not whole files), at base and gold.

    Tests whose outcome depends on what else runs beside them (order or isolation) are dropped like
    flaky ones, so that grading the gold patch always resolves and the base state never does.
    """
    targets = [*report.fail_to_pass, *report.pass_to_pass]
    base = _run(provider, image, task, [("tests", task.test_patch)], timeout, targets)
    gold = _run(provider, image, task, [("gold", task.patch), ("tests", task.test_patch)], timeout, targets)
    report.runs += [_record(base, "base-selected"), _record(gold, "gold-selected")]
    if not gold.statuses:
        cause = crash_cause(gold.log_tail, gold.exit_code, gold.parser)
        report.end(ValidationOutcome.NO_TEST_RESULTS, "the tests selected by id reported nothing", cause)
        return
    at_gold, at_base = TestIndex(gold.parser, gold.statuses), TestIndex(base.parser, base.statuses)
    unstable = [
        t for t in report.pass_to_pass if not (counts_as_pass(at_gold.find(t)) and counts_as_pass(at_base.find(t)))
    ]
    unstable += [
        t for t in report.fail_to_pass if at_gold.find(t) != TestStatus.PASSED or counts_as_pass(at_base.find(t))
    ]
    report.order_dependent = sorted(unstable)
    report.fail_to_pass = [t for t in report.fail_to_pass if t not in unstable]
    report.pass_to_pass = [t for t in report.pass_to_pass if t not in unstable]
    if not report.fail_to_pass:
        report.end(
            ValidationOutcome.ORDER_DEPENDENT, "the fixed tests pass or fail depending on which tests run beside them"
        )


def _record(run: TestRun, label: str) -> ValidationRun:
    return ValidationRun(at=datetime.now(UTC), label=label, outcomes={t: str(s) for t, s in run.statuses.items()})


def _timed_out(run: TestRun) -> bool:
    return _TIMED_OUT in run.log_tail


def _classify(report: ValidationReport, base: TestRun, gold: list[TestRun]) -> None:
    """FAIL_TO_PASS, PASS_TO_PASS, flaky and expected failures from the base and gold runs, and the outcome."""
    broken = set(collection_errors(base.statuses))
    for run in gold:
        broken &= set(collection_errors(run.statuses))
    report.collection_errors = sorted(broken)
    modules = set().union(*(collection_errors(g.statuses) for g in gold)) if gold else set()
    ids = sorted(
        set(base.statuses).union(*(g.statuses for g in gold)) - modules - set(collection_errors(base.statuses))
    )
    at_base, golds = TestIndex(base.parser, base.statuses), [TestIndex(g.parser, g.statuses) for g in gold]
    for test in ids:
        outcomes = {g.find(test) for g in golds}
        if len(outcomes) > 1:
            report.flaky.append(test)
            continue
        (status,) = outcomes
        if status == TestStatus.XFAIL:
            report.expected_failures.append(test)
        elif status == TestStatus.PASSED and at_base.find(test) == TestStatus.PASSED:
            report.pass_to_pass.append(test)
        elif status == TestStatus.PASSED:
            report.fail_to_pass.append(test)
    _outcome(report, base, gold, has_tests=any(set(g.statuses) - modules for g in gold))


def _outcome(report: ValidationReport, base: TestRun, gold: list[TestRun], has_tests: bool) -> None:
    stuck = next((r for r in gold if _timed_out(r)), None)  # a base run may hang: that is the bug
    if stuck is not None:
        cause = crash_cause(stuck.log_tail, stuck.exit_code, stuck.parser)
        report.end(ValidationOutcome.NO_TEST_RESULTS, "a test run did not finish", cause)
    elif report.fail_to_pass:
        report.end(ValidationOutcome.VALID, "")
    elif report.collection_errors:
        names = ", ".join(module_of(m) for m in report.collection_errors[:3])
        more = f" and {len(report.collection_errors) - 3} more" if len(report.collection_errors) > 3 else ""
        cause = f"{names}{more}: {crash_cause(gold[0].log_tail, gold[0].exit_code, gold[0].parser)}"
        report.end(ValidationOutcome.ENVIRONMENT_BROKEN, "test modules fail to import before and after the fix", cause)
    elif not has_tests:
        run = gold[0] if gold else base
        report.end(
            ValidationOutcome.NO_TEST_RESULTS,
            "the gold runs reported no test results",
            crash_cause(run.log_tail, run.exit_code, run.parser),
        )
    else:
        report.end(ValidationOutcome.NO_FAIL_TO_PASS, "no test fails before the gold patch and passes after it")
