"""SWE-bench's own environment specifications, translated into our layered images (no conda).

The official `swebench` package holds per-repository, per-version specifications (Python version,
install command, packages, pre-install steps, test command) in its 4.x releases, in
`swebench/harness/constants/python.py` (4.1.0 is the last that carries them). That file imports
nothing, so it is read on its own, without importing the package or its dependencies: install it
with `pip install --no-deps swebench==4.1.0`. Only SWE-bench-format imports use this path; mined
repositories are always inferred.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import runpy
import shlex
from pathlib import Path
from typing import Any

from swefarm.harness.recipe_runner import BASE_COMMANDS
from swefarm.tasks.models import Environment, Task

#: Provenance sources whose tasks come in SWE-bench's format and may use its specifications.
SPEC_SOURCES = ("swe-bench", "swe-gym")
_EXPORT = re.compile(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_LEADING_VARS = re.compile(r"^((?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|\"[^\"]*\"|\S+)\s+)+)")


class SpecsUnavailableError(RuntimeError):
    """The `swebench` 4.x package (with its specifications) is not installed."""


@functools.cache
def load_specs() -> dict[str, Any]:
    """The specification tables of the installed `swebench` 4.x: MAP_REPO_VERSION_TO_SPECS_PY and friends."""
    found = importlib.util.find_spec("swebench")
    roots = list(found.submodule_search_locations or []) if found else []
    path = next(
        (Path(r) / "harness/constants/python.py" for r in roots if (Path(r) / "harness/constants/python.py").is_file()),
        None,
    )
    if path is None:
        raise SpecsUnavailableError(
            "SWE-bench's specifications need the swebench 4.x package: pip install --no-deps swebench==4.1.0"
        )
    return runpy.run_path(str(path))


def spec_for(task: Task) -> dict[str, Any] | None:
    """SWE-bench's specification for the task's repository and version, or None (mined tasks: always None)."""
    if not task.provenance.source.lower().startswith(SPEC_SOURCES):
        return None
    table = load_specs().get("MAP_REPO_VERSION_TO_SPECS_PY", {})
    return (table.get(task.repo) or {}).get(str(task.version))


def environment_from_spec(
    spec: dict[str, Any], repo: str, tables: dict[str, Any] | None = None
) -> tuple[Environment, list[str]]:
    """`spec` as our Environment (uv instead of pip and conda), with notes on what was translated how."""
    tables = tables if tables is not None else load_specs()
    notes: list[str] = []
    install = [_uv(cmd) for cmd in _lines(spec.get("install"))]
    packages: list[str] = []
    requirements: list[str] = []
    named = str(spec.get("packages") or "").strip()
    if named == "requirements.txt":
        requirements = list(tables.get("MAP_REPO_TO_REQS_PATHS", {}).get(repo, []))
        notes.append(f"packages from the repository's {', '.join(requirements) or 'requirements'}")
    elif named == "environment.yml":
        notes.append(
            "a conda environment.yml is not used (no conda): its packages come from the project's own metadata"
        )
    elif named:
        packages += shlex.split(named)
    packages += [str(p) for p in spec.get("pip_packages") or []]
    env_vars: dict[str, str] = {}
    for cmd in _lines(spec.get("eval_commands")):
        if match := _EXPORT.match(cmd.strip()):
            env_vars[match.group(1)] = _unquote(match.group(2))
    test_cmd = str(spec.get("test_cmd") or "")
    if isinstance(spec.get("test_cmd"), list):
        test_cmd = " ".join(spec["test_cmd"])
    if match := _LEADING_VARS.match(test_cmd):
        for word in shlex.split(match.group(1)):
            key, _, value = word.partition("=")
            env_vars[key] = value
    runner = "django" if "runtests.py" in test_cmd else "sympy" if "bin/test" in test_cmd else "pytest"
    if requirements:
        install = [f"uv pip install {' '.join('-r ' + shlex.quote(r) for r in requirements)}", *install]
    env = Environment(
        python=str(spec.get("python") or "") or None,
        pre_install=list(_lines(spec.get("pre_install"))),
        install=install,
        packages=packages,
        requirements_files=requirements,
        env_vars=env_vars,
        test_command=BASE_COMMANDS[runner],
        log_parser=runner,
    )
    notes.append(f"SWE-bench spec: python {spec.get('python')}, install {spec.get('install')!r}, runner {runner}")
    return env, notes


def _lines(value: Any) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _uv(cmd: str) -> str:
    """`python -m pip install -v --no-use-pep517 -e .` -> `uv pip install --no-build-isolation -e .`."""
    out = re.sub(r"^(python\d?(\.\d+)? -m )?pip3? install\b", "uv pip install", cmd.strip())
    if not out.startswith("uv pip install"):
        return out
    words = [w for w in shlex.split(out) if w not in ("-v", "-vv", "-q", "--verbose")]
    if "--no-use-pep517" in words:
        words = [w for w in words if w != "--no-use-pep517"]
        if "--no-build-isolation" not in words:
            words.insert(3, "--no-build-isolation")
    return shlex.join(words)


def _unquote(value: str) -> str:
    words = shlex.split(value)
    return words[0] if len(words) == 1 else value
