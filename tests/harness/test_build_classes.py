"""Environment builds on fixture repositories that reproduce each build failure class (issue 14).

Real git, the real Docker engine and the real package index (builds have network, as they do for
users); each test says which class it reproduces and which install step must have worked.
"""

from __future__ import annotations

import pytest
from fixture_projects import make_project, task_for
from swefarm.harness.pipeline import build_task, validate_task

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SCM_PYPROJECT = """[build-system]
requires = ["setuptools>=64", "setuptools-scm>=8"]
build-backend = "setuptools.build_meta"
[project]
name = "widget"
dynamic = ["version"]
requires-python = ">=3.9"
[project.optional-dependencies]
test = ["pytest"]
[tool.setuptools]
py-modules = ["widget"]
[tool.setuptools_scm]
"""


def _build(docker_client, tmp_path, name, files, when, **kw):
    repo, commits = make_project(tmp_path, name.split("/")[1], files, when, **kw)
    task = task_for(name, commits, when)
    return build_task(docker_client, task, {name: repo}, log=lambda *a: None), repo


def test_a_version_from_git_builds_without_git(docker_client, tmp_path):
    """Class 1: setuptools-scm takes the version from git; the build context has no .git."""
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/scm", {"pyproject.toml": SCM_PYPROJECT},
                                "2024-05-01T12:00:00Z")  # fmt: skip
    assert outcome.ok, task.status_reason
    assert task.extra["build"]["install_step"] == "recipe"
    assert task.extra["build"]["path"] == "inferred"
    checked, result = validate_task(docker_client, task, runs=1)
    assert result.ok, checked.status_reason  # the package imports: it really is installed


def test_a_backend_without_editable_hooks_falls_back(docker_client, tmp_path):
    """Class 2: setuptools~=62.6 has no build_editable; a later step installs it anyway, and records which."""
    pyproject = SCM_PYPROJECT.replace('"setuptools>=64", "setuptools-scm>=8"', '"setuptools~=62.6"').replace(
        'dynamic = ["version"]', 'version = "1.0"'
    )
    pyproject = pyproject.replace("[tool.setuptools_scm]\n", "")
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/legacy", {"pyproject.toml": pyproject},
                                "2022-09-01T12:00:00Z")  # fmt: skip
    assert outcome.ok, task.status_reason
    assert task.extra["build"]["install_step"] in ("no-isolation", "non-editable")
    checked, result = validate_task(docker_client, task, runs=1)
    assert result.ok, checked.status_reason  # the checkout is what the tests import


def test_ancient_pins_that_crash_the_runner_keep_the_requirements_with_a_newer_runner(docker_client, tmp_path):
    """Class 3: a requirements file pins pytest 2.6 (2014), which installs and crashes on this Python;
    the runner (and its plugins) of the Python's maturity replaces it, every other requirement kept."""
    files = {"setup.py": "from setuptools import setup\nsetup(name='widget', py_modules=['widget'])\n",
             "requirements-test.txt": "pytest==2.6.4\nsix==1.16.0\n",
             "tox.ini": "[testenv]\ncommands = pytest\n"}  # fmt: skip
    test = "import six\nfrom widget import add\n\n\ndef test_add():\n    assert six and add(2, 3) == 5\n"
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/ancient", files, "2024-02-01T12:00:00Z", test=test)
    assert outcome.ok, task.status_reason
    assert task.extra["build"]["install_step"] == "newer-runner"
    checked, result = validate_task(docker_client, task, runs=1)
    assert result.ok, checked.status_reason  # six, from the requirements file, is there


@pytest.mark.timeout(900)  # the recipe and every fallback before package-only, each in a fresh venv
def test_a_requirement_that_no_longer_installs_falls_back_to_the_package_and_a_runner(docker_client, tmp_path):
    """Class 3: every release of a requirement is yanked now (types-pkg_resources, as sqlfluff's dev
    requirements name it): no install of the file works, so the package and the runner of its date do."""
    files = {"setup.py": "from setuptools import setup\nsetup(name='widget', py_modules=['widget'])\n",
             "requirements-test.txt": "pytest\ntypes-pkg_resources\npytest-timeout==2.2.0\n",
             "pytest.ini": "[pytest]\ntimeout = 60\n"}  # fmt: skip
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/yanked", files, "2024-02-01T12:00:00Z")
    assert outcome.ok, task.status_reason
    assert task.extra["build"]["install_step"] == "package-only"
    # the pytest plugin the file names comes along (unpinned): the configuration's `timeout` relies on it
    check = ["/opt/venv/bin/python", "-c", "import pytest_timeout; print('ok')"]
    shown = docker_client.containers.run(task.environment.image, check, remove=True, network_disabled=True)
    assert shown.strip() == b"ok", shown


def test_a_c_extension_gets_a_toolchain(docker_client, tmp_path):
    """Class 12: a C extension needs a compiler and Python's headers in the image."""
    setup = ("from setuptools import setup, Extension\n"
             "setup(name='widget', py_modules=['widget'], ext_modules=[Extension('fast', ['fast.c'])])\n")  # fmt: skip
    fast = ('#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "fast", 0, -1, 0};\n'
            "PyMODINIT_FUNC PyInit_fast(void) { return PyModule_Create(&m); }\n")  # fmt: skip
    test = "import fast\nfrom widget import add\n\n\ndef test_add():\n    assert fast and add(2, 3) == 5\n"
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/cext", {"setup.py": setup, "fast.c": fast,
                                "pytest.ini": "[pytest]\n"}, "2024-02-01T12:00:00Z", test=test)  # fmt: skip
    assert outcome.ok, task.status_reason
    checked, result = validate_task(docker_client, task, runs=1)
    assert result.ok, checked.status_reason


def test_tox_deps_and_settings_make_a_django_plugin_test_run(docker_client, tmp_path):
    """Class 12: the test module errors in base and gold alike unless the install takes tox's deps
    (Django is only there), its setenv (the settings module, a variable) and pytest-django."""
    tox = ("[tox]\nenvlist = py{39,311}-dj42, lint\n[testenv]\ndeps =\n    pytest\n    dj42: Django>=4.2,<5\n"
           "setenv =\n    DJANGO_SETTINGS_MODULE = tests.settings\n    WIDGET_MODE = tox\n"
           "commands = pytest\n")  # fmt: skip
    test = ("import os\n\nfrom widget import add\n\n\ndef test_add(settings):  # pytest-django's fixture\n"
            "    assert settings.GREETING == 'hi' and os.environ['WIDGET_MODE'] == 'tox'\n"
            "    assert add(2, 3) == 5\n")  # fmt: skip
    settings = "SECRET_KEY = 'x'\nINSTALLED_APPS = []\nGREETING = 'hi'\n"
    files = {"setup.py": "from setuptools import setup\nsetup(name='widget', py_modules=['widget'])\n",
             "tox.ini": tox, "tests/settings.py": settings}  # fmt: skip
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/toxdjango", files, "2024-02-01T12:00:00Z", test=test)
    assert outcome.ok, task.status_reason
    env = task.environment
    assert {"django", "pytest-django"} <= set(env.packages) and env.python == "3.11", env
    assert env.env_vars == {"DJANGO_SETTINGS_MODULE": "tests.settings", "WIDGET_MODE": "tox"}
    checked, result = validate_task(docker_client, task, runs=1)
    assert result.ok, checked.status_reason
    assert checked.FAIL_TO_PASS == ["tests/test_fix.py::test_add"]


def test_numpy_kernels_do_not_depend_on_the_machine_that_grades(docker_client, tmp_path):
    """numpy picks SIMD kernels by the CPU at run time, and its AVX-512 ones round differently: the image
    turns off the AVX-512 targets its numpy dispatches, so every machine computes the same results."""
    import platform

    setup = "from setuptools import setup\nsetup(name='widget', py_modules=['widget'], install_requires=['numpy'])\n"
    files = {"setup.py": setup, "pytest.ini": "[pytest]\n"}
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/simd", files, "2024-02-01T12:00:00Z")
    assert outcome.ok, task.status_reason
    env = dict(e.split("=", 1) for e in docker_client.images.get(task.environment.image).attrs["Config"]["Env"])
    if platform.machine() in ("x86_64", "AMD64"):
        assert {"AVX512F", "AVX512_SKX"} <= set(env["NPY_DISABLE_CPU_FEATURES"].split()), env
    checked, result = validate_task(docker_client, task, runs=1)  # numpy imports with them off
    assert result.ok, checked.status_reason


def test_a_compiled_dependency_with_no_wheel_at_the_date_comes_from_the_pythons_first_wheels(docker_client, tmp_path):
    """A dependency too slow to compile (numpy) has no wheel for the image's Python at the task's date
    (numpy 1.18, mid-2020, has none for 3.9 or later): it is not compiled for tens of minutes, as
    pvlib 2020's numba was; it resolves as of the Python's maturity, and the step says so."""
    setup = "from setuptools import setup\nsetup(name='widget', py_modules=['widget'], install_requires=['numpy'])\n"
    test = "import numpy\nfrom widget import add\n\n\ndef test_add():\n    assert add(2, 3) == numpy.int64(5)\n"
    files = {"setup.py": setup, "pytest.ini": "[pytest]\n"}
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/wheels", files, "2020-06-01T12:00:00Z", test=test)
    assert outcome.ok, task.status_reason
    assert task.extra["build"]["install_step"] == "recipe+later-wheels", task.extra["build"]
    checked, result = validate_task(docker_client, task, runs=1)
    assert result.ok, checked.status_reason  # numpy imports and the tests run


@pytest.mark.timeout(1200)  # two environments, two validations
def test_a_test_that_needs_a_newer_python_is_retried_on_one(docker_client, tmp_path):
    """Class 4: the task's date and metadata pick 3.9; its new test needs tomllib (3.11) and is skipped there."""
    setup = ("from setuptools import setup\nsetup(name='widget', py_modules=['widget'], classifiers=["
             "'Programming Language :: Python :: 3.9'])\n")  # fmt: skip
    test = ("import pytest\n\ntomllib = pytest.importorskip('tomllib')\nfrom widget import add\n\n\n"
            "def test_add():\n    assert add(2, 3) == 5 and tomllib.loads('a = 1') == {'a': 1}\n")  # fmt: skip
    (task, outcome), _ = _build(docker_client, tmp_path, "fixture/newpy", {"setup.py": setup, "conftest.py": ""},
                                "2022-03-01T12:00:00Z", test=test)  # fmt: skip
    assert outcome.ok and task.environment.python == "3.9", task.status_reason
    checked, result = validate_task(docker_client, task, runs=1)
    retry = checked.extra["build"]["python_retry"]
    assert (retry["from"], retry["to"], retry["valid"]) == ("3.9", "3.11", True), retry
    assert result.ok and checked.environment.python == "3.11", checked.status_reason


@pytest.mark.timeout(1200)  # the failing recipe is tried through every fallback step, twice
def test_a_failed_build_is_remembered_and_not_rebuilt_until_forced(docker_client, tmp_path, monkeypatch):
    """Class 8: the failure is kept with its reason and recipe hash; a sibling task does not rebuild it."""
    import time

    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path / "home"))
    files = {"setup.py": "raise SystemExit('this setup.py always fails')\n"}
    repo, commits = make_project(tmp_path, "broken", files, "2024-02-01T12:00:00Z")
    first, out1 = build_task(docker_client, task_for("fixture/broken", commits, "2024-02-01T12:00:00Z"),
                             {"fixture/broken": repo}, log=lambda *a: None)  # fmt: skip
    assert not out1.ok and "this setup.py always fails" in first.status_reason
    sibling = task_for("fixture/broken", commits, "2024-02-01T12:00:00Z").model_copy(update={"instance_id": "b-2"})
    start = time.monotonic()
    second, out2 = build_task(docker_client, sibling, {"fixture/broken": repo}, log=lambda *a: None)
    assert not out2.ok and "failed before" in second.status_reason and "--force" in second.status_reason
    assert "this setup.py always fails" in second.status_reason  # the reason is kept whole
    assert time.monotonic() - start < 10  # no build ran
    assert second.extra["build"]["failure_class"] == first.extra["build"]["failure_class"]
    forced, out3 = build_task(docker_client, sibling, {"fixture/broken": repo}, force=True, log=lambda *a: None)
    assert not out3.ok and "failed before" not in forced.status_reason
