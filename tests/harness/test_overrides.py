"""Overrides: the built-in table, user files merged over it, version keys, and errors that name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from swefarm.harness.overrides import (
    BUILTIN_OVERRIDES,
    OverrideError,
    apply_overrides,
    deep_merge,
    load_overrides,
    override_for,
)
from swefarm.harness.recipe_runner import BASE_COMMANDS
from swefarm.sandbox.bases import DEBIAN_RELEASES
from swefarm.tasks.models import Environment

# The repositories of SWE-bench Lite's dev split (the shared swe-bench-lite-dev.jsonl).
LITE_DEV_REPOS = (
    "sqlfluff/sqlfluff",
    "marshmallow-code/marshmallow",
    "pvlib/pvlib-python",
    "pylint-dev/astroid",
    "pyvista/pyvista",
    "pydicom/pydicom",
)
BASE_TEXTS = set(DEBIAN_RELEASES)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return path


def test_builtin_table_loads_and_every_entry_is_usable():
    table = load_overrides()
    assert "django/django" in table and "sympy/sympy" in table
    for repo, entry in table.items():
        for version in [None, *entry.get("versions", {})]:
            env = apply_overrides(Environment(), repo, version or "")
            assert env.python is None or env.python in BASE_TEXTS, repo
            assert env.log_parser is None or env.log_parser in BASE_COMMANDS, repo
            assert all(cmd.startswith(("uv pip install", "apt-get")) for cmd in [*env.install, *env.pre_install])


def test_builtin_facts_for_django_and_sympy():
    django = apply_overrides(Environment(), "django/django", "4.2")
    assert (django.log_parser, django.test_command, django.install) == (
        "django",
        "./tests/runtests.py",
        ["uv pip install -e ."],
    )
    sympy = apply_overrides(Environment(), "sympy/sympy", "1.12")
    assert (sympy.log_parser, sympy.test_command, sympy.python) == ("sympy", "bin/test", "3.9")
    assert "mpmath" in sympy.packages


def test_builtin_version_keys():
    assert apply_overrides(Environment(), "pydicom/pydicom", "2.4").python == "3.11"
    assert apply_overrides(Environment(), "pydicom/pydicom", "2.3").python == "3.9"


def test_every_lite_dev_repository_has_a_spec_or_a_sensible_override():
    from swefarm.harness.recipe_swebench import load_specs

    table, specs = load_overrides(), load_specs()["MAP_REPO_VERSION_TO_SPECS_PY"]
    for repo in LITE_DEV_REPOS:
        env = apply_overrides(Environment(install=["uv pip install -e ."]), repo, "")
        assert repo in specs or repo in table, repo
        assert env.python is None or env.python in BASE_TEXTS, repo


def test_an_override_never_forces_one_versions_extra_on_every_version():
    """marshmallow's `dev` extra exists from 2.x on: its spec gives it to SWE-bench imports, while a mined
    2017 task keeps the install inferred from its own checkout (dev-requirements.txt)."""
    inferred = Environment(install=["uv pip install -r dev-requirements.txt -e ."])
    assert apply_overrides(inferred, "marshmallow-code/marshmallow", "2.13.5") == inferred


def test_repo_then_version_deep_merge_lists_replace_and_mappings_merge():
    table = {"acme/w": {"packages": ["a"], "env_vars": {"X": "1"}, "versions": {"2.0": {"env_vars": {"Y": "2"}}}}}
    env = Environment(packages=["pytest"], env_vars={"Z": "0"}, install=["uv pip install -e ."])
    merged = apply_overrides(env, "Acme/W", "2.0", table)
    assert merged.packages == ["a"] and merged.env_vars == {"Z": "0", "X": "1", "Y": "2"}
    assert merged.install == ["uv pip install -e ."]
    assert apply_overrides(env, "acme/w", "1.0", table).env_vars == {"Z": "0", "X": "1"}
    assert apply_overrides(env, "other/repo", "1.0", table) is env


def test_a_user_file_merges_over_the_builtin_one(tmp_path):
    path = write(tmp_path, 'Django/Django:\n  python: "3.13"\n  env_vars: {TZ: UTC}\nnew/repo:\n  packages: [x]\n')
    table = load_overrides(path)
    django = apply_overrides(Environment(), "django/django", "5.0", table)
    assert django.python == "3.13" and django.log_parser == "django"
    assert django.env_vars == {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf8", "TZ": "UTC"}
    assert override_for("new/repo", "", table) == {"packages": ["x"]}
    assert set(load_overrides(path, include_builtin=False)) == {"django/django", "new/repo"}


def test_yaml_numbers_stay_as_written(tmp_path):
    path = write(tmp_path, "a/b:\n  python: 3.10\n  versions:\n    3.10: {packages: [x]}\n    0.20: {packages: [y]}\n")
    table = load_overrides(path, include_builtin=False)
    assert override_for("a/b", "3.10", table) == {"python": "3.10", "packages": ["x"]}
    assert override_for("a/b", "0.20", table)["packages"] == ["y"]


def test_an_empty_file_is_an_empty_table(tmp_path):
    assert load_overrides(write(tmp_path, "# nothing yet\n"), include_builtin=False) == {}


@pytest.mark.parametrize(
    "text, message",
    [
        ("a/b:\n  install: [unclosed\n", "not valid YAML at line"),
        ("- a/b\n", "expected a mapping of 'owner/name'"),
        ("a/b: [x]\n", "key 'a/b': expected a mapping"),
        ("a/b:\n  instal: [x]\n", "key 'a/b' -> 'instal': not an Environment field"),
        ("a/b:\n  install: uv pip install .\n", "key 'a/b' -> 'install'"),
        ("a/b:\n  env_vars: {X: 1}\n", "key 'a/b' -> 'env_vars.X'"),
        ("a/b:\n  versions: [1.0]\n", "key 'a/b' -> 'versions': expected a mapping"),
        ("a/b:\n  versions:\n    '1.0': {pyton: '3.9'}\n", "key 'a/b' -> 'versions' -> '1.0' -> 'pyton'"),
        ("a/b:\n  versions:\n    '1.0': {versions: {}}\n", "'versions' -> '1.0' -> 'versions': not an Environment"),
    ],
)
def test_malformed_files_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(OverrideError) as caught:
        load_overrides(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(OverrideError, match="cannot be read"):
        load_overrides(tmp_path / "absent.yaml")


def test_a_bad_table_given_in_code_is_refused_on_apply():
    with pytest.raises(OverrideError, match="'pyton' not Environment fields"):
        apply_overrides(Environment(), "a/b", "", {"a/b": {"pyton": "3.9"}})
    with pytest.raises(OverrideError, match="overrides for 'a/b': 'install'"):
        apply_overrides(Environment(), "a/b", "", {"a/b": {"install": 3}})


def test_deep_merge_leaves_its_inputs_alone():
    base, patch = {"a": {"x": 1}, "l": [1]}, {"a": {"y": 2}, "l": [2]}
    assert deep_merge(base, patch) == {"a": {"x": 1, "y": 2}, "l": [2]}
    assert base == {"a": {"x": 1}, "l": [1]}


def test_the_builtin_file_ships_beside_the_module():
    assert BUILTIN_OVERRIDES.name == "overrides.yaml" and BUILTIN_OVERRIDES.is_file()
