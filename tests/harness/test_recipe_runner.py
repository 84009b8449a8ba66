"""Runner inference: Django, SymPy, every sign of pytest, and unittest when there is none."""

from __future__ import annotations

import pytest
from fixture_projects import project_files as project
from swefarm.harness.recipe_runner import BASE_COMMANDS, infer_runner


def test_django_by_repository_name(tmp_path):
    runner = infer_runner(project(tmp_path, {"setup.cfg": "[tool:pytest]\n"}), "Django/Django")
    assert (runner.name, runner.command) == ("django", "./tests/runtests.py")


def test_django_by_its_runtests_script(tmp_path):
    proj = project(tmp_path, {"tests/runtests.py": "import django\nfrom django.test.utils import get_runner\n"})
    assert infer_runner(proj, "someone/django-app").name == "django"


def test_a_runtests_script_that_is_not_djangos_is_not_django(tmp_path):
    assert infer_runner(project(tmp_path, {"tests/runtests.py": "import unittest\n"}), "a/b").name == "unittest"


def test_sympy_needs_bin_test_and_the_sympy_repository(tmp_path):
    proj = project(tmp_path, {"bin/test": "#!/usr/bin/env python\n", "conftest.py": ""})
    assert infer_runner(proj, "sympy/sympy").command == "bin/test"
    assert infer_runner(proj, "other/project").name == "pytest"


def test_sympy_without_a_task_by_its_package(tmp_path):
    proj = project(tmp_path, {"bin/test": "", "sympy/__init__.py": ""})
    assert infer_runner(proj).name == "sympy"


@pytest.mark.parametrize(
    "files, why",
    [
        ({"pytest.ini": "[pytest]\n"}, "pytest.ini"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-ra'\n"}, "pyproject.toml"),
        ({"setup.cfg": "[tool:pytest]\ntestpaths = tests\n"}, "setup.cfg"),
        ({"tox.ini": "[tox]\nenvlist = py39\n[pytest]\nminversion = 6\n"}, "tox.ini"),
        ({"tests/unit/conftest.py": ""}, "conftest.py"),
        ({"tox.ini": "[testenv]\ndeps = pytest\ncommands = pytest\n"}, "named in tox.ini"),
        ({"requirements/ci.in": "pytest-xdist\npytest\n"}, "named in requirements/ci.in"),
    ],
)
def test_pytest_signs(tmp_path, files, why):
    runner = infer_runner(project(tmp_path, files), "a/b")
    assert (runner.name, runner.command) == ("pytest", "python -m pytest")
    assert why in runner.reason


def test_pytest_when_a_requirement_names_it(tmp_path):
    runner = infer_runner(project(tmp_path, {}), "a/b", named={"pytest"})
    assert runner.name == "pytest" and "requirement" in runner.reason


def test_pytest_when_the_test_patch_uses_it(tmp_path):
    patch = "diff --git a/t.py b/t.py\n--- a/t.py\n+++ b/t.py\n@@ -1 +1,2 @@\n+import pytest\n x = 1\n"
    assert infer_runner(project(tmp_path, {}), "a/b", test_patch=patch).name == "pytest"


def test_unittest_when_nothing_says_pytest(tmp_path):
    runner = infer_runner(project(tmp_path, {"setup.py": "from setuptools import setup\nsetup(name='x')\n"}), "a/b")
    assert (runner.name, runner.command) == ("unittest", BASE_COMMANDS["unittest"])
