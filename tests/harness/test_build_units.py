"""Build machinery without Docker: failure classes, the install script's steps, remembered failures,
SWE-bench's specifications, the Python choice, and the CLI's answers for tasks whose build failed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from datetime import date
from pathlib import Path

import pytest
from swefarm.cli.main import app
from swefarm.harness.build_failures import classify_build_failure, strip_ansi
from swefarm.harness.build_memory import forget_failure, record_failure, recorded_failure
from swefarm.harness.install_script import ScriptInputs, install_script
from swefarm.harness.recipe import ProjectFiles
from swefarm.harness.recipe_python import infer_python, next_python
from swefarm.harness.recipe_swebench import environment_from_spec, load_specs, spec_for
from swefarm.sandbox.bases import BASES, base_for, choose_base
from swefarm.tasks.models import Environment, Provenance, Task, TaskStatus
from swefarm.tasks.store import TaskStore
from typer.testing import CliRunner


@pytest.mark.parametrize(
    ("log", "code"),
    [
        ("LookupError: setuptools-scm was unable to detect version for '/testbed'.", "vcs_version"),
        ("AttributeError: module 'setuptools.build_meta' has no attribute 'build_editable'", "no_build_editable"),
        ("module 'poetry.core.masonry.api' has no attribute 'build_editable'", "no_build_editable"),
        (
            "No solution found when resolving build dependencies: only setuptools<=40.6.2 is available",
            "build_requirements",
        ),  # fmt: skip
        ("error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory", "compiler_missing"),
        ("fatal error: Python.h: No such file or directory", "compiler_missing"),
        ("the current Python version (3.9.2) does not satisfy Python>=3.10", "python_unsupported"),
        ("error: No solution found when resolving dependencies:\n  we can conclude that", "dependency_resolution"),
        ("step recipe: installed, but the test runner crashes: KeyError: 'BREAK_LOOP'", "runner_crash"),
        ("something nobody has seen", "other"),
    ],
)
def test_build_failures_are_classified(log, code):
    assert classify_build_failure(log) == code


def test_ansi_codes_are_stripped():
    assert strip_ansi("\x1b[91merror:\x1b[0m no") == "error: no"


def test_the_install_script_has_every_fallback_step_in_order():
    env = Environment(
        install=["uv pip install -r requirements.txt -e '.[test]'"], requirements_files=["requirements.txt"]
    )
    script = install_script(env, ScriptInputs(date="2016-05-01T00:00:00Z", python_floor="2021-04-03T00:00:00Z",
                                              vcs_version="1.4.0"))  # fmt: skip
    order = [script.index(f"swefarm_try {name} ") for name in
             ("recipe", "no-isolation", "non-editable", "legacy-setuptools", "pytest3-runner", "newer-runner",
              "unpinned", "package-only", "later-deps", "compile-deps")]  # fmt: skip
    assert order == sorted(order)
    # the runner fixes and later-deps build on the first install that worked (its runner crashed)
    on_installed = dict(re.findall(r"swefarm_try (\S+) \w+ step_\d+ (\d)", script))
    assert [n for n, flag in on_installed.items() if flag == "1"] == [
        "pytest3-runner", "newer-runner", "later-deps", "compile-deps"]  # fmt: skip
    assert "SETUPTOOLS_SCM_PRETEND_VERSION=1.4.0" in script and "PBR_VERSION=1.4.0" in script
    assert "export UV_EXCLUDE_NEWER=2021-04-03T00:00:00Z" in script  # later-deps: 180 days on, or the Python's maturity
    assert "SWEFARM_BUILD_FLOOR=2023-07-01T00:00:00Z" in script  # build tools under a floor
    unpinned = script[script.index("step_6()") : script.index("swefarm_try unpinned")]
    assert "swefarm_unpin requirements.txt > /tmp/swefarm-unpinned-requirements.txt" in unpinned
    assert "uv pip install -r /tmp/swefarm-unpinned-requirements.txt -e '.[test]'" in unpinned
    package_only = script[script.index("step_7()") : script.index("swefarm_try package-only")]
    assert "-r requirements.txt" not in package_only
    assert "uv pip install pytest $(swefarm_plugins_named requirements.txt)" in package_only


def test_unpinned_requirements_keep_names_extras_and_markers(tmp_path):
    """django-filter 2020 pins markdown 2.6.4, whose build fails on Python 3.9 (getiterator): the
    `unpinned` step installs the files' requirements by name, resolved at the task's date. The script's
    own function runs here on files written in the test."""
    import subprocess

    script = install_script(Environment(install=["uv pip install -r r.txt -e ."], requirements_files=["r.txt"]),
                            ScriptInputs(date="2020-06-01T00:00:00Z"))  # fmt: skip
    function = re.search(r"^swefarm_unpin\(\) \{\n.*?^\}\n", script, re.M | re.S).group(0)
    (tmp_path / "reqs").mkdir()
    (tmp_path / "r.txt").write_text("markdown==2.6.4  # docs\nDjango>=2.2,<3.1\n# a comment\n-r reqs/more.txt\n"
                                    "coverage[toml] (>=4.5)\nenum34==1.1; python_version < '3.4'\n"
                                    "-e git+https://example.org/x.git#egg=x\n--index-url https://x.org\n")  # fmt: skip
    (tmp_path / "reqs" / "more.txt").write_text("djangorestframework==3.11.0\n")
    out = subprocess.run(["bash", "-c", f"{function}swefarm_unpin r.txt"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=30)  # fmt: skip
    assert out.stdout.splitlines() == ["markdown", "Django", "djangorestframework", "coverage[toml]",
                                       "enum34; python_version < '3.4'"], out.stderr  # fmt: skip


def test_package_only_keeps_the_pytest_plugins_the_requirement_files_name(tmp_path):
    """django-model-utils 2019: a pinned requirement no longer installs, so package-only drops the files,
    and with them pytest-django, which its [tool:pytest] DJANGO_SETTINGS_MODULE needs: the plugins the
    files name come along, unpinned. The script's own function runs here on files written in the test."""
    import subprocess

    script = install_script(Environment(install=["uv pip install -r r.txt -e ."], requirements_files=["r.txt"]),
                            ScriptInputs(date="2019-12-15T00:00:00Z"))  # fmt: skip
    function = re.search(r"^swefarm_plugins_named\(\) \{\n.*?^\}\n", script, re.M | re.S).group(0)
    (tmp_path / "r.txt").write_text("pytest==4.5.0\npytest-django==3.4.7\n  pytest_cov>=2.7 ; python_version>'3'\n"
                                    "psycopg2-binary==2.8.4\n# pytest-commented\npytest\n-r other.txt\n")  # fmt: skip
    (tmp_path / "other.txt").write_text("pytest-mock\n")
    out = subprocess.run(["bash", "-c", f"{function}swefarm_plugins_named r.txt missing.txt"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.stdout.split() == ["pytest-django", "pytest_cov"], out.stderr


def _uv_words(tmp_path, env_vars: str, *logs: str) -> list[str]:
    """The arguments the script's `uv` wrapper passes to the real uv, after the script's helpers saw `logs`
    (bash runs the generated script's own functions; a stub `uv` on PATH records its arguments)."""
    script = install_script(Environment(install=["uv pip install -e ."]),
                            ScriptInputs(date="2020-06-01T00:00:00Z", python_floor="2021-04-03T00:00:00Z"))  # fmt: skip
    functions = script[: script.index("step_0()")].replace("cd /testbed", "cd .")
    (tmp_path / "bin").mkdir(exist_ok=True)
    (tmp_path / "bin/uv").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$UV_ARGS"\n')
    (tmp_path / "bin/uv").chmod(0o755)
    checks = "".join(
        f"swefarm_later_wheels {shlex.quote(str(log))} && echo later=$SWEFARM_WHEELS_FLOOR\n" for log in logs
    )
    body = f"{functions}\n{env_vars}\n{checks}uv pip install numpy\n"
    out = subprocess.run(["bash", "-c", body], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PATH": f"{tmp_path}/bin:{os.environ['PATH']}",
                              "UV_ARGS": str(tmp_path / "args")})  # fmt: skip
    assert out.returncode == 0, out.stderr
    return (tmp_path / "args").read_text().split("\n")[:-1] + [
        line for line in out.stdout.splitlines() if "later=" in line
    ]


def test_compiled_dependencies_install_from_wheels_and_move_to_the_pythons_maturity_without_one(tmp_path):
    """pvlib 2020 on Python 3.9: numba 0.52 had no cp39 wheel, so uv compiled numpy for 40 minutes. Wheels
    only for the slow compiled packages; with none at the date, those packages resolve as of the
    Python's maturity; compiling is the last step (SWEFARM_COMPILE)."""
    words = _uv_words(tmp_path, "")
    assert words[:2] == ["pip", "install"] and words[-1] == "numpy"
    wheels_only = {w for a, w in zip(words, words[1:], strict=False) if a == "--only-binary"}
    assert {"numpy", "scipy", "numba", "llvmlite"} <= wheels_only
    assert not any(w.startswith("numpy=") for w in words)  # no later floor before a wheel was missing

    log = tmp_path / "step.log"
    log.write_text("error: No solution found\nhint: Wheels are required for `numba` because building from source is "
                   "disabled for `numba` (i.e., with `--no-build-package numba`)\n")  # fmt: skip
    words = _uv_words(tmp_path, "", log)
    assert words[-1] == "later=2021-04-03T00:00:00Z"
    assert "numba=2021-04-03T00:00:00Z" in words and "numpy=2021-04-03T00:00:00Z" in words
    assert (tmp_path / "step.log").exists() and "--only-binary" in words

    other = tmp_path / "other.log"
    other.write_text("error: No solution found: foo==9 is unavailable\n")
    assert not any(w.startswith("later=") for w in _uv_words(tmp_path, "", other))  # only a missing wheel moves it

    words = _uv_words(tmp_path, "SWEFARM_COMPILE=1")  # the last resort builds them
    assert "--only-binary" not in words
    # never earlier than the step's own cutoff: later-deps resolves 180 days on, past the Python's maturity
    floor = "SWEFARM_WHEELS_FLOOR=2021-04-03T00:00:00Z"
    assert "numpy=2021-04-03T00:00:00Z" in _uv_words(tmp_path, floor)
    words = _uv_words(tmp_path, f"{floor}; export UV_EXCLUDE_NEWER=2021-11-01T00:00:00Z")
    assert not any(w.startswith("numpy=") for w in words)


def test_versioneer_reports_the_newest_tag_while_the_project_installs_and_the_file_is_restored(tmp_path):
    """Class 1 for versioneer (pvlib 0.8): without .git and unexpanded keywords a build says 0+unknown,
    and a dependency requiring the project (pvfactors: pvlib>=0.5) cannot resolve."""
    keywords = 'def get_keywords():\n    git_refnames = "$Format:%d$"\n    git_full = "$Format:%H$"\n'
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/_version.py").write_text(keywords)
    (tmp_path / "setup.cfg").write_text(
        "[versioneer]\nVCS = git\nversionfile_source = pkg/_version.py\ntag_prefix = v\n"
    )
    script = install_script(Environment(install=["uv pip install -e ."]),
                            ScriptInputs(date="2020-06-01T00:00:00Z", vcs_version="0.8.0"))  # fmt: skip
    assert "swefarm_versioneer 0.8.0 && trap swefarm_versioneer_restore EXIT" in script
    functions = script[: script.index("step_0()")].replace("cd /testbed", "cd .")
    body = f"{functions}\nswefarm_versioneer 0.8.0\ncat pkg/_version.py > during.txt\nswefarm_versioneer_restore\n"
    out = subprocess.run(["bash", "-c", body], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    during = (tmp_path / "during.txt").read_text()
    assert 'git_refnames = " (tag: v0.8.0)"' in during and 'git_full = "' + "0" * 40 + '"' in during
    assert (tmp_path / "pkg/_version.py").read_text() == keywords  # the checkout is the commit's again
    assert not list(tmp_path.rglob("*.swefarm-orig"))


def test_a_new_plain_install_gets_no_editable_fallbacks_or_floors():
    script = install_script(Environment(install=["uv pip install ."]), ScriptInputs(date="2024-05-01T00:00:00Z"))
    assert "no-isolation" not in script and "pytest3-runner" not in script
    assert "SWEFARM_BUILD_FLOOR=\n" in script  # no build-tool floor: the date is past it


def test_failures_are_remembered_per_tag_and_forgotten(tmp_path):
    db = tmp_path / "b.db"
    assert recorded_failure("t", db) is None
    record_failure("t", "abc", "vcs_version", "why", "log", path=db)
    failed = recorded_failure("t", db)
    assert (failed.recipe_hash, failed.failure_class, failed.reason, failed.log_tail) == (
        "abc",
        "vcs_version",
        "why",
        "log",
    )
    forget_failure("t", db)
    assert recorded_failure("t", db) is None


def _task(source: str, repo="marshmallow-code/marshmallow", version="3.0") -> Task:
    return Task(instance_id="x-1", repo=repo, base_commit="a" * 40, patch="", test_patch="", problem_statement="",
                version=version, provenance=Provenance(source=source))  # fmt: skip


def test_swebench_specs_come_from_the_real_package_and_only_for_its_imports():
    assert "pylint-dev/astroid" in load_specs()["MAP_REPO_VERSION_TO_SPECS_PY"]
    assert spec_for(_task("swe-bench-lite")) is not None
    assert spec_for(_task("git")) is None and spec_for(_task("github")) is None  # mined: never the specs


def test_a_swebench_spec_becomes_our_recipe_without_conda():
    spec = {"python": "3.6", "install": "python -m pip install -v --no-use-pep517 --no-build-isolation -e .",
            "packages": "numpy scipy", "pip_packages": ["cython"], "pre_install": ["apt-get install -y x"],
            "test_cmd": "PYTHONWARNINGS='ignore::UserWarning' bin/test -C --verbose",
            "eval_commands": ["export LANG=en_US.UTF-8"]}  # fmt: skip
    env, notes = environment_from_spec(spec, "sympy/sympy", tables={})
    assert env.install == ["uv pip install --no-build-isolation -e ."]
    assert env.packages == ["numpy", "scipy", "cython"] and env.pre_install == ["apt-get install -y x"]
    assert env.env_vars == {"LANG": "en_US.UTF-8", "PYTHONWARNINGS": "ignore::UserWarning"}
    assert env.log_parser == "sympy" and env.python == "3.6"
    conda, notes = environment_from_spec({"python": "3.9", "packages": "environment.yml"}, "pydata/xarray", {})
    assert conda.packages == [] and any("conda" in n for n in notes)


def test_one_list_of_bases_and_one_rule():
    bases = ((3, 9), (3, 11), (3, 13))
    assert choose_base((3, 10), bases) == (3, 9) and choose_base((3, 6), bases) == (3, 9)
    assert choose_base((3, 12), bases, allows=lambda v: v >= (3, 12)) == (3, 13)
    assert base_for("3.12", bases).tag == "swefarm/base:py3.11"
    assert base_for("3.7", tuple(b.version for b in BASES.values())).tag == "swefarm/base:py3.7"  # a registry
    assert BASES["3.7"].release is None and BASES["3.9"].release == "bullseye"


def test_the_newest_declared_python_released_by_the_task_date_wins(tmp_path):
    # a 2023-02 task of a project that declares 3.11 (released 2022-10): not held back to 3.10 by maturity
    (tmp_path / "setup.py").write_text("setup(classifiers=['Programming Language :: Python :: 3.11'])\n")
    choice = infer_python(ProjectFiles.read(tmp_path), date(2023, 2, 1), bases=((3, 9), (3, 11), (3, 13)))
    assert choice.version == "3.11", choice.reason


def test_old_code_says_why_no_older_python_is_used(tmp_path):
    (tmp_path / "tox.ini").write_text("[tox]\nenvlist = py27,py35\n")
    choice = infer_python(ProjectFiles.read(tmp_path), date(2016, 3, 1), bases=((3, 9), (3, 11), (3, 13)))
    assert choice.version == "3.9" and choice.best == "3.5"
    assert "no base older than 3.9 can be made here" in choice.reason


def test_next_python_for_a_retry():
    bases = ((3, 9), (3, 11), (3, 13))
    assert next_python("3.9", None, bases) == "3.11" and next_python("3.13", None, bases) is None
    assert next_python("3.9", "<3.11", bases) is None


def test_validate_and_grade_on_a_task_whose_build_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path))
    reason = "build: building swefarm/env:x failed: step recipe: the install failed: error: No solution found"
    task = _task("git").model_copy(update={"status": TaskStatus.INVALID, "status_reason": reason})
    TaskStore().put(task)
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", "x-1"])
    assert validated.exit_code == 1, validated.output
    assert "did not build" in validated.output and "\x1b[" not in TaskStore().get("x-1").status_reason
    assert TaskStore().get("x-1").status_reason == reason  # validate did not overwrite the build's reason
    patch = tmp_path / "p.diff"
    patch.write_text("")
    graded = runner.invoke(app, ["grade", "x-1", "--patch", str(patch)])
    assert graded.exit_code == 3 and "swefarm build x-1 --force" in graded.output
    assert "swefarm setup" not in graded.output


def test_a_runner_plugin_the_tests_import_keeps_its_major_version(tmp_path):
    """The runner fixes upgrade pytest and its plugins; a plugin the test files import (hypothesis) is also
    a library whose API they call, and its next major may have removed it (attrs 2017's
    `lists(average_size=...)` under hypothesis 6): it is upgraded within its installed major, unless
    that version cannot import on the Python (then without the cap).
    The script's own function runs here, over this venv's plugins, with uv replaced by echo."""
    import subprocess
    import sys
    from importlib import metadata

    script = install_script(Environment(install=["uv pip install -e ."]), ScriptInputs(date="2017-06-01T00:00:00Z"))
    function = re.search(r"^swefarm_upgrade_runner\(\) \{\n.*?^\}\n", script, re.M | re.S).group(0)
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_props.py").write_text("from hypothesis import given, strategies as st\n")
    (tmp_path / "conftest.py").write_text("import pytest\n")
    bash = f'uv() {{ echo "$@"; }}\n{function}swefarm_upgrade_runner'
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SWEFARM_TESTBED": str(tmp_path)}
    out = subprocess.run(["bash", "-c", bash], env=env, capture_output=True, text=True, timeout=60)
    assert len(out.stdout.splitlines()) == 1, out.stdout  # it imports here: no second, uncapped upgrade
    words = out.stdout.split()
    major = int(metadata.version("hypothesis").split(".")[0])
    assert f"hypothesis<{major + 1}" in words, out.stdout + out.stderr
    assert words[:3] == ["pip", "install", "--upgrade"] and {"pytest", "pluggy", "py"} <= set(words)
    plugins = {w for w in words if w.startswith("pytest-")}
    assert plugins and all("<" not in w for w in plugins)  # the tests import none of them: upgraded freely
