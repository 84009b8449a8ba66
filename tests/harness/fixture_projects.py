"""Fixture repositories made with real git that reproduce the build failure classes of issue 14.

Each is a tiny project at a fixed date with a bug, and a later commit that fixes it and adds a test;
`task_for` turns one into an imported task whose recipe the harness infers (nothing given).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from swefarm.harness.recipe import ProjectFiles
from swefarm.tasks.models import Provenance, Task

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x.invalid"}  # fmt: skip
BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = "from {pkg} import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def _git(repo: Path, when: str, *args: str) -> str:
    env = {**os.environ, **IDENTITY, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


def make_project(root: Path, name: str, files: dict[str, str], when: str, pkg: str = "widget",
                 test: str | None = None, tag: str | None = "v1.4.0") -> tuple[Path, dict[str, str]]:  # fmt: skip
    """A repository: `files` plus `{pkg}.py` (buggy) at `when`; then the fix with tests/test_fix.py."""
    repo = root / name
    repo.mkdir(parents=True)
    for rel, text in {**files, f"{pkg}.py": BUGGY}.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, when, "init", "-q", "--initial-branch=main")
    _git(repo, when, "add", "-A")
    _git(repo, when, "commit", "-qm", "the project")
    if tag:
        _git(repo, when, "tag", tag)
    base = _git(repo, when, "rev-parse", "HEAD").strip()
    (repo / f"{pkg}.py").write_text(FIXED)
    (repo / "tests").mkdir(exist_ok=True)
    (repo / "tests/test_fix.py").write_text(test or TEST.format(pkg=pkg))
    _git(repo, when, "add", "-A")
    _git(repo, when, "commit", "-qm", "Fix add")
    fix = _git(repo, when, "rev-parse", "HEAD").strip()
    return repo, {
        "base": base,
        "patch": _git(repo, when, "diff", base, fix, "--", f"{pkg}.py"),
        "test_patch": _git(repo, when, "diff", base, fix, "--", "tests"),
    }


def task_for(repo_name: str, commits: dict[str, str], when: str, source: str = "git") -> Task:
    """An imported task of the fixture (no recipe: the harness infers it)."""
    return Task(
        instance_id=f"{repo_name.replace('/', '__')}-1",
        repo=repo_name,
        base_commit=commits["base"],
        patch=commits["patch"],
        test_patch=commits["test_patch"],
        problem_statement="add() subtracts",
        created_at=when,
        environment_setup_commit=commits["base"],
        provenance=Provenance(source=source),
    )


def project_files(root: Path, files: dict[str, str]) -> ProjectFiles:
    """`files` written under `root`, read back as the recipe inference reads a checkout."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return ProjectFiles.read(root)
