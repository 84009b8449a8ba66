"""The process settings: one object, one rule for empty values, read again when the environment changes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from swefarm import settings
from swefarm.settings import VARIABLES, current, load, swefarm_home

ROOT = Path(__file__).resolve().parents[2]


def test_an_empty_variable_is_the_same_as_an_unset_one(monkeypatch, tmp_path):
    monkeypatch.setenv("SWEFARM_HOME", "")
    monkeypatch.setenv("SWEFARM_MAX_SANDBOXES", "  ")
    assert current().home == Path.home() / ".swefarm" and current().max_sandboxes == 64
    monkeypatch.setenv("SWEFARM_HOME", str(tmp_path / "home"))
    assert swefarm_home() == tmp_path / "home" and (tmp_path / "home").is_dir()


def test_every_store_under_home_follows_the_same_rule(monkeypatch, tmp_path):
    from swefarm.api.farm.settings import default_database_url
    from swefarm.tasks.store import default_store_path

    for value, home in (("", Path.home() / ".swefarm"), (str(tmp_path), tmp_path)):
        monkeypatch.setenv("SWEFARM_HOME", value)
        assert default_store_path() == home / "tasks.db"
        assert default_database_url() == f"sqlite:///{home / 'api.db'}"


def test_the_object_is_the_same_until_a_variable_changes(monkeypatch):
    first = current()
    assert current() is first
    monkeypatch.setenv("SWEFARM_MAX_SANDBOXES", "7")
    assert current() is not first and current().max_sandboxes == 7


def test_a_bad_value_names_its_variable():
    with pytest.raises(ValueError, match="SWEFARM_MAX_SANDBOXES"):
        load({"SWEFARM_MAX_SANDBOXES": "lots"})
    with pytest.raises(ValueError, match="SWEFARM_MAX_SANDBOXES"):
        load({"SWEFARM_MAX_SANDBOXES": "0"})


def test_the_sandbox_cap_comes_from_the_settings_not_from_import_time(monkeypatch):
    from swefarm.sandbox import registry

    monkeypatch.setattr(registry, "_cap", None)
    monkeypatch.setenv("SWEFARM_MAX_SANDBOXES", "5")
    assert registry.cap() == 5


def test_no_module_reads_a_settings_variable_from_the_environment_itself():
    """Only swefarm/settings.py reads these variables (docstrings and messages may name them)."""
    names = set(VARIABLES.values())
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests", "build") or path == Path(settings.__file__).resolve():
            continue
        tree = ast.parse(path.read_text(), str(rel))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = ast.unparse(node.func)
                if target in ("os.environ.get", "os.getenv", "environ.get") and node.args:
                    arg = node.args[0]
                    if isinstance(arg, ast.Constant) and arg.value in names:
                        offenders.append(f"{rel}:{node.lineno} {arg.value}")
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                key = node.slice
                if isinstance(key, ast.Constant) and key.value in names:
                    offenders.append(f"{rel}:{node.lineno} {key.value}")
    assert not offenders, offenders
