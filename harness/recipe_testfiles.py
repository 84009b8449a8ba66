"""What a project's test files use, read as text (never imported): pytest itself, fixtures and markers
that only a plugin defines, and Django (an app's settings module), so that the environment has them.

A test module that uses what the install lacks errors in the base and the gold run alike (issue 14,
class 12): pluggy's benchmarks take pytest-benchmark's `benchmark` fixture, dask's partd imports
pytest without naming it anywhere else, django-filter's TestCases need a settings module.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swefarm.harness.recipe import ProjectFiles

#: Fixtures only a plugin defines (unambiguous names), and the plugin.
FIXTURE_PLUGINS = {
    "mocker": "pytest-mock", "benchmark": "pytest-benchmark", "freezer": "pytest-freezer",
    "httpserver": "pytest-httpserver", "requests_mock": "requests-mock", "datadir": "pytest-datadir",
    "shared_datadir": "pytest-datadir", "httpx_mock": "pytest-httpx", "respx_mock": "respx",
    "aiohttp_client": "pytest-aiohttp", "xprocess": "pytest-xprocess", "django_user_model": "pytest-django",
    "admin_client": "pytest-django", "django_db_setup": "pytest-django", "rf": "pytest-django",
    "subtests": "pytest-subtests", "lazy_fixture": "pytest-lazy-fixture",
}  # fmt: skip
#: Markers whose tests do not run as meant without their plugin, and the plugin.
MARKER_PLUGINS = {"asyncio": "pytest-asyncio", "trio": "pytest-trio", "django_db": "pytest-django",
                  "benchmark": "pytest-benchmark", "vcr": "pytest-recording"}  # fmt: skip
_PRUNE = {".git", ".tox", ".nox", "node_modules", "docs", "doc", "build", "dist", "venv", ".venv", "site-packages"}
_TEST_DIRS = {"test", "tests", "testing"}
_TEST_FILE = re.compile(r"^(test_.*|.*_test|tests|conftest)\.py$")
_PYTEST = re.compile(r"^\s*(import pytest|from pytest\b|from _pytest\b)|@pytest\.", re.M)
_PARAMS = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(([^)]*)\)", re.M)
_MARKER = re.compile(r"pytest\.mark\.(\w+)")
_DJANGO = re.compile(r"^\s*(from|import) django\b", re.M)
_SETTINGS_IN_TEXT = re.compile(r"""DJANGO_SETTINGS_MODULE["']?\s*[,=:]\s*["']([\w.]+)["']""")
_SETTINGS_FILES = ("tests/settings.py", "tests/test_settings.py", "test_settings.py", "tests/settings/__init__.py")
MAX_FILES = 400
MAX_BYTES = 100_000


@dataclass
class TestFileScan:
    """What the test files use."""

    __test__ = False  # not a test class, whatever its name

    files: int = 0
    uses_pytest: bool = False
    plugins: dict[str, str] = field(default_factory=dict)  # plugin -> why
    uses_django: bool = False
    django_settings: str = ""  # the settings module an app's tests run with, "" when none is found


def scan_test_files(project: ProjectFiles) -> TestFileScan:
    """Scan at most MAX_FILES test modules and conftest.py files of the checkout."""
    scan = TestFileScan()
    texts = list(_test_texts(project))
    scan.files = len(texts)
    defined: set[str] = set()
    used: dict[str, str] = {}
    markers: dict[str, str] = {}
    configured = False
    for rel, text in texts:
        scan.uses_pytest = scan.uses_pytest or bool(_PYTEST.search(text))
        scan.uses_django = scan.uses_django or bool(_DJANGO.search(text))
        configured = configured or (rel.endswith("conftest.py") and "settings.configure(" in text)
        for name, params in _PARAMS.findall(text):
            defined.add(name)
            for param in (p.split(":")[0].split("=")[0].strip() for p in params.split(",")):
                used.setdefault(param, rel)
        for marker in _MARKER.findall(text):
            markers.setdefault(marker, rel)
    for fixture, plugin in FIXTURE_PLUGINS.items():
        if fixture in used and fixture not in defined:
            scan.plugins.setdefault(plugin, f"the {fixture} fixture in {used[fixture]}")
    for marker, plugin in MARKER_PLUGINS.items():
        if marker in markers:
            scan.plugins.setdefault(plugin, f"pytest.mark.{marker} in {markers[marker]}")
    if scan.uses_django and not configured:  # a conftest that configures Django itself needs no module
        scan.django_settings = django_settings_module(project)
    return scan


def django_settings_module(project: ProjectFiles) -> str:
    """The settings module a Django app's tests use: named by its runner scripts, else a test settings file."""
    for rel in ("runtests.py", "tests/runtests.py", "manage.py", "conftest.py", "tests/conftest.py", "tox.ini",
                "setup.cfg", "pytest.ini", "pyproject.toml"):  # fmt: skip
        if match := _SETTINGS_IN_TEXT.search(project.text(rel)):
            return match.group(1)
    for rel in _SETTINGS_FILES:
        if project.exists(rel):
            return rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    return ""


def _test_texts(project: ProjectFiles):
    root = str(project.root)
    count = 0
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _PRUNE and not d.startswith("."))
        in_tests = bool(_TEST_DIRS & set(os.path.relpath(here, root).split(os.sep)))
        for name in sorted(files):
            if not (_TEST_FILE.match(name) or (in_tests and name.endswith(".py"))):
                continue
            path = os.path.join(here, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read(MAX_BYTES)
            except OSError:
                continue
            yield os.path.relpath(path, root), text
            count += 1
            if count >= MAX_FILES:
                return
