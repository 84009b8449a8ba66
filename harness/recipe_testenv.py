"""What a project's test configuration asks of its environment beyond the install (issue 14, class 12).

- pytest plugins the configuration relies on: `required_plugins`, an `addopts` flag only a plugin
  defines (`--cov`, `-n`, `--ds`...: pytest refuses to start without it), an ini option only a
  plugin reads (`DJANGO_SETTINGS_MODULE`, `asyncio_mode`...), and pytest-django whenever a Django
  settings module is named (pytest configuration or tox setenv) for a pytest run;
- variables: tox's setenv of the chosen environment (harness/recipe_tox.py) and pytest-env's `env`
  option, set in the image, so every run (build check, validation, grading) sees them.

A plugin the install already names is never added twice; nothing here is executed.
"""

from __future__ import annotations

import re
import shlex
from configparser import ConfigParser
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from swefarm.harness.recipe_install import requirement_name

if TYPE_CHECKING:
    from swefarm.harness.recipe import ProjectFiles
    from swefarm.harness.recipe_testfiles import TestFileScan
    from swefarm.harness.recipe_tox import ToxSettings

#: addopts flags (one ending in "-" is a prefix) and the plugins that define them.
OPTION_PLUGINS = {
    "--cov": "pytest-cov", "--cov-": "pytest-cov", "--no-cov": "pytest-cov", "-n": "pytest-xdist",
    "--numprocesses": "pytest-xdist", "--dist": "pytest-xdist", "--timeout": "pytest-timeout",
    "--reruns": "pytest-rerunfailures", "--benchmark-": "pytest-benchmark", "--asyncio-mode": "pytest-asyncio",
    "--ds": "pytest-django",    "--dc": "pytest-django", "--reuse-db": "pytest-django", "--create-db": "pytest-django",
    "--nomigrations": "pytest-django", "--no-migrations": "pytest-django", "--doctest-plus": "pytest-doctestplus",
    "--doctest-rst": "pytest-doctestplus", "--mypy": "pytest-mypy", "--flake8": "pytest-flake8",
    "--black": "pytest-black", "--isort": "pytest-isort", "--pep8": "pytest-pep8", "-p randomly": "pytest-randomly",
    "--randomly-": "pytest-randomly", "--html": "pytest-html", "--hypothesis-": "hypothesis",
    "--mpl": "pytest-mpl", "--remote-data": "pytest-remotedata", "--flakes": "pytest-flakes",
}  # fmt: skip
#: ini options only a plugin reads (normalised to lower case, as configparser keeps them).
INI_PLUGINS = {
    "django_settings_module": "pytest-django", "django_find_project": "pytest-django",
    "asyncio_mode": "pytest-asyncio", "asyncio_default_fixture_loop_scope": "pytest-asyncio",
    "timeout": "pytest-timeout", "mock_use_standalone_module": "pytest-mock", "flakes-ignore": "pytest-flakes",
    "mpl-baseline-path": "pytest-mpl", "doctest_plus": "pytest-doctestplus",
}  # fmt: skip
_KEEP_OUT = re.compile(r"^(PIP_|UV_|VIRTUAL_ENV$|PATH$|HOME$|TOX_|PYTHONHOME$|COV_CORE_|COVERAGE_)")


@dataclass
class RunSettings:
    """Packages and variables the tests need, and why."""

    packages: list[str] = field(default_factory=list)
    env_vars: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def pytest_options(project: ProjectFiles) -> tuple[dict[str, str], str]:
    """The pytest configuration's options (keys in lower case) and the file they are read from."""
    if text := project.text("pytest.ini"):
        parser = ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except Exception:  # configparser.Error and friends: pytest would refuse it too
            return {}, "pytest.ini (not valid INI)"
        return (dict(parser.items("pytest")) if parser.has_section("pytest") else {}), "pytest.ini"
    if project.exists("pytest.ini"):
        return {}, "pytest.ini"
    table = project.pyproject.get("tool", {}).get("pytest", {}).get("ini_options")
    if isinstance(table, dict):
        return {k.lower(): _ini_text(v) for k, v in table.items()}, "pyproject.toml"
    ini_files = ((project.tox_ini, "pytest", "tox.ini"), (project.setup_cfg, "tool:pytest", "setup.cfg"))
    for parser, section, source in ini_files:
        if parser.has_section(section):
            return dict(parser.items(section)), source
    return {}, ""


def _ini_text(value) -> str:
    if isinstance(value, list):
        return "\n".join(map(str, value))
    return str(value)


def run_settings(
    project: ProjectFiles, runner: str, named: set[str], tox: ToxSettings | None, scan: TestFileScan | None = None
) -> RunSettings:
    """Plugins to add (not already in `named`) and variables to set for a `runner` run of `project`
    (`scan`: what its test files use)."""
    out = RunSettings()
    env = {k: v for k, v in (tox.setenv if tox else {}).items() if not _KEEP_OUT.match(k)}
    if env:
        out.notes.append(f"variables from tox setenv: {', '.join(sorted(env))}")
    if runner != "pytest":
        out.env_vars = env
        return out
    options, source = pytest_options(project)
    wanted: dict[str, str] = {}
    for spec in options.get("required_plugins", "").split():
        if name := requirement_name(spec):
            wanted.setdefault(name, f"required_plugins in {source}")
    flags = _flags(options.get("addopts", ""))
    for flag, plugin in OPTION_PLUGINS.items():
        if flag in flags or (flag.endswith("-") and any(f.startswith(flag) for f in flags)):
            wanted.setdefault(plugin, f"addopts {flag} in {source}")
    for key, plugin in INI_PLUGINS.items():
        if key in options:
            wanted.setdefault(plugin, f"{key} in {source}")
    if "DJANGO_SETTINGS_MODULE" in env:
        wanted.setdefault("pytest-django", "DJANGO_SETTINGS_MODULE in tox setenv")
    for plugin, why in (scan.plugins if scan else {}).items():
        wanted.setdefault(plugin, why)
    django_named = "django_settings_module" in options or "--ds" in _flags(options.get("addopts", ""))
    if scan and scan.django_settings and not django_named and "DJANGO_SETTINGS_MODULE" not in env:
        env["DJANGO_SETTINGS_MODULE"] = scan.django_settings  # a Django app's test settings
        wanted.setdefault("pytest-django", f"a Django app with the settings module {scan.django_settings}")
        out.notes.append(f"DJANGO_SETTINGS_MODULE={scan.django_settings}, found in the app's test setup")
    for plugin, why in wanted.items():
        if plugin not in named:
            out.packages.append(plugin)
            out.notes.append(f"{plugin} added: {why}")
    if "env" in options and "pytest-env" not in named:
        for line in options["env"].splitlines():
            match = re.match(r"^\s*(?:[DR]:)*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
            if match and "{" not in match.group(2):
                env.setdefault(match.group(1), match.group(2).strip())
        out.notes.append(f"variables from pytest-env's env option in {source}")
    out.env_vars = env
    return out


def _flags(addopts: str) -> set[str]:
    """The options in an addopts line: `--cov=x` -> `--cov`, `-n4` -> `-n`, `-p randomly` kept whole."""
    try:
        words = shlex.split(addopts)
    except ValueError:
        words = addopts.split()
    flags = set()
    for i, word in enumerate(words):
        if word == "-p" and i + 1 < len(words):
            flags.add(f"-p {words[i + 1]}")
        elif word.startswith("--"):
            flags.add(word.split("=", 1)[0])
        elif word.startswith("-") and len(word) > 1:
            flags.add(word[:2])
    return flags
