"""Recipe inference: how to build a task's environment image and run its tests, read from its checkout.

`infer_recipe` reads the project's own metadata (pyproject.toml, setup.cfg, setup.py, tox.ini,
requirements files, CI workflows) at the environment-setup commit and fills a
`tasks.models.Environment`: the base Python (3.9, 3.11 or 3.13), `uv pip install` commands, the
test runner. Overrides (harness/overrides.yaml, or the caller's table) are merged on top.
Nothing in the checkout is executed: setup.py is read with `ast`.
"""

from __future__ import annotations

import ast
import configparser
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from swefarm.harness import pyparse
from swefarm.harness.overrides import apply_overrides, load_overrides, override_for
from swefarm.harness.recipe_install import infer_install
from swefarm.harness.recipe_python import base_for, infer_python, python_version
from swefarm.harness.recipe_runner import BASE_COMMANDS, infer_runner
from swefarm.harness.recipe_testenv import run_settings
from swefarm.harness.recipe_testfiles import scan_test_files
from swefarm.harness.recipe_tox import tox_settings
from swefarm.tasks.models import Environment, Task

#: Environment fields that change what the environment image contains (test files do not).
HASHED_FIELDS = ("python", "pre_install", "install", "packages", "env_vars")
#: A task's own recipe fields that win over inference when it already has them (curated sources).
_TASK_IMAGE_FIELDS = ("python", "pre_install", "install", "packages", "env_vars")


class RecipeInference(BaseModel):
    """An inferred environment, why its Python was chosen, and what inference noticed on the way."""

    environment: Environment
    python_reason: str = ""
    notes: list[str] = Field(default_factory=list)


@dataclass
class ProjectFiles:
    """The configuration files of a checkout, parsed once; unreadable files become notes, not errors."""

    root: Path
    pyproject: dict[str, Any] = field(default_factory=dict)
    setup_cfg: configparser.ConfigParser = field(default_factory=lambda: _parser())
    tox_ini: configparser.ConfigParser = field(default_factory=lambda: _parser())
    setup_py: str = ""
    setup_args: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, root: Path) -> ProjectFiles:
        """Parse the checkout at `root`."""
        project = cls(root=Path(root))
        if text := project.text("pyproject.toml"):
            try:
                project.pyproject = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                project.notes.append(f"pyproject.toml is not valid TOML ({exc}); ignored")
        project._read_ini("setup.cfg", project.setup_cfg)
        project._read_ini("tox.ini", project.tox_ini)
        project.setup_py = project.text("setup.py")
        project.setup_args = setup_py_literals(project.setup_py)
        return project

    def text(self, rel: str) -> str:
        """The text of a file under the root, or "" when it is missing or not a file."""
        path = self.root / rel
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def exists(self, rel: str) -> bool:
        """Whether `rel` names a file or a directory under the root."""
        return (self.root / rel).exists()

    def _read_ini(self, rel: str, parser: configparser.ConfigParser) -> None:
        if text := self.text(rel):
            try:
                parser.read_string(text, source=rel)
            except configparser.Error as exc:
                self.notes.append(f"{rel} is not valid INI ({exc.__class__.__name__}); ignored")


def _parser() -> configparser.ConfigParser:
    return configparser.ConfigParser(interpolation=None, strict=False)


def setup_py_literals(text: str) -> dict[str, Any]:
    """Literal keyword arguments of the `setup()` call in a setup.py, read with `ast` (never executed).

    A keyword given as a module-level name is looked up, as is a `**kwargs` dict; a dict whose
    values are not all literals keeps its literal keys with None for the values it cannot read.
    Source that does not parse (Python 2) gives {}; callers fall back to regular expressions.
    """
    try:
        tree = pyparse.parse(text)
    except (SyntaxError, ValueError):
        return {}
    names = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    }
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if getattr(func, "id", None) == "setup" or getattr(func, "attr", None) == "setup":
            args = {}
            for kw in node.keywords:
                value = names.get(kw.value.id, kw.value) if isinstance(kw.value, ast.Name) else kw.value
                literal = _literal(value)
                if kw.arg is None and isinstance(literal, dict):  # setup(**kwargs) with a literal dict
                    args.update({k: v for k, v in literal.items() if v is not None})
                elif kw.arg is not None and literal is not None:
                    args[kw.arg] = literal
            return args
    return {}


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.Dict):
        return {
            k.value: _literal(v)
            for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    return None


def infer_recipe(repo_dir: Path, task: Task | None = None, overrides: dict | None = None) -> RecipeInference:
    """Infer how to build and test the project checked out at `repo_dir` (the environment-setup commit).

    With a task, its creation date bounds the Python version, its repo and version select overrides
    and its test patch hints at the runner; the image fields it already carries (python, install,
    packages, pre_install, env_vars: a curated recipe from its source) win over inference. `overrides`
    is a table as `load_overrides` returns it; None means the built-in harness/overrides.yaml.
    """
    if task is not None and task.language != "python":
        from swefarm.harness.recipe_js import infer_js_recipe

        return infer_js_recipe(Path(repo_dir), task)
    project = ProjectFiles.read(Path(repo_dir))
    created: date | None = task.created_at.date() if task and task.created_at else None
    python = infer_python(project, created)
    tox = tox_settings(project, python_version(python.version))
    plan = infer_install(project, tox)
    scan = scan_test_files(project)
    runner = infer_runner(project, task.repo if task else "", task.test_patch if task else "", plan.named, scan)
    settings = run_settings(project, runner.name, plan.named, tox, scan)
    packages = [*plan.packages, *settings.packages]
    if runner.name == "pytest" and "pytest" not in plan.named:
        packages.append("pytest")
    env = Environment(
        python=python.version,
        install=plan.install,
        packages=packages,
        env_vars=settings.env_vars,
        extras=plan.extras,
        requirements_files=plan.requirements_files,
        test_command=runner.command,
        log_parser=runner.name,
        test_files=task.test_files() if task else [],
    )
    notes = [f"python {python.reason}", *project.notes, *plan.notes, runner.reason, *settings.notes]
    if task is not None:
        env = _keep_task_recipe(env, task.environment, notes)
        table = load_overrides() if overrides is None else overrides
        if patch := override_for(task.repo, task.version, table):
            where = f"{task.repo} {task.version}".strip()
            notes.append(f"overrides for {where}: {', '.join(sorted(patch))}")
            env = apply_overrides(env, task.repo, task.version, table)
    if env.python and (base := base_for(env.python)) != env.python:
        notes.append(f"python {env.python} has no base image here; using {base}")
    env = env.model_copy(update={"python": base_for(env.python) if env.python else None})
    return RecipeInference(environment=env, python_reason=python.reason, notes=notes)


def _keep_task_recipe(env: Environment, given: Environment, notes: list[str]) -> Environment:
    kept = {name: getattr(given, name) for name in _TASK_IMAGE_FIELDS if getattr(given, name)}
    if given.log_parser in BASE_COMMANDS:
        kept["log_parser"] = given.log_parser
        kept["test_command"] = given.test_command or BASE_COMMANDS[given.log_parser]
    if kept:
        notes.append(f"kept the task's own {', '.join(kept)}")
    return env.model_copy(update=kept)


def recipe_hash(env: Environment) -> str:
    """A stable short key (16 hex digits of sha256) for the environment image that `env` describes.

    Only the fields that change the image count (python, pre_install, install, packages, env_vars);
    packages are installed in one resolution, so their order does not count.
    """
    fields = {name: getattr(env, name) for name in HASHED_FIELDS}
    fields["packages"] = sorted(fields["packages"])
    if env.node:  # only when set, so that every Python recipe keeps the hash (and image) it had
        fields["node"] = env.node
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
