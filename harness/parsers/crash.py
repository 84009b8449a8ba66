"""Why a test run reported nothing, and which test modules failed to import.

    collection_errors({"tests/test_x.py": ERROR, "tests/test_y.py::t": PASSED})   # ["tests/test_x.py"]
    crash_cause(log, exit_code)       # "ModuleNotFoundError: No module named 'foo' (exit code 2)"

A module that cannot be imported shows up as one entry per runner: pytest's JUnit XML reports it
under its file path (no `::`), sympy's runner as `path[?] Failed to import` (the sympy parser keys it
by path), unittest and Django as a test of `unittest.loader._FailedTest` (or `ModuleImportFailure`
on Python 2's unittest) named after the module.
"""

from __future__ import annotations

import re

from swefarm.harness.parsers.base import clean_lines
from swefarm.harness.results import TestStatus

#: A test file's own entry (no test named) in a report: it did not load (Python, JavaScript, TypeScript).
_SOURCES = (".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_FAILED_IMPORT = re.compile(r"^(?P<module>\w+) \(unittest\.loader\.(?:_FailedTest|ModuleImportFailure)(?:\.\w+)?\)$")
_TIMEOUT = re.compile(r"\[swefarm: killed after [^\]]+\]")
_PYTEST_E = re.compile(r"^E\s+(?P<text>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?::.*)?)$")
_PYTEST_ERRORS = (
    re.compile(r"^(?P<text>ERROR: (?:file or directory not found|not found|usage|found no collectors).*)$"),
    re.compile(r"^(?P<text>ImportError while loading conftest .*)$"),
    re.compile(r"^\S*: error: (?P<text>.+)$"),  # argparse: `pytest: error: unrecognized arguments: -p`
    re.compile(r"^INTERNALERROR> (?P<text>\S.*)$"),
)
_NOT_FOUND = re.compile(r"^(?P<text>.*(?:No module named \S+|command not found|No such file or directory).*)$")
_NOTHING = re.compile(r"^(?:=+ )?(?P<text>no tests ran|collected 0 items|Ran 0 tests)\b")
#: pytest's exit codes that mean no test ran.
_PYTEST_EXITS = {2: "pytest was interrupted", 3: "pytest hit an internal error", 4: "pytest was misused", 5: "no tests"}


def collection_errors(statuses: dict[str, TestStatus]) -> list[str]:
    """The entries of `statuses` that stand for a whole test module that could not be imported."""
    out = []
    for test, status in statuses.items():
        if status != TestStatus.ERROR:
            continue
        if (test.endswith(_SOURCES) and "::" not in test and " " not in test) or _FAILED_IMPORT.match(test):
            out.append(test)
    return sorted(out)


def module_of(entry: str) -> str:
    """The module a collection-error entry names: its path, or unittest's module name."""
    match = _FAILED_IMPORT.match(entry)
    return match["module"] if match else entry


def crash_cause(log: str, exit_code: int | None, parser: str = "pytest") -> str:
    """One line saying why a run produced no (or no usable) results, read from its output and exit code.

    The timeout note the sandbox prints wins; then the exception that ended the last Python traceback
    (`KeyError: 'BREAK_LOOP'`) or pytest's last `E   ModuleNotFoundError: ...` line; then pytest's own
    errors (usage, missing files, a conftest that does not import), a missing module or command;
    then "no tests ran"; else the last line printed.
    """
    raw = [line for line in clean_lines(log or "") if line.strip()]
    lines = [line.strip() for line in raw]
    code = f"exit code {exit_code}" if exit_code is not None else "no exit code"
    if match := _TIMEOUT.search("\n".join(lines)):
        return f"the test run timed out: {match.group(0)[1:-1].removeprefix('swefarm: ')}"
    found = _raised(raw) or _pytest_error(lines) or _last(lines, _PYTEST_ERRORS) or _last(lines, (_NOT_FOUND,))
    if found or (found := _last(lines, (_NOTHING,))):
        return f"{found} ({code})"
    last = _short(lines[-1]) if lines else "(no output)"
    if exit_code in _PYTEST_EXITS and parser == "pytest":  # other runners' codes mean other things
        return f"{_PYTEST_EXITS[exit_code]} ({code}); last line: {last}"
    return f"{code}; last line: {last}"


def _raised(lines: list[str]) -> str:
    """The exception line of the last Python traceback: its first unindented line after the frames."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return ""
    for line in lines[starts[-1] + 1 :]:
        if not line[:1].isspace():
            return _short(line.strip())
    return ""


def _pytest_error(lines: list[str]) -> str:
    """The exception pytest reported last: the first `E   Name: message` line of its last `E` block (the
    block's other lines continue the message)."""
    end = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("E ")), None)
    if end is None:
        return ""
    start = end
    while start > 0 and lines[start - 1].startswith("E "):
        start -= 1
    for line in lines[start : end + 1]:
        if match := _PYTEST_E.match(line):
            return _short(match["text"].strip())
    return ""


def _last(lines: list[str], patterns) -> str:
    for line in reversed(lines):
        for pattern in patterns:
            if match := pattern.match(line):
                return _short(match["text"].strip())
    return ""


def _short(text: str, most: int = 240) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."
