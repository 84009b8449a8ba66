"""pytest's console output: `-rA` short-summary lines and `-v` per-test lines.

Used only when no JUnit XML exists: any line a test prints can imitate these, so the grader
reads JUnit XML instead (see junit.py). A repeated report of a test keeps the worse status.
"""

from __future__ import annotations

import re

from swefarm.harness.parsers.base import clean_lines, record
from swefarm.harness.results import TestStatus, worse

_WORDS = {s.name: s for s in TestStatus}
_WORD = "|".join(_WORDS)
_XDIST = re.compile(r"^\[gw\d+\]\s+(?:\[\s*\d+%\]\s+)?")
_SUMMARY = re.compile(rf"^(?P<word>{_WORD}) (?P<rest>\S.*)$")
# `path::name[params] WORD (reason)   [ 42%]`; the id is greedy so a parameter may contain spaces
_VERBOSE = re.compile(rf"^(?P<id>[^\s:][^\s]*?::.+) (?P<word>{_WORD})(?: \(.*\))?(?:\s+\[[^\]]*\])?$")
_SKIP_LOCATION = re.compile(r"^\[\d+\] ")


def parse_pytest_log(log: str) -> dict[str, TestStatus]:
    """Node id -> status from `-rA` summary lines (`FAILED tests/x.py::t[a b] - msg`) and `-v` lines."""
    statuses: dict[str, TestStatus] = {}
    for line in clean_lines(log):
        line = _XDIST.sub("", line)
        if match := _SUMMARY.match(line):
            rest = match["rest"]
            if _SKIP_LOCATION.match(rest):
                continue  # `SKIPPED [1] tests/x.py:12: reason` names a location, not a test
            record(statuses, summary_id(rest, loose=match["word"] == "XPASS"), _WORDS[match["word"]])
        elif match := _VERBOSE.match(line):
            record(statuses, match["id"], _WORDS[match["word"]])
    return statuses


def summary_id(rest: str, loose: bool = False) -> str:
    """The node id at the start of a summary line's remainder: `id`, `id - message` (or `id reason`, if loose).

    Without parameters the id ends at the first space. With them it ends at the first `]` that closes
    the parameters and is followed by the end of the line or ` - `, so `t[a - b] - msg`, `t[[x]]`
    and `t[a]b]` all come out whole.
    """
    bracket, space = rest.find("["), rest.find(" ")
    if bracket == -1 or -1 < space < bracket:
        return rest.split(" ", 1)[0]
    depth = 0
    for i in range(bracket, len(rest)):
        if rest[i] == "[":
            depth += 1
        elif rest[i] == "]":
            depth -= 1
            end = i + 1 == len(rest) or rest.startswith(" - ", i + 1) or (loose and rest[i + 1] == " ")
            if depth <= 0 and end:
                return rest[: i + 1]
    return rest.split(" - ", 1)[0]


def lookup_pytest(statuses: dict[str, TestStatus], test_id: str) -> TestStatus | None:
    """Exact match, else (for an id without spaces) the tests SWE-bench's parser would have cut to it.

    SWE-bench splits summary lines on whitespace, so `t[a b]` is `t[a` in its test lists.
    """
    if test_id in statuses:
        return statuses[test_id]
    if any(c.isspace() for c in test_id):
        return None
    found = None
    for key, status in statuses.items():
        if key.split(None, 1)[0] == test_id:
            found = worse(found, status)
    return found
