"""Running a task's tests inside a sandbox: patches in, target tests run, statuses out.

Used by validation (the task's own, trusted patches). Grading an agent's change
applies it its own way (harness/attempt.py) and shares `run_command` / `read_run`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

from swefarm.harness.parsers import get_parser, parse
from swefarm.harness.recipe_js_scripts import source_path
from swefarm.harness.results import TestRun
from swefarm.harness.runners import DEFAULT_PARSER, runner_of, test_command
from swefarm.harness.runners_js import JS_RUNNERS
from swefarm.harness.test_order import collection_order
from swefarm.sandbox import CommandResult, Sandbox
from swefarm.sandbox.errors import SandboxError
from swefarm.tasks.models import Task

from swefarm.errors import InfrastructureError

JUNIT_PATH = "/tmp/swefarm-junit.xml"
LOG_CAP = 20 * 1024 * 1024
_HEADER = re.compile(r"^diff --git a/(.+?) b/(.+)$", re.M)


class InfraError(InfrastructureError, RuntimeError):
    """The environment itself failed (never the agent's fault; never scored as 0)."""


def runner_name(task: Task) -> str:
    """The runner for a task: django, sympy, unittest or pytest (the default); node, jest, vitest or mocha."""
    return runner_of(task.environment.log_parser or "pytest")


def files_after(diff: str) -> list[str]:
    """The paths that exist once a task's own `diff` is applied: new names of renames, no deleted files.

    For the task's trusted patches only: an agent's diff is never read as text (see harness/protect.py).
    """
    out: list[str] = []
    for section in re.split(r"^(?=diff --git )", diff, flags=re.M):
        header = _HEADER.match(section)
        if header and not re.search(r"^\+\+\+ /dev/null$|^deleted file mode", section, re.M):
            out.append(header.group(2))
    return list(dict.fromkeys(out))


def patch_paths(diff: str) -> list[str]:
    """Every path a task's own `diff` touches (old and new names), as git writes them (C-quoted or not).

    For the task's trusted patches only: an agent's diff is never read as text (see harness/protect.py)."""
    out: list[str] = []
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            name = _unquote(line[4:].split("\t", 1)[0].rstrip())
            if name != "/dev/null":
                out.append(name[2:] if name[:2] in ("a/", "b/") else name)
        elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
            out.append(_unquote(line.split(" ", 2)[2]))
    return list(dict.fromkeys(out))


def _unquote(name: str) -> str:
    """A path as git prints it: C-quoted ("a/t\\303\\251st.py") when it holds unusual bytes."""
    if not (name.startswith('"') and name.endswith('"') and len(name) > 1):
        return name
    raw, body, i = bytearray(), name[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and body[i + 1 : i + 4].isdigit():
                raw.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            raw += {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b", "f": b"\f", "r": b"\r",
                    "v": b"\v"}.get(nxt, nxt.encode())  # fmt: skip
            i += 2
            continue
        raw += ch.encode("utf-8", "surrogateescape")
        i += 1
    return os.fsdecode(bytes(raw))


def apply_patch(sb: Sandbox, diff: str, name: str) -> tuple[bool, str]:
    """`git apply` a diff in the workspace; returns (applied, git's message)."""
    if not diff.strip():
        return True, ""
    path = f"/tmp/swefarm-{name}.diff"
    sb.write_file(path, diff if diff.endswith("\n") else diff + "\n")
    res = sb.run_stateless(f"git apply --whitespace=nowarn --binary {path}", timeout=120)
    return res.exit_code == 0, res.output


def _source(sb: Sandbox, path: str) -> str | None:
    try:
        return sb.read_file(path).decode("utf-8", "replace")
    except (OSError, ValueError, SandboxError):  # missing, a directory, or a path the sandbox refuses
        return None


def run_tests(sb: Sandbox, task: Task, tests: list[str], timeout: float = 1800) -> TestRun:
    """Run only `tests` (ids, or files for validation) and parse their statuses from structured output."""
    res, junit = run_command(sb, task, tests, timeout)
    try:
        return read_run(task, res, junit)
    except Exception as exc:  # a report we cannot read is the environment's failure
        raise InfraError(f"cannot parse the {DEFAULT_PARSER[runner_name(task)]} report: {exc}") from None


def run_command(
    sb: Sandbox,
    task: Task,
    tests: list[str],
    timeout: float,
    *,
    options: Sequence[str] = (),
    env: dict[str, str] | None = None,
    before: Callable[[], None] | None = None,
) -> tuple[CommandResult, str | None]:
    """Run `tests` with the task's runner (`options` after its base command); the result and the JUnit XML, if any.

    `before` runs between the command's end and the report's reading (grading stops the processes the
    code under test left behind there, so none can rewrite the report after the runner wrote it).
    """
    runner = runner_name(task)
    files = [p for p in files_after(task.test_patch) if p.endswith(".py")]
    if runner == "pytest" and any("::" in t for t in tests):  # ids in file order, as whole-file runs have them
        tests = collection_order(tests, lambda path: _source(sb, path), files)
    environment = task.environment
    if DEFAULT_PARSER[runner] in JS_RUNNERS:  # the project's own options for its runner
        options = [*environment.runner_options, *options]
    try:
        cmd = test_command(
            runner, tests, junit_path=JUNIT_PATH, files=files, options=options, build=environment.build,
            compiled=environment.compiled_tests,
        )  # fmt: skip
    except ValueError as exc:
        raise InfraError(f"cannot build the test command: {exc}") from None
    cmd = f"rm -f {JUNIT_PATH}; {cmd}"
    res = sb.run_stateless(cmd, timeout=timeout, max_output=LOG_CAP, env={**task.environment.env_vars, **(env or {})})
    if before is not None:
        before()
    junit = None
    if get_parser(DEFAULT_PARSER[runner]).reads_junit:  # pytest's JUnit XML, a JS runner's own report
        try:
            junit = sb.read_file(JUNIT_PATH).decode("utf-8", "replace")
        except FileNotFoundError:
            junit = None
    return res, junit


def _source_id(test_id: str, compiled: dict[str, str]) -> str:
    file, sep, title = test_id.partition("::")
    return source_path(file, compiled) + sep + title


def read_run(task: Task, res: CommandResult, junit: str | None) -> TestRun:
    """The statuses of a finished run (raises ParseError on an unreadable JUnit report)."""
    parser = DEFAULT_PARSER[runner_name(task)]
    statuses = parse(parser, res.output, junit) if (junit or parser != "pytest") else {}
    if compiled := task.environment.compiled_tests:  # the report names compiled files: ids keep the sources'
        statuses = {_source_id(test_id, compiled): status for test_id, status in statuses.items()}
    return TestRun(
        statuses=statuses,
        exit_code=res.exit_code,
        parser=parser,
        source="junit" if junit else "log",
        log_tail=res.output[-4000:],
        duration=res.duration,
    )
