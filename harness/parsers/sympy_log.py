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


def parse_sympy_log(log: str) -> dict[str, TestStatus]:
    """Test name (`test_equality`) -> status; a file that failed to import -> error under its path."""
    statuses: dict[str, TestStatus] = {}
    for line in clean_lines(log):
        text = _FILE_STATUS.sub("", line.strip())
        if match := _TEST.match(text):
            record(statuses, match["name"], _CHARS[match["char"]])
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
