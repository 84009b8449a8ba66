"""Each test that drives a Ray cluster runs in a pytest process of its own (the conftest's hooks call these).

The test process is the cluster's Ray driver (`ray.init` in `LocalCluster.start`). Ray's driver state
is process-wide, and a crash in it (a segfault in Ray's C++ core, as after a `ray.shutdown()` with
a thread still inside Ray: ray-project/ray#31145) ends the whole process. So the suite's process
never joins a cluster: it runs each such test as `python -m pytest NODEID` in a child, which
sends its reports back through a file (as pytest-xdist's workers do), and a child that dies is
that test's failure, with the signal and the end of its output, while the suite goes on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

#: Set in a child: the file its reports go to (and the sign that this process is the child).
REPORTS = "SWEFARM_TEST_REPORTS"
#: A child's test has pytest-timeout's limit (pyproject); this bounds the child itself (its start-up,
#: the session fixtures it builds, the test and its teardown).
CHILD_TIMEOUT_S = 900


def in_child() -> bool:
    return bool(os.environ.get(REPORTS))


def record(config, report) -> None:
    """In a child: append one report to the parent's file."""
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    with open(os.environ[REPORTS], "a") as fh:
        fh.write(json.dumps(data) + "\n")


def run(item, nextitem) -> None:
    """In the suite's process: run `item` in a child and log its reports as if it had run here.

    The suite's process never sets `item` up, but it still tears down what the previous test set up
    and `nextitem` does not need (its module, its folder), as pytest's own protocol would: left on
    pytest's stack, they fail the next test's setup ("previous item was not torn down properly")."""
    ihook, config = item.ihook, item.config
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    work = tempfile.mkdtemp(prefix="sf-test-child-")
    reports_file = os.path.join(work, "reports.jsonl")
    output_file = os.path.join(work, "output.txt")
    command = [
        sys.executable,
        "-P",
        "-m",
        "pytest",
        item.nodeid,
        "-p",
        "no:cacheprovider",
        "-q",
        "--basetemp",
        os.path.join(work, "tmp"),
    ]  # fmt: skip  (its own basetemp: pytest prunes old ones)
    started = time.monotonic()
    try:
        with open(output_file, "wb") as out:
            child = subprocess.Popen(command, cwd=config.rootpath, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, REPORTS: reports_file},
                                     start_new_session=True)  # fmt: skip
            try:
                code = child.wait(timeout=CHILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                try:  # whatever the child left running in its session (a crashed driver's Ray processes)
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait()
        reports = _read(config, reports_file)
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        if code != 0 and not any(r.failed for r in reports):
            why = (f"did not finish within {CHILD_TIMEOUT_S} s" if code is None
                   else f"died of signal {-code} ({signal.Signals(-code).name})" if code < 0
                   else f"exited with {code} and reported no failure")  # fmt: skip
            with open(output_file, errors="replace") as fh:
                tail = fh.read()[-6000:]
            text = f"the test's own pytest process {why}; the end of its output:\n{tail}"
            seen = {r.when for r in reports}
            when = "teardown" if "call" in seen else "call" if "setup" in seen else "setup"
            failed = pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed", text,
                                       when, duration=time.monotonic() - started)  # fmt: skip
            ihook.pytest_runtest_logreport(report=failed)
        _tear_down_up_to(item, nextitem)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def _tear_down_up_to(item, nextitem) -> None:
    call = pytest.CallInfo.from_call(lambda: item.session._setupstate.teardown_exact(nextitem), "teardown")
    if call.excinfo is not None:  # a module or session fixture's finalizer failed: reported as pytest would
        item.ihook.pytest_runtest_logreport(report=item.ihook.pytest_runtest_makereport(item=item, call=call))


def _read(config, path: str) -> list:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        lines = [line for line in fh if line.strip()]
    reports = [config.hook.pytest_report_from_serializable(config=config, data=json.loads(line)) for line in lines]
    return [r for r in reports if isinstance(r, pytest.TestReport)]
