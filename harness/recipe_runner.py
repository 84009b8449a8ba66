"""Which test runner a project uses: Django's runtests.py, SymPy's bin/test, pytest, else unittest.

The runner's name is the environment's `log_parser`; its base command is the `test_command` that
harness/runners.py extends with the tests to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swefarm.harness.recipe import ProjectFiles
    from swefarm.harness.recipe_testfiles import TestFileScan

#: Runner name -> the base command it is run with (from the repository root).
BASE_COMMANDS = {
    "pytest": "python -m pytest",
    "django": "./tests/runtests.py",
    "sympy": "bin/test",
    "unittest": "python -m unittest",
}
_PYTEST_WORD = re.compile(r"\bpytest\b")
_PYTEST_IN_PATCH = re.compile(r"^\+.*(\bimport pytest\b|\bfrom pytest\b|@pytest\.)", re.MULTILINE)
_CONFIG_TEXTS = ("tox.ini", "setup.cfg", "setup.py", "pyproject.toml")


@dataclass(frozen=True)
class RunnerChoice:
    """A runner name, its base command, and why it was chosen."""

    name: str
    command: str
    reason: str


def infer_runner(
    project: ProjectFiles,
    repo: str = "",
    test_patch: str = "",
    named: set[str] | None = None,
    scan: TestFileScan | None = None,
) -> RunnerChoice:
    """The runner for `project` (repo "owner/name" when known; `named`: requirement names it installs;
    `scan`: what its test files use). A Django app whose tests would otherwise run under unittest runs
    under pytest with pytest-django, which sets Django up with the app's test settings."""
    repo = repo.lower()
    if repo == "django/django":
        return _choice("django", "the repository is django/django")
    if "django" in project.text("tests/runtests.py").lower():
        return _choice("django", "tests/runtests.py runs Django's test runner")
    is_sympy = repo == "sympy/sympy" or (not repo and project.exists("sympy/__init__.py"))
    if is_sympy and project.exists("bin/test"):
        return _choice("sympy", "sympy with bin/test")
    if why := pytest_signal(project, test_patch, named or set()):
        return _choice("pytest", why)
    if scan and scan.uses_pytest:
        return _choice("pytest", f"the test files use pytest ({scan.files} read)")
    if scan and scan.django_settings:
        return _choice("pytest", f"a Django app: pytest-django runs its test cases with {scan.django_settings}")
    return _choice("unittest", "no sign of pytest")


def pytest_signal(project: ProjectFiles, test_patch: str = "", named: set[str] | None = None) -> str:
    """Why the project looks like a pytest project, or "" when nothing says so."""
    tool = project.pyproject.get("tool", {})
    checks = [
        (project.exists("pytest.ini"), "pytest.ini"),
        ("pytest" in tool, "[tool.pytest.ini_options] in pyproject.toml"),
        (project.setup_cfg.has_section("tool:pytest"), "[tool:pytest] in setup.cfg"),
        (project.tox_ini.has_section("pytest"), "[pytest] in tox.ini"),
        (_has_conftest(project), "a conftest.py"),
        ("pytest" in (named or set()), "pytest is a requirement"),
        (bool(_PYTEST_IN_PATCH.search(test_patch)), "the test patch uses pytest"),
    ]
    for found, why in checks:
        if found:
            return f"pytest: {why}"
    for rel in (*_CONFIG_TEXTS, *(p.relative_to(project.root).as_posix() for p in _requirement_paths(project))):
        if _PYTEST_WORD.search(project.text(rel)):
            return f"pytest: named in {rel}"
    return ""


def _has_conftest(project: ProjectFiles) -> bool:
    return any(
        p.is_file()
        for pattern in ("conftest.py", "*/conftest.py", "*/*/conftest.py")
        for p in project.root.glob(pattern)
    )


def _requirement_paths(project: ProjectFiles):
    for pattern in ("*requirements*.txt", "requirements/*.txt", "requirements/*.in"):
        yield from sorted(p for p in project.root.glob(pattern) if p.is_file())


def _choice(name: str, why: str) -> RunnerChoice:
    reason = why if why.startswith(name) else f"{name}: {why}"
    return RunnerChoice(name=name, command=BASE_COMMANDS[name], reason=f"runner {reason}")
