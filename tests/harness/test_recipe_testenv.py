"""Settings from tox and pytest configuration (issue 14, class 12): the tox environment that fits the
Python, its deps, extras and setenv; pytest plugins the configuration relies on; pytest-django when a
Django settings module is named. Fast: inference over files written in the test (no Docker)."""

from __future__ import annotations

from fixture_projects import project_files as project
from swefarm.harness.recipe import infer_recipe
from swefarm.harness.recipe_testenv import run_settings
from swefarm.harness.recipe_testfiles import scan_test_files
from swefarm.harness.recipe_tox import choose_env, read_tox, tox_settings

SETUP = "from setuptools import setup\nsetup(name='app', packages=['app'], install_requires=['Django>=3.2'])\n"
DJANGO_TOX = """[tox]
envlist =
    py{38,39,310,311}-dj{32,42}-{unittest,pytest}
    py{310,311}-dj{main}-{unittest,pytest}
    flake8, docs

[latest]
deps = https://github.com/django/django/archive/main.tar.gz

[testenv]
deps =
    redis
    coverage  # measured in CI
    -rrequirements-extra.txt
    dj32: Django>=3.2,<4
    dj42: Django>=4.2,<5.0
    djmain: {[latest]deps}
    pytest: pytest-django
    !pytest: unittest-xml-reporting
    py38,py39: backports.zoneinfo
extras = tests, docs
setenv =
    PYTHONPATH = {toxinidir}
    DJANGO_SETTINGS_MODULE=tests.settings
    pytest: APP_RUNNER = pytest
    CACHE_DIR = {envtmpdir}/cache
    PIP_INDEX_URL = https://example.invalid/simple
commands = pytest {posargs}
"""


def test_the_environment_that_fits_the_python_and_needs_no_network(tmp_path):
    config = read_tox(project(tmp_path, {"tox.ini": DJANGO_TOX}))
    assert config and len(config.envlist) == 22 and "py311-djmain-pytest" in config.envlist
    name, why = choose_env(config, (3, 11))
    assert name == "py311-dj32-unittest", why  # not main (a branch tarball), not lint or docs
    assert choose_env(config, (3, 13))[0] == "py311-dj32-unittest"  # the nearest older Python
    assert choose_env(config, (3, 7))[0] == "py38-dj32-unittest"  # else the nearest newer one


def test_deps_extras_and_setenv_of_the_chosen_environment(tmp_path):
    files = {"tox.ini": DJANGO_TOX.replace("{38,39,310,311}-dj{32,42}-{unittest,pytest}", "{39,311}-dj42-pytest"),
             "requirements-extra.txt": "freezegun\n", "setup.py": SETUP}  # fmt: skip
    tox = tox_settings(project(tmp_path, files), (3, 9))
    assert tox is not None and tox.env == "py39-dj42-pytest"
    # unconditional deps as written; a conditional one by name (the date cutoff picks its version)
    assert tox.deps == ["redis", "coverage", "django", "pytest-django", "backports-zoneinfo"]
    assert tox.requirements_files == ["requirements-extra.txt"]
    assert tox.extras == ["tests"]  # docs is a check, not a test need
    assert tox.setenv == {"PYTHONPATH": "/testbed", "DJANGO_SETTINGS_MODULE": "tests.settings",
                          "APP_RUNNER": "pytest", "PIP_INDEX_URL": "https://example.invalid/simple"}  # fmt: skip
    assert "CACHE_DIR" not in tox.setenv  # {envtmpdir} has no meaning in an image: not guessed


def test_the_recipe_gets_tox_deps_extras_variables_and_pytest_django(tmp_path):
    files = {"tox.ini": DJANGO_TOX, "requirements-extra.txt": "freezegun\n", "setup.py": SETUP,
             "tests/settings.py": "SECRET_KEY = 'x'\n"}  # fmt: skip
    project(tmp_path, files)
    env = infer_recipe(tmp_path).environment
    assert env.install == ["uv pip install -r requirements-extra.txt -e '.[tests]'"]
    assert {"redis", "coverage", "unittest-xml-reporting", "pytest-django"} <= set(env.packages)
    assert "django" not in env.packages  # the project already requires Django: its own pin stands
    assert env.log_parser == "pytest"
    assert env.env_vars == {"PYTHONPATH": "/testbed", "DJANGO_SETTINGS_MODULE": "tests.settings"}  # no PIP_*


def test_setup_cfg_and_pyproject_carry_tox_too(tmp_path):
    cfg = "[tox:tox]\nenvlist = py39\n[testenv]\ndeps = hypothesis\nsetenv = MODE=strict\n"
    tox = tox_settings(project(tmp_path / "a", {"setup.cfg": cfg}), (3, 9))
    assert tox and tox.env == "py39" and tox.deps == ["hypothesis"] and tox.setenv == {"MODE": "strict"}
    legacy = '[tool.tox]\nlegacy_tox_ini = """\n[tox]\nenvlist = py311\n[testenv]\ndeps = attrs\n"""\n'
    tox = tox_settings(project(tmp_path / "b", {"pyproject.toml": legacy}), (3, 11))
    assert tox and tox.env == "py311" and tox.deps == ["attrs"]
    native = ('[tool.tox]\nenv_list = ["3.13", "lint"]\n[tool.tox.env_run_base]\ndeps = ["trio"]\n'
              'extras = ["test"]\nset_env = { STRICT = "1" }\n')  # fmt: skip
    tox = tox_settings(project(tmp_path / "c", {"pyproject.toml": native}), (3, 13))
    assert tox and tox.deps == ["trio"] and tox.extras == ["test"] and tox.setenv == {"STRICT": "1"}


def test_pytest_plugins_the_configuration_relies_on(tmp_path):
    ini = ("[pytest]\naddopts = -ra --cov=app -n auto -p no:cacheprovider\n"
           "DJANGO_SETTINGS_MODULE = tests.settings\nrequired_plugins = pytest-timeout>=2\nasyncio_mode = auto\n"
           "env =\n    D:REDIS_URL=redis://localhost\n")  # fmt: skip
    settings = run_settings(project(tmp_path, {"pytest.ini": ini}), "pytest", {"pytest-xdist"}, None)
    assert settings.packages == ["pytest-timeout", "pytest-cov", "pytest-django", "pytest-asyncio"]
    assert settings.env_vars == {"REDIS_URL": "redis://localhost"}  # pytest-env is not installed: set directly
    assert run_settings(project(tmp_path / "u", {"pytest.ini": ini}), "unittest", set(), None).packages == []


def test_django_settings_in_setup_cfg_bring_pytest_django_once(tmp_path):
    cfg = "[tool:pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\ndjango_find_project = false\n"
    files = {"setup.cfg": cfg, "setup.py": SETUP, "conftest.py": ""}
    env = infer_recipe(project(tmp_path, files).root).environment
    assert env.packages.count("pytest-django") == 1 and env.env_vars == {}
    files = {"setup.cfg": cfg, "setup.py": SETUP, "conftest.py": "", "requirements-test.txt": "pytest-django==3.4\n"}
    env = infer_recipe(project(tmp_path / "named", files).root).environment
    assert "pytest-django" not in env.packages  # the project's own pin stands


def test_test_files_name_the_plugins_they_use(tmp_path):
    files = {"testing/benchmark.py": "def test_fast(benchmark):\n    benchmark(len, [])\n",
             "tests/test_a.py": "import pytest\n\n@pytest.mark.asyncio\nasync def test_b(mocker, tmp_path):\n    ...\n",
             "tests/conftest.py": "import pytest\n\n@pytest.fixture\ndef freezer():\n    yield\n",
             "tests/test_c.py": "def test_c(freezer):\n    pass\n"}  # fmt: skip
    scan = scan_test_files(project(tmp_path, files))
    assert scan.uses_pytest and scan.files == 4
    assert set(scan.plugins) == {"pytest-benchmark", "pytest-mock", "pytest-asyncio"}  # freezer is the project's own
    assert "testing/benchmark.py" in scan.plugins["pytest-benchmark"]


def test_a_django_app_runs_under_pytest_django_with_its_test_settings(tmp_path):
    runtests = ("import os, sys\nfrom django.core.management import execute_from_command_line\n"
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings')\n"
                "execute_from_command_line(sys.argv[:1] + ['test'] + sys.argv[1:])\n")  # fmt: skip
    files = {"setup.py": SETUP, "runtests.py": runtests, "tests/settings.py": "SECRET_KEY = 'x'\n",
             "tests/test_views.py": "from django.test import TestCase\n\n\nclass T(TestCase):\n    pass\n"}  # fmt: skip
    env = infer_recipe(project(tmp_path / "app", files).root).environment
    assert env.log_parser == "pytest" and "pytest-django" in env.packages
    assert env.env_vars["DJANGO_SETTINGS_MODULE"] == "tests.settings"
    # an app whose conftest configures Django itself gets no settings module forced on it
    files["tests/conftest.py"] = "from django.conf import settings\n\nsettings.configure(DEBUG=True)\n"
    del files["runtests.py"]
    env = infer_recipe(project(tmp_path / "own", files).root).environment
    assert "DJANGO_SETTINGS_MODULE" not in env.env_vars


def test_pbr_extras_in_setup_cfg(tmp_path):
    cfg = "[metadata]\nname = mock\n[extras]\ntest =\n  unittest2>=1.1.0\ndocs =\n  sphinx:python_version<'3'\n"
    env = infer_recipe(project(tmp_path, {"setup.py": "import setuptools\nsetuptools.setup(pbr=True)\n",
                                          "setup.cfg": cfg}).root).environment  # fmt: skip
    assert env.install == ["uv pip install -e '.[test]'"]
    # and as packages: pbr 1.8 built under setuptools 68 leaves [extras] out of the metadata (mock 2016's
    # tests then cannot import unittest2), so the extra's requirements are installed by name too
    assert env.packages == ["unittest2>=1.1.0"]
