"""infer_recipe end to end on fixture checkouts, and recipe_hash's stability and sensitivity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from swefarm.harness.recipe import infer_recipe, recipe_hash, setup_py_literals
from swefarm.tasks.models import Environment, Task

TEST_PATCH = (
    "diff --git a/tests/test_x.py b/tests/test_x.py\n--- a/tests/test_x.py\n+++ b/tests/test_x.py\n"
    "@@ -1 +1,2 @@\n x = 1\n+y = 2\n"
)


def checkout(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def task(repo: str = "acme/widget", created: str = "2023-06-01T00:00:00Z", version: str = "1.0", **fields) -> Task:
    return Task(
        instance_id=f"{repo.replace('/', '__')}-1",
        repo=repo,
        base_commit="a" * 40,
        patch="",
        test_patch=TEST_PATCH,
        problem_statement="",
        created_at=created,
        version=version,
        **fields,
    )


PYPROJECT = (
    '[project]\nname = "widget"\nrequires-python = ">=3.8"\n[project.optional-dependencies]\ntest = ["hypothesis"]\n'
    '[tool.pytest.ini_options]\n[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n'
)


def test_a_pytest_project_with_a_task(tmp_path):
    result = infer_recipe(checkout(tmp_path, {"pyproject.toml": PYPROJECT}), task(), overrides={})
    env = result.environment
    assert env.python == "3.11" and "requires-python '>=3.8'" in result.python_reason
    assert env.install == ["uv pip install -e '.[test]'"] and env.extras == ["test"]
    assert env.packages == ["pytest"]  # the test extra does not name the runner
    assert (env.log_parser, env.test_command) == ("pytest", "python -m pytest")
    assert env.test_files == ["tests/test_x.py"]
    assert result.notes[0] == f"python {result.python_reason}"


def test_pytest_is_not_added_when_a_requirement_names_it(tmp_path):
    repo = checkout(tmp_path, {"pyproject.toml": PYPROJECT.replace('"hypothesis"', '"pytest>=7"')})
    assert infer_recipe(repo, task(), overrides={}).environment.packages == []


def test_without_a_task(tmp_path):
    env = infer_recipe(checkout(tmp_path, {"setup.py": "from setuptools import setup\nsetup(name='w')\n"})).environment
    assert env.python == "3.13" and env.log_parser == "unittest" and env.install == ["uv pip install -e ."]
    assert env.test_files == []


def test_old_tasks_get_python_39_and_a_plain_editable_install(tmp_path):
    # build tools older than PEP 660 are handled by the install script (floor + fallback steps), not the recipe
    repo = checkout(tmp_path, {"setup.py": "from setuptools import setup\nsetup(name='w')\n", "conftest.py": ""})
    result = infer_recipe(repo, task(created="2019-05-01T00:00:00Z"), overrides={})
    assert result.environment.python == "3.9"
    assert result.environment.install == ["uv pip install -e ."]


def test_overrides_merge_over_inference_repo_then_version(tmp_path):
    table = {
        "acme/widget": {
            "packages": ["pytest<8"],
            "env_vars": {"A": "1"},
            "versions": {"1.0": {"python": "3.10", "env_vars": {"B": "2"}}},
        }
    }
    result = infer_recipe(checkout(tmp_path, {"pyproject.toml": PYPROJECT}), task(repo="ACME/widget"), table)
    env = result.environment
    assert env.packages == ["pytest<8"] and env.env_vars == {"A": "1", "B": "2"}
    assert env.python == "3.9"  # 3.10 has no base image
    assert any("overrides for ACME/widget 1.0: env_vars, packages, python" in n for n in result.notes)
    assert any("3.10 has no base image here" in n for n in result.notes)
    other = infer_recipe(tmp_path, task(version="2.0"), table).environment
    assert other.python == "3.11" and other.env_vars == {"A": "1"}


def test_builtin_overrides_are_used_by_default(tmp_path):
    repo = checkout(tmp_path, {"setup.py": "from setuptools import setup\nsetup()\n", "tests/runtests.py": "x\n"})
    env = infer_recipe(repo, task(repo="django/django", created="2023-03-01T00:00:00Z")).environment
    assert (env.log_parser, env.test_command, env.install) == ("django", "./tests/runtests.py", ["uv pip install -e ."])
    assert env.env_vars["LANG"] == "C.UTF-8"


def test_a_tasks_own_recipe_wins_over_inference(tmp_path):
    given = Environment(python="3.11", install=["uv pip install -r reqs.lock -e ."], log_parser="pytest")
    result = infer_recipe(checkout(tmp_path, {"pyproject.toml": PYPROJECT}), task(environment=given), overrides={})
    env = result.environment
    assert env.install == ["uv pip install -r reqs.lock -e ."] and env.python == "3.11"
    assert env.test_command == "python -m pytest"
    assert any("kept the task's own python, install, log_parser, test_command" in n for n in result.notes)


def test_a_tasks_unknown_log_parser_is_not_kept(tmp_path):
    given = Environment(log_parser="parse_log_pytest", test_command="pytest -rA")
    env = infer_recipe(checkout(tmp_path, {"pyproject.toml": PYPROJECT}), task(environment=given), {}).environment
    assert (env.log_parser, env.test_command) == ("pytest", "python -m pytest")


def test_unreadable_metadata_is_noted_not_fatal(tmp_path):
    repo = checkout(tmp_path, {"pyproject.toml": "[project\n", "setup.cfg": "no section header\n", "conftest.py": ""})
    result = infer_recipe(repo, task(), overrides={})
    assert any("pyproject.toml is not valid TOML" in n for n in result.notes)
    assert any("setup.cfg is not valid INI" in n for n in result.notes)
    assert result.environment.log_parser == "pytest"


def test_setup_py_literals_never_execute_and_keep_literal_keys():
    text = (
        "import os\nos.system('false')\nX = ['a']\nsetuptools.setup(name='w', install_requires=X, version=v(),\n"
        "    extras_require={'test': X + ['b'], 'docs': ['sphinx']}, **kw)\n"
    )
    assert setup_py_literals(text) == {
        "name": "w",
        "install_requires": ["a"],
        "extras_require": {"test": None, "docs": ["sphinx"]},
    }
    assert setup_py_literals("print 'py2'") == {}
    kwargs = "KW = {'python_requires': '>=3.7', 'x': f()}\nsetup(name='w', **KW)\n"
    assert setup_py_literals(kwargs) == {"name": "w", "python_requires": ">=3.7"}


BASE_ENV = Environment(
    python="3.11",
    pre_install=["apt-get install -y x"],
    install=["uv pip install -e ."],
    packages=["pytest", "numpy<2"],
    env_vars={"A": "1", "B": "2"},
)


def test_recipe_hash_is_short_stable_and_ignores_what_the_image_does_not_hold():
    key = recipe_hash(BASE_ENV)
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    assert key == "792b229727676b6e"  # the same recipe keys the same image in every process and release
    same = BASE_ENV.model_copy(
        update={
            "test_files": ["t.py"],
            "test_command": "x",
            "log_parser": "unittest",
            "image": "img",
            "extras": ["test"],
            "packages": ["numpy<2", "pytest"],
            "env_vars": {"B": "2", "A": "1"},
        }
    )
    assert recipe_hash(same) == key


@pytest.mark.parametrize(
    "change",
    [
        {"python": "3.9"},
        {"pre_install": []},
        {"install": ["uv pip install ."]},
        {"packages": ["pytest"]},
        {"env_vars": {"A": "1"}},
        {"install": ["uv pip install -e .", "true"]},
    ],
)
def test_recipe_hash_changes_with_every_field_the_image_holds(change):
    assert recipe_hash(BASE_ENV.model_copy(update=change)) != recipe_hash(BASE_ENV)
