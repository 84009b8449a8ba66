"""Per-test outcomes of one test run, and SWE-bench's rule for which of them count as passing."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

#: How much of a run's output a TestRun keeps.
LOG_TAIL_CHARS = 20_000


class TestStatus(StrEnum):
    """One test's outcome, in the vocabulary every parser maps its runner's words onto."""

    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAIL = "xfail"
    XPASS = "xpass"


#: Which outcome wins when one test is reported twice (a pass then a teardown error, a rerun, a planted line).
SEVERITY = {
    TestStatus.PASSED: 0,
    TestStatus.XFAIL: 1,
    TestStatus.SKIPPED: 2,
    TestStatus.XPASS: 3,
    TestStatus.FAILED: 4,
    TestStatus.ERROR: 5,
}


def counts_as_pass(status: TestStatus | str | None) -> bool:
    """SWE-bench's rule: PASSED and XFAIL pass; everything else, a missing test (None) included, fails."""
    return status in (TestStatus.PASSED, TestStatus.XFAIL)


def worse(a: TestStatus | None, b: TestStatus) -> TestStatus:
    """The more damning of two reports of the same test (so a repeated report can never hide a failure)."""
    return b if a is None or SEVERITY[b] > SEVERITY[a] else a


class TestRun(BaseModel):
    """One run of some tests: each test's status, the exit code, which parser read it, and the log's tail."""

    __test__: ClassVar[bool] = False

    statuses: dict[str, TestStatus] = Field(default_factory=dict, description="test id -> status")
    exit_code: int | None = None
    parser: str = "pytest"
    source: str = Field("log", description="where the statuses came from: 'junit' or 'log'")
    log_tail: str = ""
    duration: float = Field(0.0, description="seconds the test command ran")

    @classmethod
    def from_output(
        cls, parser: str, log: str, junit_xml: str | None = None, *, exit_code: int | None = None, duration: float = 0.0
    ) -> TestRun:
        """Parse a run's output (raises harness.parsers.ParseError on unreadable JUnit XML)."""
        from swefarm.harness.parsers import parse

        statuses = parse(parser, log, junit_xml)
        source = "junit" if junit_xml is not None and parser == "pytest" else "log"
        tail = log[-LOG_TAIL_CHARS:]
        return cls(
            statuses=statuses, exit_code=exit_code, parser=parser, source=source, log_tail=tail, duration=duration
        )

    def status_of(self, test_id: str) -> TestStatus | None:
        """The status of `test_id`, or None when the run did not report it.

        Ids spelled another way by another tool still match: Django/unittest ids with or without the
        method repeated in the parentheses (Python 3.11+), sympy names with or without their file,
        pytest ids that SWE-bench's parser cut at the first space.
        """
        from swefarm.harness.parsers import lookup

        return lookup(self.parser, self.statuses, test_id)

    def passed(self, test_id: str) -> bool:
        """Whether `test_id` counts as passing in this run (see counts_as_pass)."""
        return counts_as_pass(self.status_of(test_id))
