"""sympy's `bin/test -C --verbose` output, keyed by bare test function name as SWE-bench's lists are.

The legacy runner (sympy < 1.12, or `--use-sympy-runner`) prints, per file:

    sympy/core/tests/test_basic.py[4]
    test_equality ok
    test_structure F
    test_huge Slow w
    test_last E                                                     [FAIL]
    ____________ sympy/core/tests/test_basic.py:test_structure ____________   (`::` since 2023)

`ok` passed, `F` failed, `E` exception, `T` timeout, `f` xfail, `X` xpass, `s`/`w`/`K` skipped
(a skip may print its reason first); a file that cannot be imported prints `path[?]   Failed to
import` and is recorded under its path as an error. From sympy 1.12 `bin/test` runs pytest; its
`path::test_name PASSED` lines are read too and keyed by the test's name.

A warning a test emits goes to stderr while its line is open, so the outcome lands lines later:

    test_warns /testbed/sympy/x.py:5: UserWarning: careful now
      warnings.warn("careful now", UserWarning)
    ok

The runner's command sets PYTHONWARNINGS to silence User and Syntax warnings as SWE-bench's does,
and the parser still gives such a test the next outcome printed on a line of its own.
"""

from __future__ import annotations

import re

from swefarm.harness.parsers.base import clean_lines, record
from swefarm.harness.parsers.pytest_log import parse_pytest_log
from swefarm.harness.results import TestStatus

_CHARS = {
    "ok": TestStatus.PASSED,
    "F": TestStatus.FAILED,
    "E": TestStatus.ERROR,
    "T": TestStatus.ERROR,
    "f": TestStatus.XFAIL,
    "X": TestStatus.XPASS,
    "s": TestStatus.SKIPPED,
    "w": TestStatus.SKIPPED,
    "K": TestStatus.SKIPPED,
}
_FILE_STATUS = re.compile(r"\s+\[(OK|FAIL)\]$")
_TEST = re.compile(r"^(?P<name>test_\w*) (?:.* )?(?P<char>ok|[FETfXswK])$")
_IMPORT_FAILED = re.compile(r"^(?P<file>\S+\.py)\[\?\]\s+Failed to import")
_HEADER = re.compile(r"^_+ (?P<file>\S+\.py)::?(?P<name>\w+) _+$")
# `test_x /path/file.py:12: UserWarning: message`: a warning broke into the test's line
_WARNING = r"\S+:\d+: (?:\w+\.)*\w*Warning: "
_INTERRUPTED = re.compile(rf"^(?P<name>test_\w*) {_WARNING}")
# what the runner prints after the warning: the outcome alone (a skip may carry its reason first)
_OUTCOME_ONLY = re.compile(r"^(?P<char>ok|[FETfXK])$|^(?:\S.* )?(?P<skip>[sw])$")


def parse_sympy_log(log: str) -> dict[str, TestStatus]:
    """Test name (`test_equality`) -> status; a file that failed to import -> error under its path."""
    statuses: dict[str, TestStatus] = {}
    pending = None  # a test whose line a warning broke: its outcome comes on a later line of its own
    for line in clean_lines(log):
        text = _FILE_STATUS.sub("", line.strip())
        if match := _INTERRUPTED.match(text):
            pending = match["name"]
        elif match := _TEST.match(text):
            record(statuses, match["name"], _CHARS[match["char"]])
            pending = None
        elif pending and not line[:1].isspace() and not re.match(_WARNING, text):
            if match := _OUTCOME_ONLY.match(text):
                record(statuses, pending, _CHARS[match["char"] or match["skip"]])
                pending = None
        elif match := _HEADER.match(text):
            record(statuses, match["name"], TestStatus.FAILED)
        elif match := _IMPORT_FAILED.match(text):
            record(statuses, match["file"], TestStatus.ERROR)
    for node_id, status in parse_pytest_log(log).items():
        record(statuses, bare_name(node_id), status)
    return statuses


def bare_name(test_id: str) -> str:
    """`sympy/x/tests/test_y.py::test_z` or `sympy/x/tests/test_y.py:test_z` -> `test_z`."""
    if "::" in test_id:
        return test_id.rsplit("::", 1)[1]
    if ".py:" in test_id:
        return test_id.rsplit(":", 1)[1]
    return test_id


def lookup_sympy(statuses: dict[str, TestStatus], test_id: str) -> TestStatus | None:
    """A test's status by bare name, or by `path::name` / `path:name`."""
    if test_id in statuses:
        return statuses[test_id]
    return statuses.get(bare_name(test_id))
