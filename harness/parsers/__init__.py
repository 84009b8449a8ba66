"""Log parsers: a test run's output -> {test id: TestStatus}, by parser name.

    parse("pytest", log, junit_xml)   # statuses from the JUnit XML only; the log just helps name tests
    parse("pytest", log)              # from `-rA` / `-v` lines (any printed line can fake these)
    parse("django", log)              # Django runtests.py --verbosity 2
    parse("sympy", log)               # sympy bin/test --verbose
    parse("unittest", log)            # python -m unittest -v
    parse("node", log, report)        # JavaScript: node --test, jest, vitest, mocha read their own report only

Look a test up with `lookup` (or TestRun.status_of): it also matches other spellings of an id
(Python 3.11+'s long unittest names, sympy names with a path, ids SWE-bench cut at a space).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swefarm.harness.parsers.base import ParseError
from swefarm.harness.parsers.django_log import lookup_django, parse_django_log
from swefarm.harness.parsers.js_reports import parse_jest_json, parse_mocha_json, parse_node_report
from swefarm.harness.parsers.junit import parse_junit
from swefarm.harness.parsers.pytest_log import lookup_pytest, parse_pytest_log
from swefarm.harness.parsers.sympy_log import bare_name, lookup_sympy, parse_sympy_log
from swefarm.harness.parsers.unittest_log import lookup_unittest, parse_unittest_log, short_id
from swefarm.harness.results import TestStatus

__all__ = ["PARSERS", "LogParser", "ParseError", "TestIndex", "lookup", "parse"]

Statuses = dict[str, TestStatus]


@dataclass(frozen=True)
class LogParser:
    """A named parser: how to read a run's output and how to find a test id in what it read."""

    name: str
    parse: Callable[[str, str | None], Statuses]
    lookup: Callable[[Statuses, str], TestStatus | None]
    key: Callable[[str], str] = str  # one key for every spelling `lookup` matches (an index; lookup decides)
    reads_junit: bool = False  # reads the structured report the run wrote (JUnit XML, or a JS runner's report)


def _pytest(log: str, junit_xml: str | None) -> Statuses:
    if junit_xml is None:
        return parse_pytest_log(log)
    from_log = parse_pytest_log(log)
    statuses = parse_junit(junit_xml, hints=from_log)
    # JUnit XML cannot tell a non-strict XPASS from a pass; the log may only make a pass worse, never better.
    for test, status in statuses.items():
        if status == TestStatus.PASSED and from_log.get(test) == TestStatus.XPASS:
            statuses[test] = TestStatus.XPASS
    return statuses


def _log_only(parse_log: Callable[[str], Statuses]) -> Callable[[str, str | None], Statuses]:
    return lambda log, junit_xml=None: parse_log(log)


def _report_only(parse_report: Callable[[str], Statuses]) -> Callable[[str, str | None], Statuses]:
    """A JS runner's parser: statuses from its report alone (the log is never read); no report, no statuses."""
    return lambda log, report=None: parse_report(report) if report is not None else {}


def _exact(statuses: Statuses, test_id: str) -> TestStatus | None:
    return statuses.get(test_id)


def _first_word(test_id: str) -> str:
    return test_id.split(None, 1)[0] if test_id.strip() else test_id


PARSERS: dict[str, LogParser] = {
    "pytest": LogParser("pytest", _pytest, lookup_pytest, _first_word, reads_junit=True),
    "django": LogParser("django", _log_only(parse_django_log), lookup_django, short_id),
    "sympy": LogParser("sympy", _log_only(parse_sympy_log), lookup_sympy, bare_name),
    "unittest": LogParser("unittest", _log_only(parse_unittest_log), lookup_unittest, short_id),
    "node": LogParser("node", _report_only(parse_node_report), _exact, reads_junit=True),
    "jest": LogParser("jest", _report_only(parse_jest_json), _exact, reads_junit=True),
    "vitest": LogParser("vitest", _report_only(parse_jest_json), _exact, reads_junit=True),
    "mocha": LogParser("mocha", _report_only(parse_mocha_json), _exact, reads_junit=True),
}


def get_parser(name: str) -> LogParser:
    """The parser called `name`; ValueError naming the known ones otherwise."""
    try:
        return PARSERS[name]
    except KeyError:
        raise ValueError(f"unknown log parser {name!r}; known: {', '.join(PARSERS)}") from None


def parse(parser: str, log: str, junit_xml: str | None = None) -> Statuses:
    """Each test's status from a run's output. The pytest parser reads `junit_xml`, the JS parsers only the
    report given there (their runner's own); the others ignore it.

    Raises ParseError when JUnit XML is given but empty or malformed, ValueError for an unknown parser.
    """
    return get_parser(parser).parse(log or "", junit_xml)


def lookup(parser: str, statuses: Statuses, test_id: str) -> TestStatus | None:
    """`test_id`'s status in `statuses` (as `parser` produced them), or None when the run did not report it."""
    return get_parser(parser).lookup(statuses, test_id)


class TestIndex:
    """Many lookups in one set of statuses, fast: ids are grouped by the parser's key, and only a test's
    group is searched (`lookup` over all of them is linear per test)."""

    __test__ = False  # not a pytest test class

    def __init__(self, parser: str, statuses: Statuses):
        self.parser = get_parser(parser)
        self.groups: dict[str, Statuses] = {}
        for test, status in statuses.items():
            self.groups.setdefault(self.parser.key(test), {})[test] = status

    def find(self, test_id: str) -> TestStatus | None:
        """Like `lookup(parser, statuses, test_id)`."""
        return self.parser.lookup(self.groups.get(self.parser.key(test_id), {}), test_id)
