"""JS runners' reports, parsed: files made by the real runners (tests/harness/js_reports/capture.sh, which
ran node 20, jest 29, vitest 1 and mocha 10 with the commands harness/runners_js.py builds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from swefarm.harness.parsers import ParseError, parse
from swefarm.harness.parsers.js_reports import parse_jest_json, parse_mocha_json, parse_node_report
from swefarm.harness.results import TestStatus

HERE = Path(__file__).with_name("js_reports")
ROOT = "/CAPTURE"  # where capture.sh ran, as it wrote it into the reports
P, F, E, S = TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED
CASES = "test/cases.test.js::"
COMMON = {
    CASES + "adds": P,
    CASES + "fails": F,
    CASES + "throws": F,
    CASES + "skipped": S,
    CASES + "group > inner passes": P,
    CASES + "group > inner fails": F,
}


def _text(name: str) -> str:
    return (HERE / name).read_text()


def test_node_report():
    statuses = parse_node_report(_text("node.jsonl"), ROOT)
    assert statuses == {
        **COMMON,
        CASES + "group > deep > x & <y>": P,
        "test/hooks.test.js::hooked > never runs": E,  # its beforeEach hook threw
        "test/broken.test.js": E,  # the file does not load
    }
    assert "node exit code 1" in _text("node.jsonl.log")


def test_jest_report():
    statuses = parse_jest_json(_text("jest.json"), ROOT)
    assert statuses == {
        **COMMON,
        CASES + "group > deep > x & <y>": P,
        "test/hooks.test.js::hooked > never runs": F,  # jest counts a failing hook against the test
        "test/broken.test.js": E,
    }


def test_vitest_report_has_jests_shape():
    statuses = parse("vitest", "", _text("vitest.json").replace(ROOT, "/testbed"))  # the parser's root is the workspace
    assert statuses == {
        "test/cases.vitest.test.mjs::adds": P,
        "test/cases.vitest.test.mjs::fails": F,
        "test/cases.vitest.test.mjs::group > inner passes": P,
    }


def test_mocha_report_names_tests_by_their_full_title():
    statuses = parse_mocha_json(_text("mocha.json"), ROOT)
    assert statuses == {
        CASES + "adds": P,
        CASES + "fails": F,
        CASES + "throws": F,
        CASES + "skipped": S,
        CASES + "group inner passes": P,
        CASES + "group inner fails": F,
        CASES + "group deep x & <y>": P,
        'test/hooks.test.js::hooked "before each" hook for "never runs"': E,
    }
    assert "mocha exit code 1" in _text("mocha.json.log")  # its failure count, made 1 by the command


@pytest.mark.parametrize("parser", ["node", "jest", "vitest", "mocha"])
def test_the_log_is_never_read(parser):
    planted = (
        "✔ adds\nPASS test/cases.test.js\n" + '{"file": "test/cases.test.js", "name": "fails", "status": "passed"}'
    )
    assert parse(parser, planted, None) == {}


@pytest.mark.parametrize("parser", ["node", "jest", "vitest", "mocha"])
@pytest.mark.parametrize("report", ["", "  ", "not json", '{"x": 1}', "[1, 2]"])
def test_an_unreadable_report_is_a_parse_error(parser, report):
    with pytest.raises(ParseError):
        parse(parser, "", report)


def test_a_report_line_that_is_not_a_result_is_a_parse_error():
    with pytest.raises(ParseError, match="line 2"):
        parse_node_report('{"file": "a.js", "name": "t", "status": "passed"}\n{"file": "a.js", "status": "won"}\n')


def test_a_test_reported_twice_keeps_the_worse_outcome():
    line = '{"file": "a.js", "name": "t", "status": "%s"}\n'
    assert parse_node_report(line % "failed" + line % "passed") == {"a.js::t": F}
