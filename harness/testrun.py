"""Running a task's tests inside a sandbox: patches in, target tests run, statuses out."""

from __future__ import annotations

import re
import shlex

from swefarm.harness.parsers import parse
from swefarm.harness.results import TestRun
from swefarm.harness.runners import DEFAULT_PARSER, runner_of, test_command
from swefarm.harness.test_order import collection_order
from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError
from swefarm.tasks.models import Task

from swefarm.errors import InfrastructureError

JUNIT_PATH = "/tmp/swefarm-junit.xml"
LOG_CAP = 20 * 1024 * 1024
_DIFF_PATHS = re.compile(r"^diff --git a/(.+?) b/(.+)$", re.M)


class InfraError(InfrastructureError, RuntimeError):
    """The environment itself failed (never the agent's fault; never scored as 0)."""


def runner_name(task: Task) -> str:
    """The runner for a task: django, sympy, unittest or pytest (the default)."""
    return runner_of(task.environment.log_parser or "pytest")


def diff_paths(diff: str) -> list[str]:
    """Every path a git diff touches (old and new names)."""
    paths: list[str] = []
    for old, new in _DIFF_PATHS.findall(diff):
        for path in (old, new):
            if path not in paths:
                paths.append(path)
    return paths


def files_after(diff: str) -> list[str]:
    """The paths that exist once `diff` is applied: new names of renames, no deleted files."""
    out: list[str] = []
    for section in re.split(r"^(?=diff --git )", diff, flags=re.M):
        header = _DIFF_PATHS.match(section)
        if header and not re.search(r"^\+\+\+ /dev/null$|^deleted file mode", section, re.M):
            out.append(header.group(2))
    return list(dict.fromkeys(out))


def apply_patch(sb: Sandbox, diff: str, name: str) -> tuple[bool, str]:
    """`git apply` a diff in the workspace; returns (applied, git's message)."""
    if not diff.strip():
        return True, ""
    path = f"/tmp/swefarm-{name}.diff"
    sb.write_file(path, diff if diff.endswith("\n") else diff + "\n")
    res = sb.run_stateless(f"git apply --whitespace=nowarn --binary {path}", timeout=120)
    return res.exit_code == 0, res.output


def restore_paths(sb: Sandbox, paths: list[str]) -> None:
    """Put paths back as they are at HEAD (removing those that HEAD does not have)."""
    if not paths:
        return
    quoted = " ".join(shlex.quote(p) for p in paths)
    script = (
        f"for p in {quoted}; do "
        'if git cat-file -e "HEAD:$p" 2>/dev/null; then git checkout -q HEAD -- "$p"; else rm -rf -- "$p"; fi; done'
    )
    res = sb.run_stateless(script, timeout=120)
    if res.exit_code != 0:
        raise InfraError(f"restoring test files failed: {res.output[-500:]}")


def _source(sb: Sandbox, path: str) -> str | None:
    try:
        return sb.read_file(path).decode("utf-8", "replace")
    except (OSError, ValueError, SandboxError):  # missing, a directory, or a path the sandbox refuses
        return None


def run_tests(sb: Sandbox, task: Task, tests: list[str], timeout: float = 1800) -> TestRun:
    """Run only `tests` (ids, or files for validation) and parse their statuses from structured output."""
    runner = runner_name(task)
    parser = DEFAULT_PARSER[runner]
    sb.run_stateless(f"rm -f {JUNIT_PATH}", timeout=30)
    files = [p for p in files_after(task.test_patch) if p.endswith(".py")]
    if runner == "pytest" and any("::" in t for t in tests):  # ids in file order, as whole-file runs have them
        tests = collection_order(tests, lambda path: _source(sb, path), files)
    try:
        cmd = test_command(runner, tests, junit_path=JUNIT_PATH, files=files)
    except ValueError as exc:
        raise InfraError(f"cannot build the test command: {exc}") from None
    res = sb.run_stateless(cmd, timeout=timeout, max_output=LOG_CAP, env=task.environment.env_vars)
    junit = None
    if parser == "pytest":
        try:
            junit = sb.read_file(JUNIT_PATH).decode("utf-8", "replace")
        except FileNotFoundError:
            junit = None
    try:
        statuses = parse(parser, res.output, junit) if (junit or parser != "pytest") else {}
    except Exception as exc:  # a report we cannot read is the environment's failure
        raise InfraError(f"cannot parse the {parser} report: {exc}") from None
    return TestRun(
        statuses=statuses, exit_code=res.exit_code, parser=parser, log_tail=res.output[-4000:], duration=res.duration
    )
