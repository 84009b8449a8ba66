"""Imports run one way: a module imports only from its own layer or the layers below (docs/architecture.md).

Every `import` counts, at the top of a module or inside a function (a lazy import is still a
dependency). The rules are the table in docs/architecture.md; a failure names the module, the line
and the layer it reached up to.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = {"swefarm.errors", "swefarm.settings"}  # swefarm/errors.py and swefarm/settings.py: import nothing of ours
TOP = {"swefarm", "swefarm.entry_points"}  # the package's __init__ (registers the ids) and the env entry points

#: layer -> the layers it may import (besides itself and the core)
ALLOWED: dict[str, set[str]] = {
    "tasks": set(),
    "sandbox": set(),
    "rewards": set(),
    "harness": {"tasks", "sandbox"},
    "miner": {"tasks", "sandbox", "harness"},
    "envs": {"tasks", "sandbox", "rewards", "harness"},
    "perturb": {"tasks", "sandbox", "rewards", "harness", "envs"},
    "policy": {"envs"},  # and only its pure modules (below); the rollout builds envs (below)
    "api": {"tasks", "sandbox", "rewards", "harness", "envs", "perturb", "policy"},
    "optimize": {"api", "envs"},  # a client of the API (below)
    "bench": {"tasks", "sandbox", "rewards", "harness", "miner", "envs", "perturb", "policy", "api"},
    "cli": {"tasks", "sandbox", "rewards", "harness", "miner", "envs", "perturb", "policy", "api", "optimize", "bench"},
}
#: Policies speak to envs through the Gymnasium API: they may import envs' data and formats, never an env.
POLICY_MAY_USE = ("swefarm.envs.models", "swefarm.envs.formats", "swefarm.envs.config")
#: The rollout is the one policy module that builds envs (SWEEnv, the perturbation wrappers) for its episodes.
ROLLOUT = ("swefarm.policy.rollout", {"envs", "perturb", "sandbox", "tasks"})
#: Inside api: the contract depends on no side; the client only on the contract; server and worker never on
#: each other (they share api.farm); the optimisation loop only on the client and the contract.
API_SIDES = {
    "contract": set(),
    "client": {"contract"},
    "farm": {"contract"},
    "server": {"contract", "farm"},
    "worker": {"contract", "farm"},
    "local": {"contract", "farm", "server", "client"},  # a farm on this machine, and a client for it
}


def _package_of(folder: str) -> str:
    return "swefarm" if folder == "swefarm" else f"swefarm.{folder}"


def _modules():
    for folder in ["swefarm", *ALLOWED]:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            yield ".".join([_package_of(folder), *parts]), path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "swefarm":  # from swefarm import perturb: the subpackage is what is imported
                for alias in node.names:
                    yield node.lineno, f"swefarm.{alias.name}"
            else:
                yield node.lineno, node.module


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "swefarm":
        return None
    if module in CORE or ".".join(parts[:2]) in CORE:
        return "core"
    if len(parts) == 1 or module in TOP:
        return "top"
    return parts[1] if parts[1] in ALLOWED else "top"


def _violations() -> list[str]:
    found = []
    for module, path in _modules():
        source = _layer(module)
        for line, target in _imports(path):
            layer = _layer(target)
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if layer is None or layer == "core" or source == "top":
                if source == "core" and layer is not None:
                    found.append(f"{where} (the core imports nothing of swefarm's)")
                continue
            if layer == source:
                if source == "api":
                    found += _api_side(module, target, where)
                continue
            if layer == "top" or layer not in ALLOWED[source]:
                if module.startswith(ROLLOUT[0]) and layer in ROLLOUT[1]:
                    continue
                found.append(f"{where} ({source} may not import {layer})")
            elif source == "policy" and layer == "envs" and not module.startswith(ROLLOUT[0]):
                if not target.startswith(POLICY_MAY_USE):
                    found.append(f"{where} (a policy sees envs only through the Gymnasium API)")
            elif (
                source == "optimize"
                and layer == "api"
                and not target.startswith(("swefarm.api.client", "swefarm.api.contract"))
            ):
                found.append(f"{where} (the optimisation loop is a client: api.client and api.contract only)")
    return found


def _api_side(module: str, target: str, where: str) -> list[str]:
    side, other = module.split(".")[2:3], target.split(".")[2:3]
    if not side or not other or side == other or other[0] not in API_SIDES or side[0] not in API_SIDES:
        return []
    return [] if other[0] in API_SIDES[side[0]] else [f"{where} (api.{side[0]} may not import api.{other[0]})"]


def test_no_import_runs_upward():
    assert _violations() == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The rule itself, on the two upward imports this project once had."""
    assert _layer("swefarm.perturb") == "perturb" and "perturb" not in ALLOWED["envs"]  # registration's lazy import
    assert "policy" not in ALLOWED["envs"]  # envs/bench.py imported policy.scripted
    fake = tmp_path / "envs_module.py"
    fake.write_text("def make():\n    from swefarm.perturb import wrap\n    return wrap\n")
    assert list(_imports(fake)) == [(2, "swefarm.perturb")]


def test_every_package_folder_has_a_layer():
    import tomllib

    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert set(dirs.values()) - {"swefarm"} == set(ALLOWED)
