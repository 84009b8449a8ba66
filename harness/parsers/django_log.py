"""Django's runner (`tests/runtests.py --verbosity 2 --parallel 1`): unittest's verbose format.

Django 3.x prints `test_foo (app.tests.FooTests) ... ok`, Django 4+/5 on Python 3.11+ prints
`test_foo (app.tests.FooTests.test_foo) ... ok`; ids are kept as printed, which is what SWE-bench's
test lists hold for each version, and `lookup_django` matches either spelling (the worse status
wins, so a line a test prints in the other spelling cannot hide a failure). Lines Django itself
interleaves (migrations `Applying x... OK`, `System check identified no issues (0 silenced).`,
`Internal Server Error: /x/` logged by a test) are skipped, and an outcome printed on a later line
is given to the test that was running.
"""

from __future__ import annotations

from swefarm.harness.parsers.unittest_log import lookup_unittest, parse_unittest_log
from swefarm.harness.results import TestStatus


def parse_django_log(log: str) -> dict[str, TestStatus]:
    """Test id (`test_foo (app.tests.FooTests)` as printed, or a docstring's first line) -> status."""
    return parse_unittest_log(log)


def lookup_django(statuses: dict[str, TestStatus], test_id: str) -> TestStatus | None:
    """A test's status under either spelling of its id (with or without the method repeated)."""
    return lookup_unittest(statuses, test_id)
