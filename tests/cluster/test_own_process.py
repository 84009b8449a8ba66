"""The suite's guard against a crash in a Ray driver: a test that uses `ray_cluster` runs in a pytest
process of its own, and one whose process dies is that test's failure while the rest of the run goes on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
pytestmark = pytest.mark.slow  # two pytest processes and their children

CRASHING = """
import os
import signal

import pytest


@pytest.fixture
def ray_cluster():  # stands in for the real cluster: only the isolation is under test here
    yield os.getpid()


def test_a_plain_test_runs_in_the_suites_process():
    assert os.getpid() == int(os.environ["SUITE_PID"])


def test_a_driver_that_crashes(ray_cluster):
    os.kill(os.getpid(), signal.SIGSEGV)


def test_the_next_one_still_runs_in_a_process_of_its_own(ray_cluster):
    assert ray_cluster == os.getpid() != int(os.environ["SUITE_PID"])
"""

# a later folder's test, set up after the driver tests (CI once failed here: the folder of the plain
# test before them was never torn down, "previous item was not torn down properly")
LATER = """
import os


def test_a_later_folders_test_sets_up_cleanly():
    assert os.getpid() == int(os.environ["SUITE_PID"])
"""


def test_a_crashing_driver_fails_its_test_and_the_suite_goes_on(tmp_path):
    (tmp_path / "cluster").mkdir()
    (tmp_path / "later").mkdir()
    for name in ("conftest.py", "own_process.py"):
        shutil.copy(HERE / name, tmp_path / "cluster" / name)
    (tmp_path / "cluster" / "test_crash.py").write_text(CRASHING)
    (tmp_path / "later" / "test_later.py").write_text(LATER)
    runner = "import os, sys, pytest\nos.environ['SUITE_PID'] = str(os.getpid())\nsys.exit(pytest.main(sys.argv[1:]))\n"
    done = subprocess.run(
        [sys.executable, "-c", runner, "-v", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "test_a_driver_that_crashes FAILED" in out and "died of signal 11 (SIGSEGV)" in out, out
    assert "test_the_next_one_still_runs_in_a_process_of_its_own PASSED" in out, out
    assert "test_a_plain_test_runs_in_the_suites_process PASSED" in out, out
    assert "test_a_later_folders_test_sets_up_cleanly PASSED" in out, out
    assert "1 failed, 3 passed" in out and "error" not in out.splitlines()[-1], out
