"""Validation on the real engine, one fixture task per failure class of issue 14: an expected failure, a module
that errors at collection, a run that collects nothing or crashes first, unittest ids as Python 3.11 prints
them (with doctests a module's load_tests adds), and sympy's runner with warnings printed inside its lines.

Every task is a variant of the calc fixture (tests/fixture_calc.py): the same repository and environment,
another test patch or runner.
"""

from __future__ import annotations

import pytest
from fixture_calc import new_file_patch
from swefarm.harness.grade import grade
from swefarm.harness.outcomes import RETRY, BuildOutcome, ValidationOutcome
from swefarm.harness.pipeline import validate_task
from swefarm.tasks.models import Environment, TaskStatus

pytestmark = [pytest.mark.docker, pytest.mark.slow]

XFAIL_TESTS = """import pytest


@pytest.mark.xfail(reason="floating point", strict=False)
def test_known_bug():
    assert 0.1 + 0.2 == 0.3


def test_always():
    assert True
"""
BROKEN_MODULE = "import no_such_plugin\n\n\ndef test_plugin():\n    assert no_such_plugin.ready\n"
NO_TESTS = "def helper():\n    return 1\n"
CRASHING_CONFTEST = "raise KeyError('BREAK_LOOP')\n"
DOCTEST_MODULE = '''import doctest
import fractions
import sys
import unittest

from calc import add, mul


def double(x):
    """
    >>> double(2)
    4
    """
    return mul(x, 2)


class CalcTests(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mul(self):
        self.assertEqual(mul(2, 3), 6)


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(sys.modules[__name__]))
    tests.addTests(doctest.DocTestSuite(fractions))  # the standard library's doctests, as another module's
    return tests
'''
SYMPY_BIN_TEST = '''#!/usr/bin/env python
"""bin/test as sympy has it: sympy's own runner (sympy.testing.runtests), verbose, over the given files."""
import os
import sys

from sympy.testing.runtests import PyTestReporter, SymPyTests

args = [a for a in sys.argv[1:] if a not in ("-C", "--verbose")]
cut = args.index("-k") if "-k" in args else len(args)
tests = SymPyTests(PyTestReporter(verbose=True, colors=False), kw=tuple(args[cut + 1 :]))
tests._testfiles.extend(os.path.abspath(p) for p in args[:cut])
sys.exit(0 if tests.test() else 1)
'''
SYMPY_TESTS = """import warnings

from calc import add, mul


def test_add_warns():
    warnings.warn("add() now adds", RuntimeWarning)  # printed inside this test's line
    assert add(2, 2) == 4


def test_mul_warns():
    warnings.warn("mul() is fine", UserWarning)  # PYTHONWARNINGS in the command silences this one
    assert mul(2, 3) == 6


def test_mul_plain():
    assert mul(1, 1) == 1
"""


def executable_patch(path: str, content: str) -> str:
    return new_file_patch(path, content).replace("new file mode 100644", "new file mode 100755")


@pytest.fixture(scope="module")
def validated(docker_client, build_variant, calc_repo):
    """Build a variant of the calc task and validate it (two gold runs)."""
    _, commits = calc_repo

    def make(instance_id: str, *files: tuple[str, str], calc_tests: bool = True, **changes):
        test_patch = (commits["test_patch"] if calc_tests else "") + "".join(new_file_patch(*f) for f in files)
        test_patch += changes.pop("extra_patch", "")
        task, outcome = build_variant(instance_id, test_patch=test_patch, **changes)
        assert outcome.ok and outcome.code == BuildOutcome.BUILT, task.status_reason
        return validate_task(docker_client, task, runs=2)

    return make


def test_expected_failures_stay_out_of_pass_to_pass_and_say_why(validated, docker_client):
    task, outcome = validated("fixture__calc-xfail", ("tests/test_known.py", XFAIL_TESTS))
    assert outcome.ok and outcome.code == ValidationOutcome.VALID, task.status_reason
    assert "tests/test_known.py::test_always" in task.PASS_TO_PASS
    xfail = "tests/test_known.py::test_known_bug"
    assert xfail not in task.PASS_TO_PASS + task.FAIL_TO_PASS
    assert task.provenance.dropped_tests == {xfail: "xfail"}
    assert grade(task, task.patch, docker_client).resolved


def test_a_module_that_errors_at_collection_beside_fixed_tests_is_listed(validated):
    task, outcome = validated("fixture__calc-plugin", ("tests/test_plugin.py", BROKEN_MODULE))
    assert outcome.code == ValidationOutcome.VALID, task.status_reason
    assert task.provenance.validation_outcome == "valid"
    assert not [t for t in task.FAIL_TO_PASS + task.PASS_TO_PASS if "test_plugin" in t]


def test_modules_that_error_in_base_and_gold_alike_are_a_broken_environment(validated):
    task, outcome = validated("fixture__calc-plugin-only", ("tests/test_plugin.py", BROKEN_MODULE), calc_tests=False)
    assert not outcome.ok and outcome.code == ValidationOutcome.ENVIRONMENT_BROKEN
    assert task.status == TaskStatus.INVALID and task.provenance.validation_outcome == "environment_broken"
    assert "tests/test_plugin.py" in outcome.reason
    assert "No module named 'no_such_plugin'" in outcome.reason


def test_a_run_that_collects_nothing_is_no_test_results_with_the_cause(validated):
    task, outcome = validated("fixture__calc-nothing", ("tests/test_helpers.py", NO_TESTS), calc_tests=False)
    assert outcome.code == ValidationOutcome.NO_TEST_RESULTS
    assert outcome.reason.endswith("no tests ran (exit code 5)"), outcome.reason


def test_a_run_that_crashes_before_any_test_is_no_test_results_with_the_cause(validated):
    task, outcome = validated("fixture__calc-crash", ("tests/conftest.py", CRASHING_CONFTEST))
    assert outcome.code == ValidationOutcome.NO_TEST_RESULTS
    assert "KeyError: 'BREAK_LOOP'" in outcome.reason, outcome.reason


def test_unittest_ids_as_python_3_11_prints_them_validate_and_grade(validated, docker_client):
    """Python 3.11 prints `test_add (tests.test_doc.CalcTests.test_add)`, and the module's load_tests adds
    doctests of another module, printed as `limit_denominator (fractions.Fraction)`: selected by id as
    `fractions.Fraction.limit_denominator`, unittest called it and ran nothing, so every fixed test looked
    order-dependent (more-itertools, whose tests add the library's doctests, lost all its tasks so)."""
    env = Environment(python="3.11", install=["uv pip install -e ."], log_parser="unittest")
    task, outcome = validated(
        "fixture__calc-doctest", ("tests/test_doc.py", DOCTEST_MODULE), calc_tests=False, environment=env
    )
    assert outcome.code == ValidationOutcome.VALID, task.status_reason
    assert task.FAIL_TO_PASS == ["test_add (tests.test_doc.CalcTests.test_add)"]
    assert {"double (tests.test_doc)", "limit_denominator (fractions.Fraction)"} <= set(task.PASS_TO_PASS)
    assert not task.provenance.flaky_tests
    assert grade(task, task.patch, docker_client).resolved
    assert not grade(task, "", docker_client).resolved


def test_sympy_tests_whose_warnings_split_their_lines_are_kept(validated, docker_client):
    env = Environment(python="3.11", install=["uv pip install -e ."], packages=["sympy"], log_parser="sympy")
    task, outcome = validated(
        "fixture__calc-sympy",
        ("tests/test_sympy_calc.py", SYMPY_TESTS),
        calc_tests=False,
        environment=env,
        extra_patch=executable_patch("bin/test", SYMPY_BIN_TEST),
    )
    assert outcome.code == ValidationOutcome.VALID, task.status_reason
    assert task.FAIL_TO_PASS == ["test_add_warns"]
    assert {"test_mul_warns", "test_mul_plain"} <= set(task.PASS_TO_PASS)
    assert task.provenance.dropped_tests == {}
    assert grade(task, task.patch, docker_client).resolved


def test_a_gold_patch_that_does_not_apply_says_so_and_is_not_retried(validated):
    broken = "diff --git a/src/calc/__init__.py b/src/calc/__init__.py\n--- a/src/calc/__init__.py\n"
    broken += "+++ b/src/calc/__init__.py\n@@ -1,2 +1,2 @@\n def nothing_like_this():\n-    pass\n+    return 1\n"
    task, outcome = validated("fixture__calc-badpatch", patch=broken)
    assert outcome.code == ValidationOutcome.PATCH_DOES_NOT_APPLY
    assert outcome.reason.startswith("the gold patch does not apply")
    assert outcome.code not in RETRY
