"""The demo's embedded task: a small Python project made with real git, an issue, and the commit fixing it.

A fresh machine here reaches PyPI but no code host, so `swefarm demo` cannot
clone a real repository by default; it makes this one (fixed dates, so the
same commits and images every run). `harness.demo` builds and validates it with
the same pipeline as every imported or mined task. `swefarm demo --task ID` runs
any valid task in the store instead (e.g. one imported from SWE-bench).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from swefarm.tasks.models import Environment, Task

INSTANCE_ID = "swefarm-demo__slugify-7"
REPO = "swefarm-demo/slugify"

_ENV = {
    "GIT_AUTHOR_NAME": "demo",
    "GIT_AUTHOR_EMAIL": "demo@swefarm.invalid",
    "GIT_COMMITTER_NAME": "demo",
    "GIT_COMMITTER_EMAIL": "demo@swefarm.invalid",
    "GIT_AUTHOR_DATE": "2024-05-02T10:00:00Z",
    "GIT_COMMITTER_DATE": "2024-05-02T10:00:00Z",
}

PYPROJECT = """[project]
name = "slugify"
version = "1.2.0"
requires-python = ">=3.9"

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""

SLUG_BUGGY = '''"""Turn titles into URL slugs."""

import re
import unicodedata


def slugify(text, separator="-", max_length=None):
    """Lower-case ASCII words joined by `separator`, at most `max_length` characters."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.split(r"[^a-zA-Z0-9]", text.lower())
    slug = separator.join(words)
    if max_length is not None:
        slug = slug[:max_length]
    return slug
'''

SLUG_FIXED = '''"""Turn titles into URL slugs."""

import re
import unicodedata


def slugify(text, separator="-", max_length=None):
    """Lower-case ASCII words joined by `separator`, at most `max_length` characters."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = [word for word in re.split(r"[^a-zA-Z0-9]+", text.lower()) if word]
    slug = separator.join(words)
    if max_length is not None:
        slug = slug[:max_length].rstrip(separator)
    return slug
'''

TESTS_OLD = """from slugify import slugify


def test_simple_words():
    assert slugify("hello") == "hello"


def test_accents_are_dropped():
    assert slugify("café") == "cafe"
"""

TESTS_NEW = (
    TESTS_OLD
    + """

def test_punctuation_and_spaces_collapse():
    assert slugify("Hello, World!") == "hello-world"


def test_custom_separator():
    assert slugify("  A  title  ", separator="_") == "a_title"


def test_max_length_does_not_end_on_a_separator():
    assert slugify("one two three", max_length=8) == "one-two"
"""
)

ISSUE = """slugify() leaves repeated and trailing separators

`slugify("Hello, World!")` returns `hello--world-` instead of `hello-world`: every \
punctuation mark and space becomes its own separator, and separators at the ends are kept. \
The same happens with a custom separator (`slugify("  A  title  ", separator="_")` gives \
`__a__title__`), and `max_length` can cut a slug right after a separator \
(`slugify("one two three", max_length=8)` gives `one-two-`).

Expected: words joined by exactly one separator, none at the start or the end."""


def make_repo(root: Path) -> tuple[Path, dict[str, str]]:
    """The project at the buggy commit, then the fix with its tests; returns the repo and the diffs."""
    before = {"pyproject.toml": PYPROJECT, "README.md": "# slugify\n\nTurn titles into URL slugs.\n",
              "src/slugify/__init__.py": SLUG_BUGGY, "tests/test_slugify.py": TESTS_OLD}  # fmt: skip
    after = {"src/slugify/__init__.py": SLUG_FIXED, "tests/test_slugify.py": TESTS_NEW}
    return make_project(root / "slugify", before, after, "slugify 1.2.0", "Collapse repeated separators (#7)")


def make_project(
    repo: Path, before: dict[str, str], after: dict[str, str], first: str, fix: str
) -> tuple[Path, dict[str, str]]:
    """A repository (made once) with the files `before` committed as `first`, then `after` as `fix`; the
    repository and the diffs: the fix's code (`patch`: outside the test folders, at any depth) and its tests
    (`test_patch`)."""
    if not (repo / ".git").exists():
        for files, message in ((before, first), (after, fix)):
            for rel, text in files.items():
                (repo / rel).parent.mkdir(parents=True, exist_ok=True)
                (repo / rel).write_text(text)
            if message == first:
                _git(repo, "init", "-q", "--initial-branch=main")
            _git(repo, "add", "-A")
            _git(repo, "commit", "-qm", message)
    fixed, base = _git(repo, "rev-parse", "HEAD", "HEAD~1").split()
    tests = ["**/test/**", "**/tests/**"]  # at any depth: src/test/ holds compiled TypeScript projects' tests
    return repo, {
        "base": base,
        "patch": _git(repo, "diff", base, fixed, "--", ".", *[f":(exclude,glob){t}" for t in tests]),
        "test_patch": _git(repo, "diff", base, fixed, "--", *[f":(glob){t}" for t in tests]),
    }


def make_task(commits: dict[str, str]) -> Task:
    return Task(
        instance_id=INSTANCE_ID,
        repo=REPO,
        base_commit=commits["base"],
        patch=commits["patch"],
        test_patch=commits["test_patch"],
        problem_statement=ISSUE,
        created_at="2024-05-02T10:00:00Z",
        version="1.2",
        environment_setup_commit=commits["base"],
        environment=Environment(
            python="3.11", install=["uv pip install -e ."], packages=["pytest"], log_parser="pytest"
        ),
    )


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env={**os.environ, **_ENV}
    ).stdout
