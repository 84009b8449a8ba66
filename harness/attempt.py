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
   file of grading is removed; the targets and canaries run in one process; every process
   the code under test left is stopped before the report is read.
5. The verdict: resolved only when every target passes, every canary has its known outcome,
   and the exit code is the one an honest run of these tests gives.
"""

from __future__ import annotations

import posixpath
import random
import secrets
import shlex
from typing import Any

from swefarm.harness import canaries as canary_tests
from swefarm.harness import protect
from swefarm.harness.failures import AgentFailure, GradeFailure
from swefarm.harness.incontainer import ingit, stop_processes
from swefarm.harness.results import TestRun, TestStatus
from swefarm.harness.runner_env import runner_env
from swefarm.harness.runners import module_labels
from swefarm.harness.suspicious import scan
from swefarm.harness.testrun import files_after, read_run, run_command, runner_name
from swefarm.sandbox import Sandbox
from swefarm.tasks.models import Task

WORKDIR = "/testbed"
#: Kept out of every run of the agent's code: no bytecode written, no plugin found by itself.
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}


def targets_of(task: Task) -> list[str]:
    return list(dict.fromkeys([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]))


def prepare(sb: Sandbox, task: Task, data: bytes, image_key: str, report) -> tuple[list[canary_tests.Canary], Any, str]:
    """Apply the change and the test patch as trees say, drop what must not reach grading, plant canaries.

    Returns the canaries, the runner's environment and the command that removes grading's own files
    (run right before the tests); sets report.patch_applied, reverted and suspicious.
    Raises AgentFailure(PATCH_INVALID) when git refuses the change."""
    env = runner_env(sb, image_key)
    token = secrets.token_hex(8)
    agent_path, tests_path = f"/tmp/swefarm-{token}-change.diff", f"/tmp/swefarm-{token}-tests.diff"
    sb.write_file(agent_path, data)
    sb.write_file(tests_path, task.test_patch.encode("utf-8", "surrogateescape"))
    roots = sorted(set(env.roots) | _pythonpath_roots(task) | {"", "src", "lib"})
    request = {"work": WORKDIR, "agent_patch": agent_path, "test_patch": tests_path, "roots": roots}
    changes = ingit(sb, "changes", request)
    cleanup = "rm -rf " + " ".join(shlex.quote(p) for p in (changes["tmp"], agent_path, tests_path))
    try:
        if not changes["applied"]:
            raise AgentFailure(GradeFailure.PATCH_INVALID, changes.get("message", ""))
        report.patch_applied = True
        runner = runner_name(task)
        test_paths = changes["test_paths"]
        ctx = protect.Context(
            test_paths=set(test_paths),
            target_files=protect.module_files(runner, targets_of(task), test_paths),
            fix_dirs=_dirs(files_after(task.patch)),
            modules=frozenset(env.modules),
            roots=tuple(roots),
            base_names={root: set(names) for root, names in changes["base_names"].items()},
            symlink_targets=changes["symlinks"],
        )
        kept, dropped = protect.split(changes["entries"], ctx)
        report.reverted = dropped
        report.suspicious = scan(changes["added_text"])
        args = {"work": WORKDIR, "tmp": changes["tmp"], "base": changes["base"], "drop": list(dropped)}
        ingit(sb, "finalise", {**args, "test_patch": tests_path})
        planted = _plant(sb, task, runner, test_paths, ctx.target_files)
    except BaseException:
        sb.run_stateless(cleanup, timeout=60)
        raise
    return planted, env, cleanup


def run(sb: Sandbox, task: Task, planted: list[canary_tests.Canary], env, cleanup: str, timeout: float) -> TestRun:
    """Remove grading's files; run the targets and canaries in one process; stop what the code left; read the report."""
    tests = targets_of(task) + [c.id for c in planted]
    options = env.pytest_args() if runner_name(task) == "pytest" else []
    res, junit = run_command(
        sb,
        task,
        tests,
        timeout,
        options=options,
        env={**TEST_ENV, **env.env_vars()},
        first=cleanup,
        before=lambda: stop_processes(sb),
    )
    if res.timed_out:
        raise AgentFailure(GradeFailure.TESTS_TIMED_OUT, f"the tests ran past {timeout:.0f}s")
    return read_run(task, res, junit)


def _plant(sb: Sandbox, task: Task, runner: str, test_paths: list[str], target_files: set[str]):
    """Canaries in the target test files that exist after the test patch (read, planted, written back)."""
    files = sorted(target_files) or [p for p in test_paths if p.endswith(".py")]
    sources = {}
    for path in files[:8]:
        try:
            sources[path] = sb.read_file(posixpath.join(WORKDIR, path))
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
    if not sources:
        return []
    module_of = {path: (module_labels(runner, [path]) or [""])[0] for path in sources}
    rng = random.Random(secrets.randbits(64))
    planted, changed = canary_tests.plant(runner, sources, module_of, targets_of(task), rng)
    for path, content in changed.items():
        sb.write_file(posixpath.join(WORKDIR, path), content)
    return planted


def judge(task: Task, run: TestRun, planted: list[canary_tests.Canary], report, expected: dict) -> None:
    """Fill the report's counts, tamper evidence and verdict from a finished run."""
    targets = targets_of(task)
    report.exit_code = run.exit_code
    report.log_tail = run.log_tail[-4000:]
    report.canaries = len(planted)
    report.tests = {t: str(run.status_of(t) or "missing") for t in targets}
    report.fail_to_pass_passed = sum(passes(run.status_of(t), expected.get(t)) for t in task.FAIL_TO_PASS)
    report.pass_to_pass_passed = sum(passes(run.status_of(t), expected.get(t)) for t in task.PASS_TO_PASS)
    no_report = run.parser == "pytest" and run.source != "junit"
    if run.exit_code not in (0, 1) or (no_report and run.exit_code == 1):
        code = GradeFailure.REPORT_UNREADABLE if no_report else GradeFailure.RUNNER_ERROR
        raise AgentFailure(code, f"the runner exited {run.exit_code}" + (" and wrote no report" if no_report else ""))
    reasons = canary_tests.judge([c for c in planted if not _explained(c.id, run)], run.status_of)
    missing = [t for t in targets if run.status_of(t) is None and not _explained(t, run)]
    if missing:
        reasons.append(f"{len(missing)} target test(s) missing from the report")
    honest_exit = 1 if any(c.expected != TestStatus.PASSED for c in planted) else 0
    if planted and run.exit_code == 0 and honest_exit == 1:
        reasons.append("the runner exited 0 although planted tests fail")
    report.tampered, report.tampered_reasons = bool(reasons), reasons
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
    if run.parser == "pytest":
        return run.statuses.get(test_id.split("::", 1)[0]) in (TestStatus.ERROR, TestStatus.FAILED)
    return any(s == TestStatus.ERROR and ("_FailedTest" in k or k.endswith(".py")) for k, s in run.statuses.items())


def _dirs(paths: list[str]) -> set[str]:
    out = set()
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
