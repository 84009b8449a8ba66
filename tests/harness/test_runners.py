"""Test commands: exactly the chosen tests, safely quoted, within the shell's argument limit.

The shell commands run for real under bash, with a fake `python` on PATH that records the
arguments it was given (and exits 4, as pytest does for an unknown node id, when asked to).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from swefarm.harness.runners import (
    DEFAULT_JUNIT,
    DEFAULT_PARSER,
    MANY_IDS,
    MAX_COMMAND_CHARS,
    CommandTooLongError,
    dotted_label,
    runner_of,
)
from swefarm.harness.runners import test_command as command_for

SYMPY = "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose"

FAKE_PYTHON = """#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a" >> "$ARGS_LOG"; done
echo "--- end of call" >> "$ARGS_LOG"
case "$*" in *::*) [ -n "$REJECT_IDS" ] && exit 4;; esac
exit 3
"""
NASTY = [
    "tests/x.py::test_a[a b]",
    "tests/x.py::test_a[$(touch pwned)]",
    "tests/x.py::test_a['quote\"]",
    "tests/x.py::test_a[é::ü]",
    "tests/y.py::TestK::test_b[1-2]",
]


def run_with_fake_python(tmp_path: Path, command: str, reject_ids: bool = False) -> tuple[int, list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    args_log = tmp_path / "args.log"
    args_log.write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "ARGS_LOG": str(args_log)}
    if reject_ids:
        env["REJECT_IDS"] = "1"
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    calls = args_log.read_text().split("--- end of call\n")[:-1]
    return proc.returncode, [call.splitlines() for call in calls]


def test_pytest_gets_each_node_id_as_one_argument_and_keeps_its_exit_code(tmp_path):
    code, calls = run_with_fake_python(tmp_path, command_for("pytest", NASTY, junit_path="/tmp/j.xml"))
    assert code == 3  # the fake pytest's own exit code, passed through
    (args,) = calls
    assert args[:2] == ["-m", "pytest"]
    assert args[-len(NASTY) :] == NASTY
    for flag in ("-rA", "-p", "no:cacheprovider", "junit_family=xunit1", "--continue-on-collection-errors"):
        assert flag in args
    assert "--junitxml=/tmp/j.xml" in args
    assert not (tmp_path / "pwned").exists()


def test_rejected_pytest_ids_rerun_as_their_files(tmp_path):
    code, calls = run_with_fake_python(tmp_path, command_for("pytest", NASTY), reject_ids=True)
    assert code == 3
    first, second = calls
    assert first[-len(NASTY) :] == NASTY
    assert second[-2:] == ["tests/x.py", "tests/y.py"]


def test_the_junit_report_is_removed_before_the_run(tmp_path):
    stale = tmp_path / "planted.xml"
    stale.write_text("<testsuite><testcase classname='t' name='test_a' file='t.py'/></testsuite>")
    run_with_fake_python(tmp_path, command_for("pytest", ["t.py::test_a"], junit_path=str(stale)))
    assert not stale.exists()


def test_files_alone_run_once(tmp_path):
    command = command_for("pytest", ["tests/x.py", "tests/y.py", "tests/x.py"])
    assert "rc=$?" not in command
    _, (args,) = run_with_fake_python(tmp_path, command)
    assert args[-2:] == ["tests/x.py", "tests/y.py"]
    assert f"--junitxml={DEFAULT_JUNIT}" in args


def test_a_long_pytest_list_runs_the_files_of_its_ids():
    ids = [f"tests/test_m{i % 40}.py::TestCase::test_something_rather_long_{i}[param {i}]" for i in range(5000)]
    command = command_for("pytest", ids)
    assert len(command) <= MAX_COMMAND_CHARS
    assert "::" not in command and command.count("tests/test_m") == 40


def test_many_ids_run_their_files_once_and_keep_only_the_listed_tests(tmp_path):
    """Above MANY_IDS, the files run once with the ids selected by a plugin (old pytest collected a module
    again per id: quadratic). A real pytest: the listed ids run, the others are deselected, so a failing
    test outside the list changes neither the report nor the exit code; an id cut at a space keeps the
    items it begins, and nothing planted at a fixed /tmp path is loaded."""
    import sys

    body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(60))
    body += "def test_broken():\n    assert False\n\n"
    body += "import pytest\n\n@pytest.mark.parametrize('p', ['a b', 'c'])\ndef test_p(p):\n    pass\n"
    (tmp_path / "test_many.py").write_text(body)
    ids = [f"test_many.py::test_{i}" for i in range(0, 60, 2)] + [f"test_many.py::test_{i}" for i in range(1, 30, 2)]
    ids.append("test_many.py::test_p[a")  # cut at the space, as SWE-bench's lists have some ids
    assert len(ids) > MANY_IDS
    junit = tmp_path / "junit.xml"
    command = command_for("pytest", ids, junit_path=str(junit))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ran = set(re.findall(r'<testcase classname="[^"]*" name="([^"]+)"', junit.read_text()))
    assert ran == {i.split("::")[1] for i in ids[:-1]} | {"test_p[a b]"}
    assert "deselected" in proc.stdout


@pytest.mark.parametrize("count", [3, MANY_IDS + 5])
def test_the_options_reach_pytest_however_many_ids(count):
    """Grading names the image's plugins (`-p pytest_mock`) with autoload off; above MANY_IDS they were
    dropped, so pvlib-1854's gold patch lost `mocker` in 37 of its 281 targets."""
    ids = [f"tests/test_x.py::test_{i}" for i in range(count)]
    command = command_for("pytest", ids, options=["-p", "pytest_mock", "-p", "timeout"])
    runs = [line for line in command.split("&&") + command.split(";") if "python -m pytest" in line]
    assert runs and all("-p pytest_mock -p timeout" in line for line in runs), command[-800:]


def test_the_selection_plugin_knows_old_pytests_ids_of_methods(tmp_path, monkeypatch):
    """pytest < 4 names a method of a test class `file.py::Class::()::test_x`; the datasets list
    `file.py::Class::test_x`. marshmallow 3.0 (pytest 3.5) had all 73 of its class targets deselected."""
    from types import SimpleNamespace

    from swefarm.harness import runners

    plugin: dict = {}
    exec(runners._SELECT_PLUGIN, plugin)
    (tmp_path / "ids").write_text("tests/t.py::TestA::test_x\ntests/t.py::test_y\n")
    monkeypatch.setenv("SWEFARM_SELECT", str(tmp_path / "ids"))
    items = [SimpleNamespace(nodeid=n) for n in
             ("tests/t.py::TestA::()::test_x", "tests/t.py::TestA::()::test_z", "tests/t.py::test_y")]  # fmt: skip
    deselected: list = []
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    plugin["pytest_collection_modifyitems"](config, items)
    assert [i.nodeid for i in items] == ["tests/t.py::TestA::()::test_x", "tests/t.py::test_y"]
    assert [i.nodeid for i in deselected] == ["tests/t.py::TestA::()::test_z"]


def test_too_many_files_is_an_error_not_a_silent_truncation():
    ids = [f"tests/{'d' * 50}/test_{i}.py::test_x" for i in range(3000)]
    with pytest.raises(CommandTooLongError):
        command_for("pytest", ids)


@pytest.mark.parametrize("runner", ["pytest", "django", "sympy", "unittest"])
def test_an_empty_list_is_refused_because_it_would_run_everything(runner):
    with pytest.raises(ValueError, match="no tests"):
        command_for(runner, [])


def test_an_unknown_runner_is_refused():
    with pytest.raises(ValueError, match="unknown test runner"):
        command_for("nose", ["x"])


@pytest.mark.parametrize(
    ("test_id", "label"),
    [
        ("test_foo (app.tests.FooTests)", "app.tests.FooTests.test_foo"),
        ("test_foo (app.tests.FooTests.test_foo)", "app.tests.FooTests.test_foo"),
        ("app.tests.FooTests.test_foo", "app.tests.FooTests.test_foo"),
        ("app.test_module", "app.test_module"),
        ("setUpClass (app.tests.FooTests)", "app.tests.FooTests"),
        ("Regression test for #12345.", None),
    ],
)
def test_django_and_unittest_ids_become_dotted_labels(test_id, label):
    assert dotted_label(test_id) == label


def test_django_command_runs_the_labels():
    command = command_for("django", ["test_b (app.tests.T)", "test_a (app.tests.T.test_a)", "other.tests"])
    assert command == (
        "./tests/runtests.py --verbosity 2 --noinput --parallel 1 app.tests.T.test_b app.tests.T.test_a other.tests"
    )


def test_django_ids_that_name_no_test_need_their_files():
    ids = ["Regression test for #12345.", "test_a (app.tests.T)", "test_z (zoo.tests.Z)"]
    with pytest.raises(ValueError, match="files="):
        command_for("django", ids)
    command = command_for("django", ids, files=["tests/app/tests.py", "docs/notes.txt"])
    assert command.endswith("--parallel 1 app.tests")  # the files' modules: whatever the ids, they run whole


def test_with_files_unittest_runs_their_modules_not_ids_the_loader_cannot_take():
    """A doctest that a module's load_tests adds prints as `adjacent (pkg.more)`; passed as the label
    `pkg.more.adjacent`, unittest calls the function and runs nothing (more-itertools, issue 14)."""
    ids = ["test_a (tests.test_more.ATests.test_a)", "adjacent (more_itertools.more)", "Doctest: x.y"]
    assert command_for("unittest", ids, files=["tests/test_more.py"]) == "python -m unittest -v tests.test_more"


def test_a_long_django_list_widens_to_classes():
    ids = [f"test_method_number_{i} (app_{i % 7}.tests.SomeRatherLongTestCaseName{i % 30})" for i in range(6000)]
    command = command_for("django", ids)
    assert len(command) <= MAX_COMMAND_CHARS
    assert "test_method_number" not in command and "app_0.tests.SomeRatherLongTestCaseName0" in command


def test_sympy_runs_its_files_then_the_names_as_keywords():
    command = command_for(
        "sympy", ["test_foo", "sympy/core/tests/test_basic.py::test_bar"], files=["sympy/core/tests/test_arit.py"]
    )
    assert command == (SYMPY + " sympy/core/tests/test_arit.py sympy/core/tests/test_basic.py -k test_foo test_bar")
    assert command_for("sympy", ["test_foo"]) == SYMPY + " -k test_foo"


def test_sympy_whole_files_are_not_filtered_by_keywords():
    command = command_for("sympy", ["sympy/core/tests/test_basic.py", "test_foo"], files=["sympy/x/tests/test_y.py"])
    assert command == SYMPY + " sympy/x/tests/test_y.py sympy/core/tests/test_basic.py"


def test_too_many_sympy_names_run_the_files_or_fail():
    names = [f"test_some_rather_long_sympy_test_name_{i}" for i in range(4000)]
    assert command_for("sympy", names, files=["sympy/a/tests/test_b.py"]) == (SYMPY + " sympy/a/tests/test_b.py")
    with pytest.raises(CommandTooLongError):
        command_for("sympy", names)


def test_unittest_command_runs_dotted_names():
    command = command_for("unittest", ["test_a (pkg.test_mod.ATests)", "pkg.test_other"])
    assert command == "python -m unittest -v pkg.test_mod.ATests.test_a pkg.test_other"


def test_runner_and_parser_names_map_both_ways():
    assert all(runner_of(parser) == runner for runner, parser in DEFAULT_PARSER.items())
    assert runner_of("something-else") == "pytest"
