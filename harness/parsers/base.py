"""What every log parser shares: the error it raises and how it records statuses."""

from __future__ import annotations

import re

from swefarm.harness.results import TestStatus, worse

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ParseError(ValueError):
    """A test report that cannot be read (malformed or empty JUnit XML): an infrastructure error, not a score."""


def record(statuses: dict[str, TestStatus], test_id: str, status: TestStatus) -> None:
    """Record `status` for `test_id`; a test reported twice keeps the worse of the two."""
    statuses[test_id] = worse(statuses.get(test_id), status)


def clean_lines(log: str) -> list[str]:
    """The log's lines without colour codes, carriage returns or trailing blanks."""
    return [_ANSI.sub("", line).rstrip() for line in log.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
