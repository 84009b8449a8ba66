"""One attempt at grading a change, inside a fresh sealed container of the task image.

1. The test patch and the agent's diff are applied by git to indexes of their own (never
   to the work tree) with a pinned configuration (harness/ingit.py); what changed is read
   from the trees, never from the diff's text, so no header can lie about a path.
2. harness/protect.py drops the paths that decide how tests are found, run or reported;
   the rest, and the test patch, are checked out into the work tree.
3. The runner's environment (harness/runner_env.py) was recorded from the image, never from
   the workspace: pytest's plugin autoload is off and the image's plugins are loaded by name;
   bytecode is not written.
4. Canary tests (harness/canaries.py) are planted among the target tests; every temporary
   file of grading is removed; the test files, test directories, conftest and configuration
   files are handed to root, read-only to the uid the tests run as (harness/seal.py); the
   targets and canaries run in one process; every process the code under test left is
   stopped before the report is read.
5. The verdict: resolved only when every target passes, every canary has its known outcome,
   and the exit code is the one an honest run of these tests gives.
"""

from __future__ import annotations

import base64
import posixpath
import random
import secrets
from collections.abc import Sequence
from typing import Any

from swefarm.harness import canaries as canary_tests
from swefarm.harness import canaries_js as js_canaries
from swefarm.harness import protect, seal
from swefarm.harness.failures import AgentFailure, GradeFailure
from swefarm.harness.incontainer import POLICY_SOURCE, ingit, stop_processes
from swefarm.harness.parsers import get_parser
from swefarm.harness.results import TestRun, TestStatus
from swefarm.harness.runner_env import RunnerEnv, runner_env, runner_version
from swefarm.harness.runners import module_labels
from swefarm.harness.suspicious import scan
from swefarm.harness.testrun import files_after, patch_paths, read_run, run_command, runner_name
from swefarm.sandbox import Sandbox
from swefarm.tasks.models import Task

WORKDIR = "/testbed"
MAX_CANARY_FILES = 8
#: Kept out of every run of the agent's code: no bytecode written, no plugin found by itself.
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}
#: Python's own tracebacks in pytest's failure reports: the canaries always fail, and pytest's long style
#: reads and parses the test file's source for every failure (a third of a demo grading's defence cost).
NATIVE_TRACEBACKS = ["--tb=native"]


def targets_of(task: Task) -> list[str]:
    return list(dict.fromkeys([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]))


def prepare(
    sb: Sandbox, task: Task, data: bytes, image_key: str, report
) -> tuple[list[canary_tests.Canary], Any, dict[str, bytes]]:
    """Apply the change and the test patch as trees say, drop what must not reach grading, plant canaries.

    Returns the canaries, the runner's environment and the target test files as grading wrote them; sets
    report.patch_applied, reverted and suspicious. No file of grading's is left where the code under test
    could read it, and what the runner reads besides the agent's source is sealed (root's, read-only to the
    agent's uid: harness/seal.py). Raises AgentFailure(PATCH_INVALID) when git refuses the change."""
    env = runner_env(sb, image_key) if task.language == "python" else RunnerEnv()  # no pytest plugins to pin
    runner = runner_name(task)
    patches = {"agent_patch": bytes(data), "test_patch": task.test_patch.encode("utf-8", "surrogateescape")}
    by_id = runner in ("pytest", "sympy") or task.language != "python"  # their ids name their files
    id_files = protect.module_files("pytest", targets_of(task), []) if by_id else set()
    context: dict[str, Any] = {
        "language": task.language,
        "target_files": sorted(id_files),
        "fix_dirs": sorted(_dirs(files_after(task.patch))),
        "modules": list(env.modules),
        "roots": sorted(set(env.roots) | _pythonpath_roots(task) | {"", "src", "lib"}),
    }
    request: dict[str, Any] = {"work": WORKDIR, **patches, "test_paths": patch_paths(task.test_patch)}
    request.update(policy=POLICY_SOURCE, context=context)
    answer = ingit(sb, "prepare", {**request, "read": sorted(id_files)[:MAX_CANARY_FILES]}, compile_here=True)
    if not answer["applied"]:
        raise AgentFailure(GradeFailure.PATCH_INVALID, answer.get("message", ""))
    report.patch_applied = True
    report.reverted = answer["dropped"]
    report.suspicious = scan(answer["added_text"])
    target_files = id_files or protect.module_files(runner, targets_of(task), answer["test_paths"])
    sources = {path: base64.b64decode(text) for path, text in answer["files"].items()}
    chosen = {p: sources[p] for p in sorted(target_files) if p in sources} or sources
    planted, written = _plant(sb, task, runner, dict(list(chosen.items())[:MAX_CANARY_FILES]))
    tests = set(answer["test_paths"]) | set(target_files) | set(written)
    version = runner_version(env.pytest) if runner == "pytest" else None
    entries = seal.plan(answer.get("tree", []), tests, context["fix_dirs"], context["roots"], version)
    sb.seal(WORKDIR, entries)
    return planted, env, written


def run(sb: Sandbox, task: Task, planted: list[canary_tests.Canary], env, timeout: float) -> TestRun:
    """Run the targets and the canaries in one process; stop what the code left; read the report."""
    tests = targets_of(task) + [c.id for c in planted]
    options = [*env.pytest_args(), *NATIVE_TRACEBACKS] if runner_name(task) == "pytest" else []
    res, junit = run_command(
        sb,
        task,
        tests,
        timeout,
        options=options,
        env={**TEST_ENV, **env.env_vars()},
        before=lambda: stop_processes(sb),
    )
    if res.timed_out:
        raise AgentFailure(GradeFailure.TESTS_TIMED_OUT, f"the tests ran past {timeout:.0f}s")
    return read_run(task, res, junit)


def _plant(
    sb: Sandbox, task: Task, runner: str, sources: dict[str, bytes]
) -> tuple[list[canary_tests.Canary], dict[str, bytes]]:
    """Canaries spread over the target test files (their contents after the test patch), written back; the
    canaries, and every one of those files (and any new canary file) as it now is."""
    if not sources:
        return [], {}
    rng = random.Random(secrets.randbits(64))
    if task.language != "python":
        planted, changed = js_canaries.plant(runner, sources, targets_of(task), rng)
    else:
        module_of = {path: (module_labels(runner, [path]) or [""])[0] for path in sources}
        planted, changed = canary_tests.plant(runner, sources, module_of, targets_of(task), rng)
    for path, content in changed.items():
        sb.write_file(posixpath.join(WORKDIR, path), content)
    return planted, {**sources, **changed}


def rewritten(sb: Sandbox, written: dict[str, bytes]) -> list[str]:
    """The test files grading wrote that no longer hold what it wrote (read after the agent's processes are
    stopped): code under test that edits the tests it is judged by, say one not yet collected."""
    changed = []
    for path, content in written.items():
        try:
            now = sb.read_file(posixpath.join(WORKDIR, path), max_bytes=len(content) + 1)
        except OSError:
            now = None
        if now != content:
            changed.append(path)
    return changed


def judge(
    task: Task, run: TestRun, planted: list[canary_tests.Canary], report, expected: dict, edited: Sequence[str] = ()
) -> None:
    """Fill the report's counts, tamper evidence and verdict from a finished run (`edited`: test files the run
    changed)."""
    targets = targets_of(task)
    report.exit_code = run.exit_code
    report.log_tail = run.log_tail[-4000:]
    report.canaries = len(planted)
    report.tests = {t: str(run.status_of(t) or "missing") for t in targets}
    report.fail_to_pass_passed = sum(passes(run.status_of(t), expected.get(t)) for t in task.FAIL_TO_PASS)
    report.pass_to_pass_passed = sum(passes(run.status_of(t), expected.get(t)) for t in task.PASS_TO_PASS)
    no_report = get_parser(run.parser).reads_junit and run.source != "junit"  # a run that wrote no report
    if run.exit_code not in (0, 1) or (no_report and run.exit_code == 1):
        code = GradeFailure.REPORT_UNREADABLE if no_report else GradeFailure.RUNNER_ERROR
        raise AgentFailure(code, f"the runner exited {run.exit_code}" + (" and wrote no report" if no_report else ""))
    reasons = canary_tests.judge([c for c in planted if not _explained(c.id, run)], run.status_of)
    missing = [t for t in targets if run.status_of(t) is None and not _explained(t, run)]
    if missing:
        reasons.append(f"{len(missing)} target test(s) missing from the report")
    if edited:
        reasons.append(f"the run rewrote test files: {', '.join(sorted(edited)[:5])}")
    honest_exit = 1 if any(c.expected != TestStatus.PASSED for c in planted) else 0
    if planted and run.exit_code == 0 and honest_exit == 1:
        reasons.append("the runner exited 0 although planted tests fail")
    report.tampered, report.tampered_reasons = bool(reasons), reasons
    if reasons:  # a report that lies about the canaries proves nothing about the targets either
        report.fail_to_pass_passed = report.pass_to_pass_passed = 0
    all_pass = (report.fail_to_pass_passed, report.pass_to_pass_passed) == (
        report.fail_to_pass_total,
        report.pass_to_pass_total,
    )
    report.resolved = bool(targets) and not reasons and all_pass and run.exit_code == honest_exit


def passes(status: TestStatus | None, expected: TestStatus | None = None) -> bool:
    """PASSED, or XFAIL where the gold patch's validation run saw XFAIL too (pytest.xfail() from code never passes)."""
    if status == TestStatus.PASSED:
        return True
    return status == TestStatus.XFAIL and expected == TestStatus.XFAIL


def _explained(test_id: str, run: TestRun) -> bool:
    """A test missing from the report because its whole file or module failed to load (not tampering)."""
    if run.status_of(test_id) is not None:
        return False
    if run.parser == "pytest" or "::" in test_id and run.parser in ("node", "jest", "vitest", "mocha"):
        return run.statuses.get(test_id.split("::", 1)[0]) in (TestStatus.ERROR, TestStatus.FAILED)
    return any(s == TestStatus.ERROR and ("_FailedTest" in k or k.endswith(".py")) for k, s in run.statuses.items())


def _dirs(paths: list[str]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def _pythonpath_roots(task: Task) -> set[str]:
    roots = set()
    for entry in task.environment.env_vars.get("PYTHONPATH", "").split(":"):
        entry = posixpath.normpath(entry) if entry else ""
        if entry == WORKDIR:
            roots.add("")
        elif entry.startswith(WORKDIR + "/"):
            roots.add(entry[len(WORKDIR) + 1 :])
    return roots
