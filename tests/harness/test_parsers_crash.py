"""Why a run reported nothing, and which modules failed to import: read from real pytest and unittest runs
(run here in a subprocess) and from the outputs other runners print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from swefarm.harness.parsers import parse
from swefarm.harness.parsers.crash import collection_errors, crash_cause, module_of
from swefarm.harness.results import TestStatus
from swefarm.harness.runners import test_command as command_for

JUNIT = "junit.xml"


def run(project: Path, command: str) -> tuple[int, str]:
    done = subprocess.run(
        command, shell=True, cwd=project, capture_output=True, text=True, timeout=120, executable="/bin/bash"
    )
    return done.returncode, done.stdout + done.stderr


def pytest_run(project: Path, files: list[str]) -> tuple[int, str, str | None]:
    command = command_for("pytest", files, junit_path=str(project / JUNIT)).replace("python ", f"{sys.executable} ")
    code, log = run(project, command)
    junit = project / JUNIT
    return code, log, junit.read_text() if junit.exists() else None


@pytest.fixture
def project(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/__init__.py").write_text("")
    (tmp_path / "tests/test_ok.py").write_text("def test_fine():\n    pass\n")
    (tmp_path / "tests/test_broken.py").write_text("import no_such_module_here\n\n\ndef test_never():\n    pass\n")
    return tmp_path


def test_a_module_that_fails_to_import_is_a_collection_error_with_its_cause(project):
    code, log, junit = pytest_run(project, ["tests/test_ok.py", "tests/test_broken.py"])
    statuses = parse("pytest", log, junit)
    assert statuses["tests/test_ok.py::test_fine"] == TestStatus.PASSED
    assert collection_errors(statuses) == ["tests/test_broken.py"]
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in crash_cause(log, code)


def test_a_run_that_collects_nothing_says_so(project):
    (project / "tests/test_helpers.py").write_text("def helper():\n    return 1\n")
    code, log, junit = pytest_run(project, ["tests/test_helpers.py"])
    assert parse("pytest", log, junit) == {} and code == 5
    assert crash_cause(log, code) == "no tests ran (exit code 5)"


def test_a_conftest_that_crashes_before_any_test_names_its_exception(project):
    (project / "tests/conftest.py").write_text("raise KeyError('BREAK_LOOP')\n")
    code, log, junit = pytest_run(project, ["tests/test_ok.py"])
    assert not (junit and parse("pytest", log, junit))
    cause = crash_cause(log, code)
    assert "KeyError: 'BREAK_LOOP'" in cause and f"exit code {code}" in cause


def test_a_missing_test_file_is_pytest_s_own_error(project):
    code, log, _ = pytest_run(project, ["tests/test_gone.py"])
    assert crash_cause(log, code) == f"ERROR: file or directory not found: tests/test_gone.py (exit code {code})"


@pytest.mark.parametrize("spelling", ["3.11", "3.10"])
def test_unittest_import_failures_are_collection_errors(project, spelling):
    code, log = run(project, f"{sys.executable} -m unittest -v tests.test_ok tests.test_broken")
    if spelling == "3.10":  # what Python before 3.11 prints for the same failure
        log = log.replace("(unittest.loader._FailedTest.test_broken)", "(unittest.loader._FailedTest)")
    statuses = parse("unittest", log)
    broken = collection_errors(statuses)
    assert len(broken) == 1 and module_of(broken[0]) == "test_broken"
    assert "No module named 'no_such_module_here'" in crash_cause(log, code)


def test_sympy_files_that_fail_to_import_are_collection_errors():
    log = "sympy/core/tests/test_a.py[2] ..\nsympy/solvers/tests/test_b.py[?]   Failed to import     [FAIL]\n"
    statuses = parse("sympy", log)
    assert collection_errors(statuses) == ["sympy/solvers/tests/test_b.py"]


def test_a_killed_run_is_a_timeout_whatever_else_it_printed():
    log = "collected 3 items\ntests/test_x.py::test_a PASSED\nValueError: boom\n[swefarm: killed after 30s (timeout)]\n"
    assert crash_cause(log, 124) == "the test run timed out: killed after 30s (timeout)"


def test_the_last_traceback_s_exception_line_is_the_cause():
    log = (
        "Traceback (most recent call last):\n"
        '  File "/opt/venv/lib/python3.9/site-packages/coverage/collector.py", line 7, in <module>\n'
        "    import dis\n"
        "KeyError: 'BREAK_LOOP'\n"
    )
    assert crash_cause(log, 1) == "KeyError: 'BREAK_LOOP' (exit code 1)"


def test_without_anything_recognisable_the_last_line_and_exit_code_are_given():
    assert crash_cause("", None) == "no exit code; last line: (no output)"
    assert crash_cause("starting\nsomething odd happened\n", 3) == (
        "pytest hit an internal error (exit code 3); last line: something odd happened"
    )


def test_ordinary_failures_are_not_collection_errors():
    statuses = {
        "tests/test_x.py::test_a": TestStatus.ERROR,
        "test_b (pkg.tests.T.test_b)": TestStatus.ERROR,
        "tests/test_y.py": TestStatus.SKIPPED,
    }
    assert collection_errors(statuses) == []


def test_a_multi_line_pytest_error_is_named_by_its_first_line():
    """pallets/click on a newer pytest: the collection error's message runs over several `E` lines."""
    log = (
        "/opt/venv/lib/python3.13/site-packages/_pytest/mark/structures.py:203: in _for_parametrize\n"
        "    warnings.warn(\n"
        "E   pytest.PytestRemovedIn10Warning: Passing a non-Collection iterable to parametrize is deprecated.\n"
        "E   Test: tests/test_basic.py::test_boolean_conversion, argvalues type: chain\n"
        "E   Please convert to a list or tuple.\n"
        "=========================== short test summary info ============================\n"
        "ERROR tests/test_basic.py - pytest.PytestRemovedIn10Warning: Passing a non-Co...\n"
        "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n"
    )
    assert crash_cause(log, 2) == (
        "pytest.PytestRemovedIn10Warning: Passing a non-Collection iterable to parametrize is deprecated. (exit code 2)"
    )


def test_pytests_exit_codes_are_not_read_into_another_runners():
    assert crash_cause("some vitest output", 2, "pytest").startswith("pytest was interrupted")
    assert crash_cause("some vitest output", 2, "vitest") == "exit code 2; last line: some vitest output"
