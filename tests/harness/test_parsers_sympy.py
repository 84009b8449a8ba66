"""The sympy parser on logs shaped like real `bin/test -C --verbose` output (sympy is not installed here).

Up to sympy 1.11 bin/test is sympy's own runner (one `name outcome` line per test, `[OK]`/`[FAIL]`
after a file's last test); from 1.12 it runs pytest and prints pytest's `-v` lines.
"""

from __future__ import annotations

from swefarm.harness.parsers import lookup, parse
from swefarm.harness.results import TestRun, TestStatus

LEGACY = """\
============================= test process starts ==============================
executable:         /opt/miniconda3/envs/testbed/bin/python  (3.9.19-final-0) [CPython]
architecture:       64-bit
cache:              no
ground types:       python
numpy:              None
random seed:        7135393
hash randomization: on (PYTHONHASHSEED=3461291227)

sympy/core/tests/test_basic.py[5]
test__aresame ok
test_structure F
test_equality ok
test_no_reason  - s
test_call E                                                               [FAIL]

sympy/printing/tests/test_latex.py[5]
test_printmethod ok
test_latex_builtins f
test_latex_slow Slow w
test_latex_skipped needs numpy s
test_issue_8470 X                                                           [OK]

sympy/solvers/tests/test_broken.py[?]   Failed to import                  [FAIL]

sympy/core/tests/test_empty.py[0]                                           [OK]

________________________________ xpassed tests _________________________________
sympy/printing/tests/test_latex.py: test_issue_8470

________________________________________________________________________________
________________ sympy/core/tests/test_basic.py:test_call _________________
Traceback (most recent call last):
  File "/testbed/sympy/core/tests/test_basic.py", line 80, in test_call
    b()
TypeError: 'Basic' object is not callable
________________________________________________________________________________
_____________ sympy/core/tests/test_basic.py:test_structure ______________
Traceback (most recent call last):
  File "/testbed/sympy/core/tests/test_basic.py", line 40, in test_structure
    assert bb.args == (b2, b21)
AssertionError

 tests finished: 4 passed, 1 failed, 3 skipped, 1 expected to fail,
1 expected to fail but passed, 1 exceptions, in 0.35 seconds
DO *NOT* COMMIT!
"""

PYTEST_MODE = """\
============================= test session starts ==============================
platform linux -- Python 3.9.19, pytest-8.1.1, pluggy-1.4.0 -- /opt/miniconda3/envs/testbed/bin/python
rootdir: /testbed
configfile: pytest.ini
collecting ... collected 3 items

sympy/core/tests/test_basic.py::test__aresame PASSED                     [ 33%]
sympy/core/tests/test_basic.py::test_structure FAILED                    [ 66%]
sympy/core/tests/test_basic.py::test_slow SKIPPED (slow)                 [100%]

=================================== FAILURES ===================================
________________________________ test_structure ________________________________
E   AssertionError
=========================== short test summary info ============================
FAILED sympy/core/tests/test_basic.py::test_structure - AssertionError
==================== 1 failed, 1 passed, 1 skipped in 0.25s ====================
"""


def test_legacy_runner_statuses_by_test_name():
    assert parse("sympy", LEGACY) == {
        "test__aresame": TestStatus.PASSED,
        "test_structure": TestStatus.FAILED,
        "test_equality": TestStatus.PASSED,
        "test_no_reason": TestStatus.SKIPPED,
        "test_call": TestStatus.ERROR,  # the file's last test, before `[FAIL]`
        "test_printmethod": TestStatus.PASSED,
        "test_latex_builtins": TestStatus.XFAIL,
        "test_latex_slow": TestStatus.SKIPPED,
        "test_latex_skipped": TestStatus.SKIPPED,
        "test_issue_8470": TestStatus.XPASS,
        "sympy/solvers/tests/test_broken.py": TestStatus.ERROR,
    }


def test_pytest_based_runner_statuses_by_test_name():
    assert parse("sympy", PYTEST_MODE) == {
        "test__aresame": TestStatus.PASSED,
        "test_structure": TestStatus.FAILED,
        "test_slow": TestStatus.SKIPPED,
    }


def test_names_with_their_file_find_the_test():
    run = TestRun.from_output("sympy", LEGACY, exit_code=1)
    assert run.status_of("sympy/core/tests/test_basic.py::test_equality") == TestStatus.PASSED
    assert run.status_of("sympy/core/tests/test_basic.py:test_structure") == TestStatus.FAILED
    assert run.status_of("test_not_run") is None
    assert not run.passed("test_not_run")


def test_a_failure_header_overrides_an_ok_line_for_the_same_name():
    log = "test_a ok\n_____ sympy/x/tests/test_y.py::test_a _____\n"
    assert lookup("sympy", parse("sympy", log), "test_a") == TestStatus.FAILED


def test_lines_that_only_look_like_tests_are_ignored():
    log = "test_something went wrong\ntesting ok\ntest_x - Took 12.300 seconds\n"
    assert parse("sympy", log) == {}


# sympy 1.14's own runner (sympy.testing.runtests, verbose), a test file whose tests warn: stderr lands
# inside the test's line and the outcome comes lines later (captured from a real run, path shortened)
WARNINGS = """\
sympy/x/tests/test_w.py[6]
test_warn_then_skip /testbed/sympy/x/tests/test_w.py:12: UserWarning: hmm
  warnings.warn("hmm", UserWarning)
needs numpy s
test_zlast /testbed/sympy/x/tests/test_w.py:19: UserWarning: last one
  warnings.warn("last one", UserWarning)
ok
test_warns /testbed/sympy/x/tests/test_w.py:6: UserWarning: careful now
  warnings.warn("careful now", UserWarning)
ok
test_before ok
test_warn_xfail /testbed/sympy/x/tests/test_w.py:16: UserWarning: x
  warnings.warn("x", UserWarning)
f
test_runtime_warning_then_fails /testbed/sympy/x/tests/test_w.py:8: RuntimeWarning: deprecated in s
  warnings.warn("deprecated in s", RuntimeWarning)
/testbed/sympy/x/tests/test_w.py:9: DeprecationWarning: two
lines ok
  warnings.warn("two\\nlines ok", DeprecationWarning)
F                                                                         [FAIL]

________________________________________________________________________________
______________ sympy/x/tests/test_w.py:test_runtime_warning_then_fails _______________
AssertionError
"""


def test_a_warning_inside_a_test_s_line_does_not_lose_the_test():
    assert parse("sympy", WARNINGS) == {
        "test_warn_then_skip": TestStatus.SKIPPED,
        "test_zlast": TestStatus.PASSED,
        "test_warns": TestStatus.PASSED,
        "test_before": TestStatus.PASSED,
        "test_warn_xfail": TestStatus.XFAIL,
        "test_runtime_warning_then_fails": TestStatus.FAILED,  # a second warning's "lines ok" is not its outcome
    }


def test_an_outcome_never_printed_after_a_warning_is_missing_not_borrowed():
    log = "test_a /t.py:1: UserWarning: w\n  warnings.warn('w')\ntest_b s\n"
    assert parse("sympy", log) == {"test_b": TestStatus.SKIPPED}
