"""Grading: `grade(task, diff) -> GradeReport`, in a fresh sealed container; nothing the agent wrote is trusted.

What one attempt does is in harness/attempt.py (the change applied as trees say, the
paths that decide how tests run dropped, the image's own plugins by name, canary tests
among the targets, the verdict). This module owns the report and the rule that tells
the agent's failures from the platform's: when an attempt fails or finds the report
tampered with, the empty patch is graded in the same image (once in a while per image;
the answer is cached); if it grades normally the failure is the agent's and the change
is graded not resolved with a failure code (`failure`), else it is `infra_error`, never
scored. The tests, their directories and the runner's configuration are sealed before the
run (harness/seal.py: root's, read-only to the uid the tests and the code under test run
as), so code under test cannot rewrite a test before the runner reads it. Known limits:
code that behaves correctly only under a test runner passes the tests honestly, and code
that changes in memory what its runner loads or reports, aimed at the targets by name,
is not caught by the canaries; `suspicious` names such code, `tampered` never can.

    report = grade(task, diff)            # diff: text or bytes of a git diff against the base commit
    report.resolved, report.tampered, report.failure, report.suspicious, report.infra_error
"""

from __future__ import annotations

import threading
import time

import docker
import docker.errors
from pydantic import BaseModel, Field
from swefarm.harness import attempt
from swefarm.harness.failures import EXPECTED_ERRORS, INFRA_ERRORS, SELF_EVIDENT, AgentFailure, GradeFailure, classify
from swefarm.harness.images import sandbox_config, task_image
from swefarm.harness.incontainer import MAX_PATCH_BYTES, extract_change, image_id, limits_hit
from swefarm.harness.results import TestStatus
from swefarm.harness.suspicious import Finding
from swefarm.harness.testrun import InfraError, apply_patch, run_tests
from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.provider import SandboxProvider, as_provider
from swefarm.tasks.models import Task

#: How long an empty-patch check of an image stays good.
CONTROL_TTL_S = 600.0

_controls: dict[tuple[str, str, str], float] = {}
_controls_lock = threading.Lock()


class GradeReport(BaseModel):
    instance_id: str
    resolved: bool = False
    patch_applied: bool = False
    fail_to_pass_passed: int = 0
    fail_to_pass_total: int = 0
    pass_to_pass_passed: int = 0
    pass_to_pass_total: int = 0
    tests: dict[str, str] = Field(default_factory=dict, description="every target test's status")
    reverted: dict[str, str] = Field(
        default_factory=dict, description="the agent's changed paths put back as at the base commit, and why"
    )
    tampered: bool = Field(False, description="the report contradicts the canary tests or the exit code")
    tampered_reasons: list[str] = Field(default_factory=list)
    canaries: int = Field(0, description="canary tests planted among the targets")
    suspicious: list[Finding] = Field(default_factory=list, description="added code that reaches into the runner")
    failure: GradeFailure | None = Field(None, description="why grading ended abnormally, when the agent caused it")
    failure_detail: str = ""
    exit_code: int | None = None
    duration: float = 0.0
    infra_error: str | None = None
    log_tail: str = ""
    defences: bool = True


def grade(
    task: Task,
    diff: str | bytes,
    client: docker.DockerClient | SandboxProvider | None = None,
    image: str | None = None,
    timeout: float = 1800,
    sandbox: SandboxConfig | None = None,
    *,
    defences: bool = True,
) -> GradeReport:
    """Grade `diff` against `task` in a sandbox with `sandbox`'s limits (default the task image's). The agent's
    failures are graded (`failure`); the platform's set `infra_error`, never scored.

    `defences=False` grades the old, trusting way (the diff applied as it is, no canaries, no pinned
    plugins): only for measuring what the defences cost. Sandboxes come from `client`: a provider
    (`sandbox.provider`), or a Docker client (default: connect)."""
    provider = as_provider(client)
    image = image or task_image(task)
    box = sandbox or sandbox_config()
    data = diff.encode("utf-8", "surrogatepass") if isinstance(diff, str) else diff
    start = time.monotonic()
    report = _attempt(task, data, provider, image, timeout, defences, box)
    if defences:
        confirm(report, task, provider, image, timeout, box)
    report.duration = round(time.monotonic() - start, 3)
    return report


def confirm(
    report: GradeReport,
    task: Task,
    provider: SandboxProvider,
    image: str,
    timeout: float,
    box: SandboxConfig | None = None,
) -> GradeReport:
    """Keep an abnormal grade the agent's (failure code, tampered) only if the empty patch grades normally."""
    if report.tampered or (report.failure and report.failure not in SELF_EVIDENT):
        control = check_image(task, provider, image, timeout, box)
        if control is not None:
            blame = f"{report.failure or 'tampered'}: {report.failure_detail or '; '.join(report.tampered_reasons)}"
            report.infra_error = f"{blame}; and the empty patch does not grade normally in {image} either: {control}"
            report.failure, report.tampered, report.resolved = None, False, False
    return report


def failed(task: Task, code: GradeFailure | None = None, detail: str = "") -> GradeReport:
    """A report on `task` with nothing graded yet; with `code`, one for a change the agent made ungradable."""
    return GradeReport(
        instance_id=task.instance_id,
        fail_to_pass_total=len(task.FAIL_TO_PASS),
        pass_to_pass_total=len(task.PASS_TO_PASS),
        failure=code,
        failure_detail=detail[-2000:],
    )


def _attempt(
    task: Task,
    data: bytes,
    provider: SandboxProvider,
    image: str,
    timeout: float,
    defences: bool,
    box: SandboxConfig | None = None,
) -> GradeReport:
    report = failed(task)
    report.defences = defences
    if len(data) > MAX_PATCH_BYTES:
        detail = f"the diff is {len(data)} bytes; the limit is {MAX_PATCH_BYTES}"
        return failed(task, GradeFailure.PATCH_TOO_LARGE, detail)
    try:
        sb = provider.start(image, box or sandbox_config())
    except SandboxError as exc:
        report.infra_error = f"{type(exc).__name__}: {exc}"
        return report
    with sb:
        try:
            if defences:
                planted, env, written = attempt.prepare(sb, task, data, _image_key(sb, image), report)
                run = attempt.run(sb, task, planted, env, timeout)
                edited = attempt.rewritten(sb, written)
                attempt.judge(task, run, planted, report, _expected_statuses(task), edited)
            else:
                _trusting(sb, task, data, report, timeout)
        except INFRA_ERRORS as exc:  # the engine, the image or the host: nothing the agent can cause
            report.infra_error = f"{type(exc).__name__}: {exc}"
            report.resolved = False
        except EXPECTED_ERRORS + (InfraError,) as exc:
            report.failure = limit_failure(sb) or classify(exc)
            report.failure_detail = f"{type(exc).__name__}: {exc}"[-2000:]
            report.resolved = False
    return no_credit_unless_trusted(report)


def no_credit_unless_trusted(report: GradeReport) -> GradeReport:
    """A tampered report, or a run the agent's change broke, proves nothing: no test counts as passing (so
    partial-credit components such as `fail_to_pass_fraction` give nothing, and regressions count in full)."""
    if report.tampered or report.failure or report.infra_error:
        report.resolved = False
        report.fail_to_pass_passed = report.pass_to_pass_passed = 0
    return report


def _trusting(sb: Sandbox, task: Task, data: bytes, report: GradeReport, timeout: float) -> None:
    """Grading as it was before the defences: the diff applied as it is, the targets run, exit code 0."""
    report.patch_applied, message = apply_patch(sb, data.decode("utf-8", "surrogateescape"), "agent")
    if not report.patch_applied:
        raise AgentFailure(GradeFailure.PATCH_INVALID, message)
    ok, message = apply_patch(sb, task.test_patch, "tests")
    if not ok:
        raise InfraError(f"the test patch does not apply: {message[-500:]}")
    run = run_tests(sb, task, attempt.targets_of(task), timeout=timeout)
    expected = _expected_statuses(task)
    report.tests = {t: str(run.status_of(t) or "missing") for t in attempt.targets_of(task)}
    report.fail_to_pass_passed = sum(attempt.passes(run.status_of(t), expected.get(t)) for t in task.FAIL_TO_PASS)
    report.pass_to_pass_passed = sum(attempt.passes(run.status_of(t), expected.get(t)) for t in task.PASS_TO_PASS)
    report.exit_code = run.exit_code
    totals = (report.fail_to_pass_total, report.pass_to_pass_total)
    report.resolved = (report.fail_to_pass_passed, report.pass_to_pass_passed) == totals and run.exit_code == 0


def check_image(
    task: Task, provider: SandboxProvider, image: str, timeout: float, box: SandboxConfig | None = None
) -> str | None:
    """None when the empty patch grades normally in `image` (checked at most every CONTROL_TTL_S), else what failed.

    The check goes the whole way an episode's change does: a fresh sandbox of the image, the change
    extracted from its untouched workspace (it must be empty), then graded."""
    key = (provider.image_id(image), _grading_key(task), (box or sandbox_config()).model_dump_json())
    with _controls_lock:
        if time.monotonic() - _controls.get(key, -CONTROL_TTL_S) < CONTROL_TTL_S:
            return None
    try:
        with provider.start(image, box or sandbox_config()) as sb:
            untouched = extract_change(sb)
    except EXPECTED_ERRORS + (InfraError,) as exc:
        return f"reading an untouched workspace failed: {type(exc).__name__}: {exc}"
    if untouched:
        return f"an untouched workspace shows changes ({len(untouched)} bytes of diff)"
    empty = _attempt(task, b"", provider, image, timeout, True, box)
    problem = empty.infra_error or (empty.failure and f"{empty.failure}: {empty.failure_detail}")
    if not problem and empty.tampered:
        problem = "the canary tests misbehave: " + "; ".join(empty.tampered_reasons)
    if problem:
        return str(problem)
    with _controls_lock:
        _controls[key] = time.monotonic()
    return None


def _grading_key(task: Task) -> str:
    """What makes two tasks grade alike in one image: their test patch and target tests."""
    import hashlib

    text = "\0".join([task.instance_id, task.test_patch, *task.FAIL_TO_PASS, "\0", *task.PASS_TO_PASS])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _image_key(sb: Sandbox, image: str) -> str:
    return image_id(sb) or image  # a Docker sandbox's: the image's id


def limit_failure(sb) -> GradeFailure | None:
    """OOM or PROCESS_LIMIT when the kernel enforced the sandbox's memory or process limit (that is the cause)."""
    try:
        hit = limits_hit(sb)
    except SandboxError:
        return None
    if "memory" in hit:
        return GradeFailure.OOM
    return GradeFailure.PROCESS_LIMIT if "processes" in hit else None


def _expected_statuses(task: Task) -> dict[str, TestStatus]:
    """The statuses the gold patch produced in the last validation run, when there is one."""
    gold = [r for r in task.provenance.validation_runs if r.label.startswith("gold")]
    if not gold:
        return {}
    return {t: TestStatus(s) for t, s in gold[-1].outcomes.items() if s in TestStatus._value2member_map_}
