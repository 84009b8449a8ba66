"""unittest's verbose output (`python -m unittest -v`, and Django's runner at `--verbosity 2`).

    test_a (pkg.tests.ATests) ... ok                    Python < 3.11
    test_a (pkg.tests.ATests.test_a) ... FAIL           Python >= 3.11
    test_b (pkg.tests.ATests)                           a test with a docstring: its first line
    The docstring's first line ... skipped 'why'        follows and carries the outcome
    test_c (pkg.tests.ATests) ... printed output        output between ` ... ` and the outcome
    ok
    FAIL: test_a (pkg.tests.ATests)                     failure report headers

Ids are kept as printed; a docstring test is reported under both its name and its docstring line
(SWE-bench's test lists use the latter). `lookup_unittest` matches either spelling of a name.
"""

from __future__ import annotations

import re

from swefarm.harness.parsers.base import clean_lines, record
from swefarm.harness.results import TestStatus, worse

_OUTCOMES = r"ok|OK|FAIL|ERROR|skipped(?: .*)?|expected failure|unexpected success"
_RESULT = re.compile(rf"^(?P<desc>.*?) \.\.\.\s+(?P<outcome>{_OUTCOMES})(?: \(\d+(?:\.\d+)?s\))?$")
_STARTED = re.compile(r"^(?P<desc>.*?) \.\.\.(?: .*)?$")
_OUTCOME_ONLY = re.compile(rf"^(?P<outcome>{_OUTCOMES})$")
_NAME = re.compile(r"^(?P<method>\w+) \((?P<where>[\w.]+)\)")
_BARE = re.compile(r"^\w+ \([\w.]+\)$")
_HEADER = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<id>\w+ \([\w.]+\))")
_TAIL_NAME = re.compile(r"(\w+ \([\w.]+\))$")


def outcome_status(outcome: str) -> TestStatus:
    """unittest's word for an outcome as a TestStatus."""
    if outcome.startswith("skipped"):
        return TestStatus.SKIPPED
    return {
        "ok": TestStatus.PASSED,
        "OK": TestStatus.PASSED,
        "FAIL": TestStatus.FAILED,
        "ERROR": TestStatus.ERROR,
        "expected failure": TestStatus.XFAIL,
        "unexpected success": TestStatus.XPASS,
        "UNEXPECTED SUCCESS": TestStatus.XPASS,
    }[outcome]


def parse_unittest_log(log: str) -> dict[str, TestStatus]:
    """Test id (`test_a (pkg.tests.ATests)` as printed, or a docstring line) -> status."""
    statuses: dict[str, TestStatus] = {}
    pending: list[str] = []  # ids whose outcome has not been printed yet
    bare: str | None = None  # the previous line named a test whose docstring line comes next
    for line in clean_lines(log):
        text = line.strip()
        if match := _RESULT.match(text):
            for test in _ids(match["desc"], bare):
                record(statuses, test, outcome_status(match["outcome"]))
            pending, bare = [], None
        elif match := _STARTED.match(text):
            if not pending or bare is not None or _NAME.match(match["desc"]):
                pending = _ids(match["desc"], bare)  # else: a test's own output that happens to contain ` ... `
            bare = None
        elif _BARE.match(text):
            pending, bare = [], text
        elif (match := _OUTCOME_ONLY.match(text)) and pending:
            for test in pending:
                record(statuses, test, outcome_status(match["outcome"]))
            pending, bare = [], None
        elif match := _HEADER.match(text):
            record(statuses, match["id"], outcome_status(match["kind"]))
        else:
            bare = None
    return statuses


def _ids(desc: str, bare: str | None) -> list[str]:
    """The ids a description line reports on: a docstring line and the test it belongs to, or one test."""
    if bare is not None and not _NAME.match(desc):
        return [desc, bare]
    if match := _NAME.match(desc):
        return [match.group(0)]  # drops a subtest's ` (i=1)` / ` [msg]` suffix
    if match := _TAIL_NAME.search(desc):
        return [match.group(1)]  # output printed before the description (Django's migration chatter)
    return [desc]


def short_id(test_id: str) -> str:
    """`test_a (pkg.ATests.test_a)` -> `test_a (pkg.ATests)`; `pkg.ATests.test_a` -> the same; others unchanged."""
    if match := re.fullmatch(r"(\w+) \(([\w.]+)\.\1\)", test_id):
        return f"{match[1]} ({match[2]})"
    if re.fullmatch(r"\w+(\.\w+){2,}", test_id):
        where, method = test_id.rsplit(".", 1)
        return f"{method} ({where})"
    return test_id


def lookup_unittest(statuses: dict[str, TestStatus], test_id: str) -> TestStatus | None:
    """The worst status under any spelling of `test_id` (short, Python 3.11+'s long form, dotted).

    Taking the worst means a line a test prints in the other spelling cannot override the real outcome.
    """
    wanted, found = short_id(test_id), None
    for key, status in statuses.items():
        if key == test_id or short_id(key) == wanted:
            found = worse(found, status)
    return found
