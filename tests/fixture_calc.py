"""A fixture repository made with real git: a package with a bug, its fix, and tasks made from them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from swefarm.tasks.models import Environment, Task

DATE = {"GIT_AUTHOR_DATE": "2024-03-01T12:00:00Z", "GIT_COMMITTER_DATE": "2024-03-01T12:00:00Z"}
IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@x.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@x.invalid",
}

PYPROJECT = """[project]
name = "calc"
version = "0.1"
requires-python = ">=3.9"
[project.optional-dependencies]
test = ["pytest"]
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""
CALC_BUGGY = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
CALC_FIXED = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS_OLD = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
TESTS_NEW = TESTS_OLD + (
    "\n\nimport pytest\n\n\n"
    "@pytest.mark.parametrize('a, b, want', [(1, 2, 3), (2, 2, 4)], ids=['one plus two', 'é[2]'])\n"
    "def test_add(a, b, want):\n    from calc import add\n    assert add(a, b) == want\n"
)


def git(repo: Path, *args: str) -> str:
    import os

    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env={**os.environ, **IDENTITY, **DATE}
    ).stdout


def commit_buggy_calc(repo: Path) -> str:
    """A new repository at `repo` whose one commit is the package with its bug and old tests; that commit."""
    (repo / "src/calc").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "src/calc/__init__.py").write_text(CALC_BUGGY)
    (repo / "tests/test_calc.py").write_text(TESTS_OLD)
    git(repo, "init", "-q", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc with tests")
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(root: Path) -> tuple[Path, dict[str, str]]:
    """A package with a bug (add subtracts), its tests, and a later commit that fixes it with new tests.

    Commit dates are fixed, so the commits (and the images built from them) are the same every run.
    """
    repo = root / "calc-repo"
    base = commit_buggy_calc(repo)
    (repo / "src/calc/__init__.py").write_text(CALC_FIXED)
    (repo / "tests/test_calc.py").write_text(TESTS_NEW)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Fix add (#2)")
    fix = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "tag", "v0.2")
    patch = git(repo, "diff", base, fix, "--", "src")
    test_patch = git(repo, "diff", base, fix, "--", "tests")
    return repo, {"base": base, "fix": fix, "patch": patch, "test_patch": test_patch}


def make_task(commits: dict[str, str], instance_id: str = "fixture__calc-2") -> Task:
    return Task(
        instance_id=instance_id,
        repo="fixture/calc",
        base_commit=commits["base"],
        patch=commits["patch"],
        test_patch=commits["test_patch"],
        problem_statement="add() subtracts instead of adding",
        created_at="2024-03-01T12:00:00Z",
        version="0.1",
        environment_setup_commit=commits["base"],
        environment=Environment(
            python="3.11", install=["uv pip install -e ."], packages=["pytest"], log_parser="pytest"
        ),
    )


FLAKY_TESTS = "import os\n\n" + "".join(f"\ndef test_coin_{i}():\n    assert os.urandom(1)[0] % 2\n" for i in range(10))
UNITTEST_TESTS = (
    "import unittest\n\nfrom calc import add, mul\n\n\nclass CalcTests(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
    "    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n"
)


def new_file_patch(path: str, content: str) -> str:
    lines = content.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    header = f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
    return f"{header}@@ -0,0 +1,{len(lines)} @@\n{body}"
