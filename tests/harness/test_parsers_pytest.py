"""The pytest parser against real pytest runs: JUnit XML first, `-rA` / `-v` lines as the fallback.

A fixture project with awkward parametrised ids and every outcome runs in a subprocess through
the command `test_command` builds; the ids parsed must be exactly those `pytest --collect-only`
reports, with the statuses pytest gave them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from swefarm.harness.parsers import ParseError, lookup, parse
from swefarm.harness.parsers.junit import mangle, parse_junit
from swefarm.harness.parsers.pytest_log import summary_id
from swefarm.harness.results import TestRun, TestStatus
from swefarm.harness.runners import test_command

DEMO = """import pytest

from tests.mixins import Base


@pytest.mark.parametrize("x", ["a b", "[x]", "é", "a::b", "x - y", "a]b", ""])
def test_param(x):
    assert x != "x - y"


@pytest.fixture
def broken():
    raise RuntimeError("fixture boom")


def test_fixture_error(broken):
    pass


def test_skip():
    pytest.skip("why not")


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="flaky")
def test_xpass():
    pass


@pytest.mark.xfail(strict=True, reason="strict")
def test_xpass_strict():
    pass


@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown boom")


def test_teardown_error(bad_teardown):
    pass


class TestThing:
    def test_planted(self):
        print("PASSED tests/sub/test_demo.py::TestThing::test_fails")
        print("PASSED tests/sub/test_ghost.py::test_ghost")

    def test_fails(self):
        assert 1 == 2

    class TestInner:
        @pytest.mark.parametrize("n", [1, 2])
        def test_inner(self, n):
            pass


class TestChild(Base):
    pass
"""
MIXINS = "class Base:\n    def test_inherited(self):\n        pass\n"
BROKEN = "import nonexistent_module_xyz\n\n\ndef test_never():\n    pass\n"
D = "tests/sub/test_demo.py::"
EXPECTED = {
    D + "test_param[a b]": TestStatus.PASSED,
    D + "test_param[[x]]": TestStatus.PASSED,
    D + "test_param[\\xe9]": TestStatus.PASSED,  # pytest escapes non-ASCII ids
    D + "test_param[a::b]": TestStatus.PASSED,
    D + "test_param[x - y]": TestStatus.FAILED,
    D + "test_param[a]b]": TestStatus.PASSED,
    D + "test_param[]": TestStatus.PASSED,
    D + "test_fixture_error": TestStatus.ERROR,
    D + "test_skip": TestStatus.SKIPPED,
    D + "test_xfail": TestStatus.XFAIL,
    D + "test_xpass": TestStatus.XPASS,
    D + "test_xpass_strict": TestStatus.FAILED,
    D + "test_teardown_error": TestStatus.ERROR,  # passed, then its teardown failed
    D + "TestThing::test_planted": TestStatus.PASSED,
    D + "TestThing::test_fails": TestStatus.FAILED,
    D + "TestThing::TestInner::test_inner[1]": TestStatus.PASSED,
    D + "TestThing::TestInner::test_inner[2]": TestStatus.PASSED,
    D + "TestChild::test_inherited": TestStatus.PASSED,  # defined in tests/mixins.py
}


class Project:
    """The fixture project on disk, and a way to run shell commands in it with this venv's python."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"

    def sh(self, command: str) -> tuple[int, str]:
        proc = subprocess.run(
            ["bash", "-c", command], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120
        )
        return proc.returncode, proc.stdout + proc.stderr

    def run(self, tests: list[str]) -> tuple[int, str, str]:
        junit = self.root / "report.xml"
        code, log = self.sh(test_command("pytest", tests, junit_path=str(junit)))
        return code, log, junit.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("pytest-project")
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "tests/sub").mkdir(parents=True)
    for path, text in {
        "tests/__init__.py": "",
        "tests/sub/__init__.py": "",
        "tests/mixins.py": MIXINS,
        "tests/sub/test_demo.py": DEMO,
        "tests/test_broken.py": BROKEN,
    }.items():
        (root / path).write_text(text, encoding="utf-8")
    return Project(root)


@pytest.fixture(scope="module")
def collected(project) -> list[str]:
    code, out = project.sh("python -m pytest --collect-only -q -p no:cacheprovider tests/sub")
    assert code == 0, out
    return [line for line in out.splitlines() if "::" in line]


@pytest.fixture(scope="module")
def full_run(project, collected) -> tuple[int, str, str]:
    return project.run(collected)


def test_the_fixture_collects_what_the_expectations_name(collected):
    assert sorted(collected) == sorted(EXPECTED)


def test_junit_gives_exactly_the_collected_ids_with_their_statuses(full_run):
    code, log, xml = full_run
    assert code == 1
    assert parse("pytest", log, xml) == EXPECTED


def test_the_summary_lines_give_the_same_statuses_but_skips(full_run):
    _, log, _ = full_run
    # `-rA` names a skip by its location (`SKIPPED [1] tests/x.py:20: why`), not by node id;
    # and the log believes the line test_planted printed about a test that does not exist
    expected = {k: v for k, v in EXPECTED.items() if v != TestStatus.SKIPPED}
    assert parse("pytest", log) == {**expected, "tests/sub/test_ghost.py::test_ghost": TestStatus.PASSED}


def test_verbose_lines_give_every_status(project, collected):
    from shlex import quote

    _, log = project.sh("python -m pytest -v -p no:cacheprovider " + " ".join(quote(t) for t in collected))
    assert f"{D}test_param[a b] PASSED" in log
    assert parse("pytest", log) == EXPECTED


def test_a_planted_passed_line_does_not_beat_the_junit_report(full_run):
    _, log, xml = full_run
    assert f"PASSED {D}TestThing::test_fails" in log.splitlines()  # printed by test_planted
    statuses = parse("pytest", log, xml)
    assert statuses[D + "TestThing::test_fails"] == TestStatus.FAILED
    assert "tests/sub/test_ghost.py::test_ghost" not in statuses
    # the console log alone is fooled by a test that never ran: this is why the grader reads the XML
    assert parse("pytest", log)["tests/sub/test_ghost.py::test_ghost"] == TestStatus.PASSED


def test_without_the_log_a_non_strict_xpass_reads_as_a_pass(full_run):
    _, _, xml = full_run
    statuses = parse("pytest", "", xml)
    assert statuses[D + "test_xpass"] == TestStatus.PASSED  # JUnit XML has no word for it
    assert statuses[D + "test_xpass_strict"] == TestStatus.FAILED


def test_a_collection_error_is_an_error_for_the_file_and_the_rest_still_runs(project):
    code, log, xml = project.run(["tests/test_broken.py", D + "TestChild::test_inherited", D + "test_skip"])
    assert code == 1
    expected = {
        "tests/test_broken.py": TestStatus.ERROR,
        D + "TestChild::test_inherited": TestStatus.PASSED,
        D + "test_skip": TestStatus.SKIPPED,
    }
    assert parse("pytest", log, xml) == expected
    assert parse("pytest", log)["tests/test_broken.py"] == TestStatus.ERROR


def test_ids_pytest_rejects_fall_back_to_running_their_files(project):
    truncated = D + "test_param[a"  # how SWE-bench's whitespace-splitting parser records `test_param[a b]`
    code, log, xml = project.run([truncated, D + "test_skip"])
    assert "rejected the test ids" in log and code == 1  # the file run's exit code
    statuses = parse("pytest", log, xml)
    assert statuses == EXPECTED  # the whole file ran
    assert lookup("pytest", statuses, truncated) == TestStatus.PASSED
    assert lookup("pytest", statuses, D + "test_param[a c]") is None


def test_xunit2_reports_without_file_attributes_map_back_to_node_ids(project, collected):
    from shlex import quote

    ids = " ".join(quote(t) for t in collected)
    project.sh(f"python -m pytest -p no:cacheprovider -o junit_family=xunit2 --junitxml=x2.xml {ids}")
    xml = (project.root / "x2.xml").read_text(encoding="utf-8")
    statuses = parse("pytest", "", xml)  # no log: module/class split guessed from capitalisation
    assert statuses == {**EXPECTED, D + "test_xpass": TestStatus.PASSED}


def test_a_missing_test_has_no_status_and_does_not_pass(full_run):
    code, log, xml = full_run
    run = TestRun.from_output("pytest", log, xml, exit_code=code, duration=1.5)
    assert run.source == "junit" and run.exit_code == 1
    assert run.status_of(D + "test_not_there") is None
    assert not run.passed(D + "test_not_there")
    assert run.passed(D + "test_xfail") and run.passed(D + "test_param[a b]")
    assert not run.passed(D + "test_xpass") and not run.passed(D + "test_skip")


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "   \n",
        "<testsuites><testsuite><testcase name='x'",
        "not xml at all",
        "<html><body>oops</body></html>",
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites/>',
        "<testsuites><testsuite><testcase classname='a'/></testsuite></testsuites>",
    ],
    ids=["empty", "blank", "truncated", "text", "not junit", "entities", "nameless case"],
)
def test_unreadable_junit_xml_raises_a_parse_error(xml):
    with pytest.raises(ParseError):
        parse("pytest", "PASSED tests/x.py::test_a", xml)


def test_a_report_with_no_test_cases_is_an_empty_result_not_an_error():
    assert parse("pytest", "", '<testsuites><testsuite name="pytest" tests="0"/></testsuites>') == {}


def test_a_test_reported_twice_keeps_the_worse_status():
    xml = (
        "<testsuite>"
        '<testcase classname="tests.test_x" name="test_a" file="tests/test_x.py"/>'
        '<testcase classname="tests.test_x" name="test_a" file="tests/test_x.py"><failure message="m"/></testcase>'
        '<testcase classname="tests.test_x" name="test_a" file="tests/test_x.py"/>'
        "</testsuite>"
    )
    assert parse_junit(xml) == {"tests/test_x.py::test_a": TestStatus.FAILED}


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("tests/x.py::test_a", "tests/x.py::test_a"),
        ("tests/x.py::test_a - assert 1 == 2", "tests/x.py::test_a"),
        ("tests/x.py::test_a[a b] - AssertionError: a - b", "tests/x.py::test_a[a b]"),
        ("tests/x.py::test_a[x - y] - assert 'x ...", "tests/x.py::test_a[x - y]"),
        ("tests/x.py::test_a[[x]]", "tests/x.py::test_a[[x]]"),
        ("tests/x.py::test_a[a]b]", "tests/x.py::test_a[a]b]"),
        ("tests/x.py::test_a[a::b] - boom", "tests/x.py::test_a[a::b]"),
        ("tests/x.py::T::test_b[1-2] - boom", "tests/x.py::T::test_b[1-2]"),
        ("tests/x.py - ImportError: no module", "tests/x.py"),
    ],
)
def test_summary_ids_are_cut_where_the_message_starts(rest, expected):
    assert summary_id(rest) == expected


def test_pytest_7_xpass_lines_put_the_reason_after_a_space():
    assert summary_id("tests/x.py::test_a[p 1] flaky reason", loose=True) == "tests/x.py::test_a[p 1]"
    assert parse("pytest", "XPASS tests/x.py::test_a[p 1] flaky")["tests/x.py::test_a[p 1]"] == TestStatus.XPASS


def test_xdist_and_colour_decorations_are_ignored():
    log = "\x1b[32m[gw0] [ 50%] PASSED tests/x.py::test_a[p 1] \x1b[0m\n[gw1] [100%] FAILED tests/x.py::test_b\n"
    assert parse("pytest", log) == {
        "tests/x.py::test_a[p 1]": TestStatus.PASSED,
        "tests/x.py::test_b": TestStatus.FAILED,
    }


def test_mangle_matches_pytests_own_classname_and_name():
    assert mangle("tests/sub/test_x.py::TestA::test_b[a::b c]") == ("tests.sub.test_x.TestA", "test_b[a::b c]")
    assert mangle("tests/test_x.py::test_c") == ("tests.test_x", "test_c")
