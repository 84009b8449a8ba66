"""The unittest parser against a real `python -m unittest -v` run of a fixture module."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from swefarm.harness.parsers import lookup, parse
from swefarm.harness.parsers.unittest_log import short_id
from swefarm.harness.results import TestRun, TestStatus
from swefarm.harness.runners import test_command

MODULE = '''import sys
import unittest


class ATests(unittest.TestCase):
    def test_ok(self):
        pass

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise RuntimeError("boom")

    @unittest.skip("not today")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_xfail(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_xpass(self):
        pass

    def test_doc(self):
        """The docstring's first line.

        More text.
        """

    def test_noisy(self):
        sys.stderr.write("noise from the test ... and more\\n")

    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertNotEqual(i, 1)

    def test_planted(self):
        sys.stderr.write("\\ntest_fail (calc_tests.ATests) ... ok\\n")


class BTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("class setup")

    def test_never(self):
        pass
'''
NAMES = ["ok", "fail", "error", "skip", "xfail", "xpass", "doc", "noisy", "subtests", "planted"]
EXPECTED_SHORT = {
    "test_ok (calc_tests.ATests)": TestStatus.PASSED,
    "test_fail (calc_tests.ATests)": TestStatus.FAILED,
    "test_error (calc_tests.ATests)": TestStatus.ERROR,
    "test_skip (calc_tests.ATests)": TestStatus.SKIPPED,
    "test_xfail (calc_tests.ATests)": TestStatus.XFAIL,
    "test_xpass (calc_tests.ATests)": TestStatus.XPASS,
    "test_doc (calc_tests.ATests)": TestStatus.PASSED,
    "test_noisy (calc_tests.ATests)": TestStatus.PASSED,
    "test_subtests (calc_tests.ATests)": TestStatus.FAILED,
    "setUpClass (calc_tests.BTests)": TestStatus.ERROR,
}


@pytest.fixture(scope="module")
def unittest_run(tmp_path_factory) -> tuple[int, str]:
    root = tmp_path_factory.mktemp("unittest-project")
    (root / "calc_tests.py").write_text(MODULE)
    tests = [f"test_{n} (calc_tests.ATests)" for n in NAMES] + ["test_never (calc_tests.BTests)"]
    command = test_command("unittest", tests)
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def test_every_outcome_is_read_from_a_real_run(unittest_run):
    code, log = unittest_run
    assert code == 1
    statuses = parse("unittest", log)
    long_form = sys.version_info >= (3, 11)
    assert ("test_ok (calc_tests.ATests.test_ok)" in statuses) is long_form  # kept as printed
    docstring = "The docstring's first line."
    assert {short_id(k) for k in statuses if k != docstring} == set(EXPECTED_SHORT)
    assert {t: lookup("unittest", statuses, t) for t in EXPECTED_SHORT} == EXPECTED_SHORT
    assert statuses["The docstring's first line."] == TestStatus.PASSED  # SWE-bench's id for it


def test_either_spelling_of_an_id_finds_the_test(unittest_run):
    _, log = unittest_run
    run = TestRun.from_output("unittest", log, exit_code=1)
    for short, status in EXPECTED_SHORT.items():
        method, where = short[:-1].split(" (")
        assert run.status_of(short) == status
        assert run.status_of(f"{method} ({where}.{method})") == status
        assert run.status_of(f"{where}.{method}") == status


def test_a_planted_line_in_the_other_spelling_does_not_make_a_failure_pass(unittest_run):
    _, log = unittest_run
    run = TestRun.from_output("unittest", log, exit_code=1)
    assert run.status_of("test_fail (calc_tests.ATests)") == TestStatus.FAILED
    assert not run.passed("test_fail (calc_tests.ATests.test_fail)")


def test_tests_that_report_no_outcome_are_missing(unittest_run):
    _, log = unittest_run
    run = TestRun.from_output("unittest", log, exit_code=1)
    assert run.status_of("test_never (calc_tests.BTests)") is None  # its class's setUpClass failed
    assert not run.passed("test_never (calc_tests.BTests)")
    assert run.status_of("test_planted (calc_tests.ATests)") is None  # its output took its outcome line


def test_an_outcome_printed_after_the_tests_output_goes_to_that_test():
    log = (
        "test_a (m.T) ... some output\n"
        "more output ... with dots\n"
        "ok\n"
        "test_b (m.T) ... \n"
        "  test_b (m.T) (i=2) ... ERROR\n"
        "test_c (m.T) ... ok (0.001s)\n"
    )
    assert parse("unittest", log) == {
        "test_a (m.T)": TestStatus.PASSED,
        "test_b (m.T)": TestStatus.ERROR,
        "test_c (m.T)": TestStatus.PASSED,
    }


def test_lookup_on_a_plain_dict():
    statuses = {"test_a (m.T.test_a)": TestStatus.PASSED}
    assert lookup("unittest", statuses, "test_a (m.T)") == TestStatus.PASSED
    assert lookup("unittest", statuses, "test_b (m.T)") is None


WARNING_MODULE = """import unittest
import warnings


class W(unittest.TestCase):
    def test_warns(self):
        warnings.warn("careful", RuntimeWarning)

    def test_warns_then_fails(self):
        warnings.warn("careful too", UserWarning)
        self.fail("no")
"""


def test_a_warning_printed_inside_a_test_s_line_keeps_the_test(tmp_path):
    """unittest prints `test_warns (w.W.test_warns) ... /w.py:7: RuntimeWarning: careful`, the warning's
    source line, then the outcome on a line of its own (a real run)."""
    (tmp_path / "w.py").write_text(WARNING_MODULE)
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "w"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "RuntimeWarning: careful" in proc.stderr
    statuses = parse("unittest", proc.stdout + proc.stderr)
    assert lookup("unittest", statuses, "test_warns (w.W)") == TestStatus.PASSED
    assert lookup("unittest", statuses, "test_warns_then_fails (w.W)") == TestStatus.FAILED
