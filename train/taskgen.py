"""A family of small single-file bug tasks, made the way the embedded demo task is made (real git, fixed dates).

One repository (`swefarm-train/minilib`) holds one module per function of
`train.functions`. Each task is a branch off the clean commit: a commit that
plants one bug (an operator or bound changed on one line), then the commit
that fixes it with a regression test. All tasks share the clean commit as
their environment-setup commit, so one environment image serves them all and
each task adds only a small layer (as SWE-smith does with one image per repo).

Bugs are found, not written: every comparison, arithmetic operator and
`min`/`max` on a body line is a candidate, and a candidate is kept when the
module's test inputs tell the buggy version from the fixed one (both are run
here, in-process, to derive the expected values). The issue quotes the
failing call and the line at fault, so the task is a one-line fix a small
model can learn; `HELDOUT` modules make the evaluation tasks, never trained on.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from swefarm.tasks.models import Environment, Task
from swefarm.train.functions import FUNCTIONS, Function

REPO = "swefarm-train/minilib"
PREFIX = "swefarm-train__minilib-"
DATE = "2024-06-03T09:00:00Z"
#: Modules whose tasks are held out for evaluation (every fourth function): training never sees them.
HELDOUT = tuple(f.module for i, f in enumerate(FUNCTIONS) if i % 4 == 3)

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "minilib",
    "GIT_AUTHOR_EMAIL": "minilib@swefarm.invalid",
    "GIT_COMMITTER_NAME": "minilib",
    "GIT_COMMITTER_EMAIL": "minilib@swefarm.invalid",
    "GIT_AUTHOR_DATE": DATE,
    "GIT_COMMITTER_DATE": DATE,
}
PYPROJECT = """[project]
name = "minilib"
version = "0.3.0"
requires-python = ">=3.9"

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""
# (pattern, replacement): one occurrence on one line is one candidate bug.
_MUTATIONS = (
    (r"<=", "<"),
    (r">=", ">"),
    (r"(?<![<>=!\-])<(?![=<])", "<="),
    (r"(?<![<>=!\-])>(?![=>])", ">="),
    (r"==", "!="),
    (r" \+ 1\b", ""),
    (r" - 1\b", ""),
    (r" \+ (?!1\b)", " - "),
    (r" \* ", " + "),
    (r" // ", " / "),
    (r"\band\b", "or"),
    (r"\bTrue\b", "False"),
    (r"\bmin\(", "max("),
    (r"\bmax\(", "min("),
)
MAX_BUGS_PER_FUNCTION = 3


@dataclass(frozen=True)
class Bug:
    """One planted bug: which line of which function, and the calls that show it."""

    function: Function
    index: int  # the bug's number within its function
    line: str  # the correct line
    buggy_line: str
    failing: tuple[tuple, object, object]  # a call that shows the bug: (args, what it returns, what it should)

    @property
    def instance_id(self) -> str:
        return f"{PREFIX}{self.function.module}-{self.index}"

    @property
    def path(self) -> str:
        return f"src/minilib/{self.function.module}.py"

    @property
    def buggy_source(self) -> str:
        return self.function.source.replace(self.line, self.buggy_line, 1)


_NEVER = "never returns"


class _TooLong(Exception):
    pass


def _run(source: str, name: str, args: tuple, budget: int = 20_000) -> object:
    """Call `name` from `source` on `args`; a bug that loops forever is stopped after `budget` lines."""
    namespace: dict = {}
    exec(compile(source, "<minilib>", "exec"), namespace)  # our own templates, never user input
    left = [budget]

    def trace(frame, event, arg):
        if frame.f_code.co_filename != "<minilib>":
            return None
        left[0] -= 1
        if left[0] < 0:
            raise _TooLong
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return namespace[name](*[list(a) if isinstance(a, list) else a for a in args])
    except _TooLong:
        return _NEVER
    except Exception as exc:  # a bug may raise: that is a result too
        return f"raises {type(exc).__name__}"
    finally:
        sys.settrace(previous)


def find_bugs(function: Function) -> list[Bug]:
    """The candidate bugs of one function that its inputs detect, at most MAX_BUGS_PER_FUNCTION, in line order."""
    lines = function.source.splitlines(keepends=True)
    bugs: list[Bug] = []
    for line in lines:
        body = line.strip()
        if not body or body.startswith(("def ", '"""', "#")):
            continue
        for pattern, replacement in _MUTATIONS:
            for match in re.finditer(pattern, line):
                buggy_line = line[: match.start()] + replacement + line[match.end() :]
                buggy = function.source.replace(line, buggy_line, 1)
                if buggy == function.source or buggy.count(buggy_line.strip()) != 1:
                    continue  # no change, or a line the fix could not name uniquely
                shown = _first_difference(function, buggy)
                hangs = any(_run(buggy, function.name, args) == _NEVER for args in function.inputs)
                if shown is not None and not hangs and all(b.buggy_line != buggy_line for b in bugs):
                    bugs.append(Bug(function, len(bugs) + 1, line, buggy_line, shown))
                if len(bugs) == MAX_BUGS_PER_FUNCTION:
                    return bugs
    return bugs


def _first_difference(function: Function, buggy: str):
    for args in function.inputs:
        want, got = _run(function.source, function.name, args), _run(buggy, function.name, args)
        if want != got:
            return args, got, want
    return None


def all_bugs() -> list[Bug]:
    return [bug for function in FUNCTIONS for bug in find_bugs(function)]


def split_of(bug: Bug) -> str:
    return "heldout" if bug.function.module in HELDOUT else "train"


def issue_text(bug: Bug) -> str:
    args, got, want = bug.failing
    call = f"{bug.function.name}({', '.join(repr(a) for a in args)})"
    return (
        f"{bug.function.name}() returns the wrong result\n\n"
        f"`{call}` returns `{got!r}`, but it should return `{want!r}`.\n\n"
        f"The bug is in `{bug.path}`: the line `{bug.buggy_line.strip()}` should be `{bug.line.strip()}`."
    )


# -- the repository ---------------------------------------------------------------------------------------------


def _tests_for(function: Function, calls: list[tuple]) -> str:
    head = f"from minilib.{function.module} import {function.name}\n"
    if not calls:
        return head + f"\n\ndef test_{function.name}_exists():\n    assert callable({function.name})\n"
    asserts = "".join(_assert(function, args) for args in calls)
    return head + f"\n\ndef test_{function.name}():\n{asserts}"


def _assert(function: Function, args: tuple) -> str:
    call = f"{function.name}({', '.join(repr(a) for a in args)})"
    return f"    assert {call} == {_run(function.source, function.name, args)!r}\n"


def _agreeing(function: Function, bugs: list[Bug]) -> list[tuple]:
    """Inputs every planted bug of this function still gets right: the tests the repo already has."""
    return [
        args
        for args in function.inputs
        if all(_run(b.buggy_source, function.name, args) == _run(function.source, function.name, args) for b in bugs)
    ]


def _regression_test(bug: Bug) -> str:
    shows = [
        args
        for args in bug.function.inputs
        if _run(bug.buggy_source, bug.function.name, args) != _run(bug.function.source, bug.function.name, args)
    ]
    asserts = "".join(_assert(bug.function, args) for args in shows)
    return f"\n\ndef test_{bug.function.name}_regression_{bug.index}():\n{asserts}"


def make_repo(root: Path, bugs: list[Bug]) -> tuple[Path, dict[str, dict[str, str]]]:
    """The repository (clean commit on main, one branch per bug); returns it and each bug's commits and diffs."""
    repo = root / "minilib"
    functions = list(dict.fromkeys(b.function for b in bugs))
    if not (repo / ".git").exists():
        _write_clean(repo, functions, bugs)
        _git(repo, "init", "-q", "--initial-branch=main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "minilib 0.3.0")
    clean = _git(repo, "rev-parse", "main").strip()
    out = {}
    for bug in bugs:
        branch = f"bug/{bug.function.module}-{bug.index}"
        if not _git(repo, "branch", "--list", branch).strip():
            _plant(repo, clean, branch, bug)
        fix, base = _git(repo, "rev-parse", branch, f"{branch}~1").split()
        out[bug.instance_id] = {
            "env": clean,
            "base": base,
            "patch": _git(repo, "diff", base, fix, "--", "src"),
            "test_patch": _git(repo, "diff", base, fix, "--", "tests"),
        }
    return repo, out


def _write_clean(repo: Path, functions: list[Function], bugs: list[Bug]) -> None:
    (repo / "src/minilib").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "README.md").write_text("# minilib\n\nSmall helpers for numbers, text and lists.\n")
    (repo / "src/minilib/__init__.py").write_text('"""Small helpers for numbers, text and lists."""\n')
    for function in functions:
        mine = [b for b in bugs if b.function == function]
        (repo / f"src/minilib/{function.module}.py").write_text(function.source)
        (repo / f"tests/test_{function.module}.py").write_text(_tests_for(function, _agreeing(function, mine)))


def _plant(repo: Path, clean: str, branch: str, bug: Bug) -> None:
    _git(repo, "checkout", "-q", "-b", branch, clean)
    (repo / bug.path).write_text(bug.buggy_source)
    _git(repo, "commit", "-qam", f"Tidy up {bug.function.name}")
    (repo / bug.path).write_text(bug.function.source)
    test_file = repo / f"tests/test_{bug.function.module}.py"
    test_file.write_text(test_file.read_text() + _regression_test(bug))
    _git(repo, "commit", "-qam", f"Fix {bug.function.name} ({bug.instance_id})")
    _git(repo, "checkout", "-q", "main")


def make_task(bug: Bug, commits: dict[str, str]) -> Task:
    return Task(
        instance_id=bug.instance_id,
        repo=REPO,
        base_commit=commits["base"],
        patch=commits["patch"],
        test_patch=commits["test_patch"],
        problem_statement=issue_text(bug),
        created_at=DATE,
        version="0.3",
        environment_setup_commit=commits["env"],
        environment=Environment(
            python="3.11", install=["uv pip install -e ."], packages=["pytest"], log_parser="pytest"
        ),
        extra={"split": split_of(bug), "family": "minilib", "module": bug.function.module},
    )


def family_digest() -> str:
    """Changes when the family's functions or bugs change (a store made by another version is stale)."""
    text = "".join(f"{b.instance_id}|{b.buggy_line}|{b.line}" for b in all_bugs())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env={**os.environ, **_GIT_ENV}
    ).stdout
