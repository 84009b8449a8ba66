"""A fixture repository, "acme/widgets", with a realistic history of issues, pull requests and fixes.

`make_history(root)` builds it with real git (fixed identities and dates, so every run yields the same
commit hashes) and returns a `History`: the path of the repository plus the GitHub side of the story
(pull requests, issues, comments, timelines) that `tests/miner/github_server.py` serves through a
GitHub-compatible REST API, and what mining each pull request or commit should give.

First-parent history of main (oldest first):

    Initial commit                                  tag v0.1.0
    Fix clamp with reversed bounds (#2)             squash of PR #2 (issue #1)
    Merge pull request #3 from dev/docs             merge commit of PR #3 (docs only)
    Merge pull request #5 from dev/slugify          merge commit of PR #5 (two commits, "fixes #4" in the 2nd)
    Speed up mean() (#6)                            squash of PR #6 (code only)
    Accept lowercase units (#8)                     squash of PR #8 (linked to #7 only on GitHub: "connected")
    Add logo (#9)                                   squash of PR #9 (adds a PNG)
    Port fix from upstream (#11)                    squash of PR #11 (cross-repo reference only)
    Add pairwise helper                             plain commit, "Closes #12"
    Fix chunk remainder (#14)                       squash of PR #14 (issue #13)        tag v0.2.0

PR #10 is closed without merging: its two commits live only on the branch dev/refactor.
Every pull request also has its head under refs/pull/<n>/head, as on GitHub.
"""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = "acme/widgets"
OTHER_REPO = "other/lib"
DEFAULT_BRANCH = "main"

# login -> identity; ids are what the API reports as user ids
USERS: dict[str, dict[str, Any]] = {
    "acme": {"id": 9000, "name": "ACME", "email": "oss@acme.example", "type": "Organization"},
    "alice": {"id": 1001, "name": "Alice Liddell", "email": "alice@acme.example", "type": "User"},
    "bob": {"id": 1002, "name": "Bob Builder", "email": "bob@example.com", "type": "User"},
    "carol": {"id": 1003, "name": "Carol Danvers", "email": "carol@example.com", "type": "User"},
    "dave": {"id": 1004, "name": "Dave Lister", "email": "dave@example.com", "type": "User"},
    "erin": {"id": 1005, "name": "Erin Hunter", "email": "erin@example.com", "type": "User"},
    "frank": {"id": 1006, "name": "Frank Castle", "email": "frank@example.com", "type": "User"},
    "zoe": {"id": 1007, "name": "Zoe Washburne", "email": "zoe@example.com", "type": "User"},
}
GITHUB_COMMITTER = ("GitHub", "noreply@github.com")

# git must not read the machine's configuration (hooks, signing, default branch): commits are reproducible
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "LC_ALL": "C",
    "TZ": "UTC",
}


@dataclass
class History:
    """The fixture repository and its GitHub story.

    pulls: one dict per pull request (number order) with number, title, body, user, state, created_at,
        updated_at, closed_at, merged_at (None when not merged), merged_by, merge_method ("squash",
        "merge" or None), merge_commit_sha (the commit on main holding the change, None when not merged),
        base_ref, base_sha (the main commit it was merged on top of, or branched from), head_ref, head_sha,
        commits (the PR branch's commit shas, oldest first) and comments (issue comments on the PR).
    issues: one dict per issue with number, title, body, user, state, state_reason, created_at, updated_at,
        closed_at, closed_by and comments (each {id, user, body, created_at}).
    timeline: issue or PR number -> its timeline events, oldest first (see `_event`): event, created_at
        (None for "committed"), actor, commit_id, and source {repo, number, ...} for cross-references.
    expected: what mining each candidate should give, keyed "pr-<n>" or "commit-<sha12>": a string when
        GitHub-based and git-only mining agree, else {"github": ..., "git": ...}.
    links: the issues each candidate is linked to, same keys (same shape as expected).
    commits: named commits: "initial", "pairwise", "v0.1.0", "v0.2.0", and "pr-<n>" for merged PRs.
    """

    path: Path
    repo: str = REPO
    default_branch: str = DEFAULT_BRANCH
    pulls: list[dict] = field(default_factory=list)
    issues: list[dict] = field(default_factory=list)
    timeline: dict[int, list[dict]] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    links: dict[str, Any] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=lambda: dict(USERS))
    created_at: str = "2024-01-02T09:00:00Z"

    def pull(self, number: int) -> dict:
        return next(p for p in self.pulls if p["number"] == number)

    def issue(self, number: int) -> dict:
        return next(i for i in self.issues if i["number"] == number)

    def is_pull(self, number: int) -> bool:
        return any(p["number"] == number for p in self.pulls)


# -- the package's files at each step ------------------------------------------------------------------

PYPROJECT = """[project]
name = "widgets"
version = "0.1.0"
description = "Small, dependency-free helpers"
requires-python = ">=3.9"
license = {text = "MIT"}
[project.optional-dependencies]
test = ["pytest"]
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""

LICENSE = """MIT License

Copyright (c) 2024 ACME

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
"""

README = """# widgets

Small, dependency-free helpers: `clamp`, `slugify`, `mean`, `parse_size`, `chunk` and `dedupe`.

## Install

    pip install widgets

## Test

    pip install -e .[test]
    python -m pytest
"""
README_DOCS = README.replace(
    "## Install",
    "## Example\n\n    >>> from widgets import clamp\n    >>> clamp(15, 0, 10)\n    10\n\n## Install",
)

DOCS = """widgets
=======

Small, dependency-free helpers for Python 3.9 and later.

.. code-block:: python

   >>> from widgets import slugify
   >>> slugify("Hello, World")
   'hello-world'
"""
DOCS_CLAMP = (
    DOCS
    + """
clamp
-----

``clamp(value, low, high)`` limits ``value`` to the closed range ``[low, high]``.
It raises ``ValueError`` when ``low`` is greater than ``high``.
"""
)

CHANGES = """Changes
=======

0.1.0 (2024-01-02)
------------------

- First release.
"""


def _changes(*entries: str) -> str:
    head, tail = CHANGES.split("0.1.0", 1)
    items = "".join(f"- {e}\n" for e in entries)
    return f"{head}Unreleased\n----------\n\n{items}\n0.1.0{tail}"


MANIFEST = "include LICENSE\ninclude README.md\n"

_HEADER = '"""Small, dependency-free helpers."""\n\n__version__ = "0.1.0"\n'

_CLAMP = '''

def clamp(value, low, high):
    """Limit value to the closed range [low, high]."""
{check}    return max(low, min(value, high))
'''
_CLAMP_CHECK = (
    '    if low > high:\n        raise ValueError(f"clamp() low bound {low!r} is greater than high bound {high!r}")\n'
)

_SLUGIFY = '''

def slugify(text):
    """Lower-case text and join its words with hyphens: "Hello, World" -> "hello-world"."""
    cleaned = "".join(c if {keep} else " " for c in text.lower())
    return "-".join(cleaned.split())
'''

_MEAN_SLOW = '''

def mean(values):
    """Arithmetic mean of a non-empty sequence of numbers."""
    total = 0
    count = 0
    for value in values:
        total = total + value
        count = count + 1
    if count == 0:
        raise ValueError("mean() of an empty sequence")
    return total / count
'''
_MEAN_FAST = '''

def mean(values):
    """Arithmetic mean of a non-empty sequence of numbers."""
    values = list(values)
    if not values:
        raise ValueError("mean() of an empty sequence")
    return sum(values) / len(values)
'''

_PARSE_SIZE = '''

_UNITS = {{"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}}


def parse_size(text):
    """Parse a size such as "10KB" or "1.5 GB" into a number of bytes."""
    text = {expr}
    for unit in ("KB", "MB", "GB", "B"):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * _UNITS[unit])
    return int(text)
'''

_CHUNK = '''

def chunk(items, size):
    """Split items into lists of at most size items, in order."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    items = list(items)
    return [items[i : i + size] for i in range(0, {stop}, size)]
'''

_DEDUPE = '''

def dedupe(items):
    """Drop repeated items, keeping the first occurrence of each."""
    return {expr}
'''

_ORDINAL = '''

def ordinal(n):
    """English ordinal of n: 1 -> "1st", 12 -> "12th", 23 -> "23rd"."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
'''

_PAIRWISE = '''

def pairwise(items):
    """Consecutive pairs: [1, 2, 3] -> [(1, 2), (2, 3)]."""
    items = list(items)
    return list(zip(items, items[1:]))
'''


def module_source(done: set[str]) -> str:
    """src/widgets/__init__.py with the changes named in `done` applied."""
    if "slugify" in done:
        keep = "c.isalnum()"
    elif "slugify-wip" in done:
        keep = "c.isalpha() or c.isdigit()"
    else:
        keep = "c.isalpha()"
    parts = [
        _HEADER,
        _CLAMP.format(check=_CLAMP_CHECK if "clamp" in done else ""),
        _SLUGIFY.format(keep=keep),
        _MEAN_FAST if "mean" in done else _MEAN_SLOW,
        _PARSE_SIZE.format(expr="text.strip().upper()" if "parse_size" in done else "text.strip()"),
        _CHUNK.format(stop="len(items)" if "chunk" in done else "len(items) - size + 1"),
        _DEDUPE.format(expr="list(dict.fromkeys(items))" if "dedupe" in done else "list(set(items))"),
    ]
    if "ordinal" in done:
        parts.append(_ORDINAL)
    if "pairwise" in done:
        parts.append(_PAIRWISE)
    return "".join(parts)


_TESTS_BASE = """import pytest

import widgets


def test_clamp_inside_and_outside():
    assert widgets.clamp(5, 0, 10) == 5
    assert widgets.clamp(-1, 0, 10) == 0
    assert widgets.clamp(11, 0, 10) == 10


def test_slugify_words():
    assert widgets.slugify("Hello, World") == "hello-world"


def test_mean():
    assert widgets.mean([1, 2, 3, 4]) == 2.5
    with pytest.raises(ValueError):
        widgets.mean([])


def test_parse_size_upper_case():
    assert widgets.parse_size("2KB") == 2048
    assert widgets.parse_size("1.5 GB") == 1610612736
    assert widgets.parse_size("12") == 12


def test_chunk_even():
    assert widgets.chunk([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]


def test_dedupe_values():
    assert sorted(widgets.dedupe([3, 1, 3])) == [1, 3]
"""

# test added by each fix, in the order the fixes land on main
_TESTS_ADDED = {
    "clamp": """

def test_clamp_rejects_reversed_bounds():
    with pytest.raises(ValueError):
        widgets.clamp(5, 10, 0)
""",
    "slugify": """

def test_slugify_keeps_digits():
    assert widgets.slugify("Top 10 Tips") == "top-10-tips"
""",
    "parse_size": """

def test_parse_size_lower_case():
    assert widgets.parse_size("10kb") == 10240
    assert widgets.parse_size("3 mb") == 3 * 1024**2
""",
    "ordinal": """

def test_ordinal():
    assert [widgets.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
    ]
""",
    "dedupe": """

def test_dedupe_keeps_first_occurrence_order():
    assert widgets.dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]
""",
    "pairwise": """

def test_pairwise():
    assert widgets.pairwise([1, 2, 3]) == [(1, 2), (2, 3)]
    assert widgets.pairwise([1]) == []
""",
    "chunk": """

def test_chunk_keeps_remainder():
    assert widgets.chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
""",
}


def tests_source(done: set[str]) -> str:
    """tests/test_widgets.py with the tests of the fixes named in `done`."""
    return _TESTS_BASE + "".join(text for name, text in _TESTS_ADDED.items() if name in done)


COMPAT = '"""Shims for older Pythons."""\n\nimport sys\n\nPY310 = sys.version_info >= (3, 10)\n'


def png_bytes() -> bytes:
    """A valid 2x2 RGBA PNG (contains NUL bytes, so git treats it as binary)."""

    def part(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x80\x00\xff" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + part(b"IHDR", header) + part(b"IDAT", zlib.compress(rows, 9)) + part(b"IEND", b"")


# -- git ---------------------------------------------------------------------------------------------------


class _Git:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, *args: str, who: str = "alice", when: str = "2024-01-01T00:00:00Z", committer=None) -> str:
        user = USERS[who]
        cname, cemail = committer or (user["name"], user["email"])
        env = {
            **os.environ,
            **_GIT_ENV,
            "GIT_AUTHOR_NAME": user["name"],
            "GIT_AUTHOR_EMAIL": user["email"],
            "GIT_COMMITTER_NAME": cname,
            "GIT_COMMITTER_EMAIL": cemail,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        return subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str, when: str, who: str, files: dict, committer=None) -> str:
        self.write(files)
        self("add", "-A")
        self("commit", "-q", "--no-verify", "-m", message, who=who, when=when, committer=committer)
        return self("rev-parse", "HEAD")


def _code(done: set[str]) -> dict[str, str]:
    return {"src/widgets/__init__.py": module_source(done), "tests/test_widgets.py": tests_source(done)}


def make_history(root: Path) -> History:
    """Create root/"widgets" (a real git repository) and return its History."""
    path = Path(root) / "widgets"
    path.mkdir(parents=True)
    git = _Git(path)
    git("init", "-q", f"--initial-branch={DEFAULT_BRANCH}")
    h = History(path=path)
    done: set[str] = set()
    changes: list[str] = []

    # -- initial commit, v0.1.0
    initial = git.commit(
        "Initial commit",
        "2024-01-02T09:00:00Z",
        "alice",
        {
            "pyproject.toml": PYPROJECT,
            "LICENSE": LICENSE,
            "README.md": README,
            "MANIFEST.in": MANIFEST,
            "CHANGES.rst": CHANGES,
            "docs/index.rst": DOCS,
            ".gitignore": "__pycache__/\n*.egg-info/\n.pytest_cache/\n",
            **_code(done),
        },
    )
    git("tag", "v0.1.0")
    h.commits.update({"initial": initial, "v0.1.0": initial})

    def pull_request(
        number: int,
        title: str,
        body: str,
        user: str,
        branch: str,
        commits: list[tuple[str, str, dict]],
        created_at: str,
        closed_at: str,
        merge: str | None,
        merge_message: str | None = None,
        comments: list[dict] | None = None,
    ) -> dict:
        """Open a branch off main, commit, then squash- or merge- it into main (or leave it closed)."""
        base = git("rev-parse", DEFAULT_BRANCH)
        git("checkout", "-q", "-b", branch, base)
        shas = [git.commit(msg, when, user, files) for msg, when, files in commits]
        head = shas[-1]
        git("update-ref", f"refs/pull/{number}/head", head)
        git("checkout", "-q", DEFAULT_BRANCH)
        merged_sha = None
        if merge == "squash":
            git("merge", "-q", "--squash", branch)
            git(
                "commit", "-q", "--no-verify", "-m", merge_message, who=user, when=closed_at, committer=GITHUB_COMMITTER
            )
            merged_sha = git("rev-parse", "HEAD")
        elif merge == "merge":
            # GitHub records the merger as author and itself as committer
            git("merge", "-q", "--no-ff", "-m", merge_message, branch, when=closed_at, committer=GITHUB_COMMITTER)
            merged_sha = git("rev-parse", "HEAD")
        if merge:
            git("branch", "-q", "-D", branch)  # "delete branch on merge"
            h.commits[f"pr-{number}"] = merged_sha
        pr = {
            "number": number,
            "title": title,
            "body": body,
            "user": user,
            "state": "closed",
            "created_at": created_at,
            "updated_at": closed_at,
            "closed_at": closed_at,
            "merged_at": closed_at if merge else None,
            "merged_by": "alice" if merge else None,
            "merge_method": merge,
            "merge_commit_sha": merged_sha,
            "base_ref": DEFAULT_BRANCH,
            "base_sha": base,
            "head_ref": branch,
            "head_sha": head,
            "commits": shas,
            "comments": comments or [],
        }
        h.pulls.append(pr)
        return pr

    def issue(number, title, body, user, created_at, closed_at, comments=()) -> dict:
        item = {
            "number": number,
            "title": title,
            "body": body,
            "user": user,
            "state": "closed" if closed_at else "open",
            "state_reason": "completed" if closed_at else None,
            "created_at": created_at,
            "updated_at": max([created_at, closed_at or ""] + [c["created_at"] for c in comments]),
            "closed_at": closed_at,
            "closed_by": "alice" if closed_at else None,
            "comments": [{"id": 7000 + number * 10 + i, **c} for i, c in enumerate(comments)],
        }
        h.issues.append(item)
        return item

    # -- issue #1 and PR #2: squash-merged bug fix with a test
    issue(
        1,
        "clamp() accepts low > high",
        "`clamp(5, 10, 0)` returns 10 instead of complaining that the bounds are reversed.\n\n"
        "```python\n>>> from widgets import clamp\n>>> clamp(5, 10, 0)\n10\n```\n\n"
        "Expected a `ValueError`.",
        "bob",
        "2024-01-05T10:00:00Z",
        "2024-01-07T10:00:00Z",
        [
            {
                "user": "alice",
                "body": "Confirmed, clamp() should reject reversed bounds.",
                "created_at": "2024-01-05T12:00:00Z",
            },
            {"user": "bob", "body": "Thanks for the quick fix!", "created_at": "2024-01-06T15:00:00Z"},
        ],
    )
    done.add("clamp")
    changes.append("``clamp()`` rejects reversed bounds (#1).")
    pull_request(
        2,
        "Fix clamp with reversed bounds",
        "Fixes #1.\n\n<!-- closes #99 -->",
        "carol",
        "dev/clamp",
        [
            (
                "Fix clamp with reversed bounds",
                "2024-01-06T09:00:00Z",
                {**_code(done), "CHANGES.rst": _changes(*changes)},
            )
        ],
        "2024-01-06T09:30:00Z",
        "2024-01-07T10:00:00Z",
        "squash",
        "Fix clamp with reversed bounds (#2)\n\nFixes #1.",
    )

    # -- PR #3: docs only, real merge commit
    pull_request(
        3,
        "Docs: explain clamp",
        "Closes #1",
        "alice",
        "dev/docs",
        [("Document clamp()", "2024-01-08T09:00:00Z", {"docs/index.rst": DOCS_CLAMP, "README.md": README_DOCS})],
        "2024-01-08T09:10:00Z",
        "2024-01-09T11:00:00Z",
        "merge",
        "Merge pull request #3 from dev/docs\n\nDocs: explain clamp",
    )

    # -- issue #4 and PR #5: two commits, linked through a commit message only, real merge commit
    issue(
        4,
        "slugify drops digits",
        'slugify("Top 10 Tips") gives "top-tips": the digits disappear.',
        "dave",
        "2024-01-10T08:00:00Z",
        "2024-01-12T10:00:00Z",
        [{"user": "carol", "body": "I'll take this one.", "created_at": "2024-01-10T09:00:00Z"}],
    )
    wip = _code(done | {"slugify-wip"})
    done.add("slugify")
    changes.append("``slugify()`` keeps digits (#4).")
    pr5 = pull_request(
        5,
        "Fix slugify digits",
        "Some text without keywords.",
        "carol",
        "dev/slugify",
        [
            ("wip: slugify", "2024-01-11T09:00:00Z", {"src/widgets/__init__.py": wip["src/widgets/__init__.py"]}),
            ("handle digits, fixes #4", "2024-01-11T14:00:00Z", {**_code(done), "CHANGES.rst": _changes(*changes)}),
        ],
        "2024-01-11T09:30:00Z",
        "2024-01-12T10:00:00Z",
        "merge",
        "Merge pull request #5 from dev/slugify\n\nFix slugify digits",
    )

    # -- PR #6: code only, no test change
    done.add("mean")
    pull_request(
        6,
        "Speed up mean()",
        "Resolves #4",
        "frank",
        "dev/fast-mean",
        [("Use sum() in mean()", "2024-01-15T09:00:00Z", _code(done))],
        "2024-01-15T09:20:00Z",
        "2024-01-16T10:00:00Z",
        "squash",
        "Speed up mean() (#6)\n\nResolves #4",
    )

    # -- issue #7 and PR #8: linked only through GitHub's sidebar ("connected"), not through any text
    issue(
        7,
        "parse_size fails on lowercase units",
        "parse_size(\"10kb\") raises ValueError: invalid literal for int() with base 10: '10kb'",
        "erin",
        "2024-01-20T08:00:00Z",
        "2024-01-23T10:00:00Z",
        [
            {
                "user": "alice",
                "body": "Good catch; units should be case-insensitive.",
                "created_at": "2024-01-20T10:00:00Z",
            }
        ],
    )
    done.add("parse_size")
    pull_request(
        8,
        "Accept lowercase units",
        "#7 is related, prefix #7",
        "erin",
        "dev/parse-size",
        [("Accept lowercase units in parse_size()", "2024-01-22T09:00:00Z", _code(done))],
        "2024-01-22T09:15:00Z",
        "2024-01-23T10:00:00Z",
        "squash",
        "Accept lowercase units (#8)",
    )

    # -- PR #9: adds a binary file
    done.add("ordinal")
    pull_request(
        9,
        "Add logo",
        "Fixes #7",
        "alice",
        "dev/logo",
        [("Add a logo and ordinal()", "2024-01-25T09:00:00Z", {**_code(done), "docs/_static/logo.png": png_bytes()})],
        "2024-01-25T09:10:00Z",
        "2024-01-26T10:00:00Z",
        "squash",
        "Add logo (#9)\n\nFixes #7",
    )

    # -- PR #10: closed without merging; its commits stay on dev/refactor
    renamed = tests_source(done).replace("import pytest\n", "# Tests of the core helpers.\nimport pytest\n", 1)
    pull_request(
        10,
        "Refactor everything",
        "Moves things around. Closes #7",
        "frank",
        "dev/refactor",
        [
            ("Add a compat module", "2024-02-01T09:00:00Z", {"src/widgets/_compat.py": COMPAT, "MANIFEST.in": None}),
            (
                "Rename the tests",
                "2024-02-01T11:00:00Z",
                {"tests/test_widgets.py": None, "tests/test_core.py": renamed},
            ),
        ],
        "2024-02-01T11:30:00Z",
        "2024-02-05T10:00:00Z",
        None,
        comments=[
            {
                "id": 7101,
                "user": "alice",
                "body": "Too big to review in one go, let's split it up.",
                "created_at": "2024-02-05T09:55:00Z",
            }
        ],
    )

    # -- PR #11: cross-repository reference only
    done.add("dedupe")
    pull_request(
        11,
        "Port fix from upstream",
        "fixes other/lib#3",
        "carol",
        "dev/port-upstream",
        [("Keep order in dedupe()", "2024-02-07T09:00:00Z", _code(done))],
        "2024-02-07T09:10:00Z",
        "2024-02-08T10:00:00Z",
        "squash",
        "Port fix from upstream (#11)\n\nfixes other/lib#3",
    )

    # -- issue #12: fixed by a plain commit on main, no pull request
    issue(
        12,
        "Add a pairwise() helper",
        "Like itertools.pairwise, which needs Python 3.10.",
        "dave",
        "2024-02-10T08:00:00Z",
        "2024-02-12T09:00:00Z",
    )
    done.add("pairwise")
    pairwise = git.commit("Add pairwise helper\n\nCloses #12", "2024-02-12T09:00:00Z", "alice", _code(done))
    h.commits["pairwise"] = pairwise

    # -- issue #13 and PR #14: "fix: #13"
    issue(
        13,
        "chunk() loses the last item",
        "chunk([1, 2, 3], 2) gives [[1, 2]]; the remainder [3] is lost.",
        "bob",
        "2024-02-15T08:00:00Z",
        "2024-02-17T10:00:00Z",
        [{"user": "dave", "body": "Same with chunk(range(5), 2).", "created_at": "2024-02-15T08:30:00Z"}],
    )
    done.add("chunk")
    changes.append("``chunk()`` keeps the last, shorter chunk (#13).")
    pull_request(
        14,
        "Fix chunk remainder",
        "fix: #13",
        "dave",
        "dev/chunk",
        [("Keep the remainder in chunk()", "2024-02-16T09:00:00Z", {**_code(done), "CHANGES.rst": _changes(*changes)})],
        "2024-02-16T09:10:00Z",
        "2024-02-17T10:00:00Z",
        "squash",
        "Fix chunk remainder (#14)\n\nfix: #13",
    )
    git("tag", "v0.2.0")
    h.commits["v0.2.0"] = git("rev-parse", "HEAD")

    h.pulls.sort(key=lambda p: p["number"])
    h.issues.sort(key=lambda i: i["number"])
    h.timeline = _timelines(h, pr5_fix=pr5["commits"][1])
    pair = f"commit-{pairwise[:12]}"
    h.expected = {
        "pr-2": "valid",
        "pr-3": "docs_only",
        "pr-5": "valid",
        "pr-6": "no_test_change",
        "pr-8": {"github": "valid", "git": "no_linked_issue"},
        "pr-9": "binary_files",
        "pr-10": "not a candidate",
        "pr-11": "no_linked_issue",
        pair: {"github": "not a candidate", "git": "valid"},
        "pr-14": "valid",
    }
    h.links = {
        "pr-2": [1],
        "pr-3": {"github": [1], "git": []},
        "pr-5": [4],
        "pr-6": [4],
        "pr-8": {"github": [7], "git": []},
        "pr-9": [7],
        "pr-10": [7],  # "Closes #7" in its body, but never merged
        "pr-11": [],
        pair: [12],
        "pr-14": [13],
    }
    return h


# -- timelines ---------------------------------------------------------------------------------------------


def _event(kind: str, created_at: str | None, actor: str | None = "alice", **extra) -> dict:
    return {"event": kind, "created_at": created_at, "actor": actor, "commit_id": None, **extra}


def _timelines(h: History, pr5_fix: str) -> dict[int, list[dict]]:
    """GitHub's timeline of every issue and pull request, oldest first."""

    def ref(number: int) -> dict:
        return {"repo": REPO, "number": number}

    merged = {p["number"]: p["merge_commit_sha"] for p in h.pulls}
    tl: dict[int, list[dict]] = {}
    for item in h.issues + [p for p in h.pulls]:
        tl[item["number"]] = [
            _event("commented", c["created_at"], c["user"], comment_id=c["id"]) for c in item["comments"]
        ]
    for p in h.pulls:
        events = tl[p["number"]]
        events.extend(_event("committed", None, None, sha=sha) for sha in p["commits"])
        if p["merged_at"]:
            events.append(_event("merged", p["merged_at"], commit_id=p["merge_commit_sha"]))
            events.append(_event("closed", p["closed_at"]))
            events.append(_event("head_ref_deleted", p["closed_at"]))
        else:
            events.append(_event("closed", p["closed_at"]))
    tl[8].append(_event("connected", "2024-01-22T09:20:00Z", source=ref(7)))
    tl[1] += [
        _event("cross-referenced", "2024-01-06T09:30:00Z", "carol", source=ref(2)),
        _event("referenced", "2024-01-07T10:00:00Z", commit_id=merged[2]),
        _event("closed", "2024-01-07T10:00:00Z", commit_id=merged[2]),
        _event("cross-referenced", "2024-01-08T09:10:00Z", source=ref(3)),
    ]
    tl[4] += [
        _event("referenced", "2024-01-11T14:00:00Z", "carol", commit_id=pr5_fix),
        _event("closed", "2024-01-12T10:00:00Z", commit_id=pr5_fix),
        _event("cross-referenced", "2024-01-15T09:20:00Z", "frank", source=ref(6)),
    ]
    tl[7] += [
        _event("cross-referenced", "2024-01-22T09:15:00Z", "erin", source=ref(8)),
        _event("connected", "2024-01-22T09:20:00Z", source=ref(8)),
        _event("closed", "2024-01-23T10:00:00Z", commit_id=merged[8]),
        _event("cross-referenced", "2024-01-25T09:10:00Z", source=ref(9)),
        _event("cross-referenced", "2024-02-01T11:30:00Z", "frank", source=ref(10)),
    ]
    tl[12] += [
        _event("referenced", "2024-02-12T09:00:00Z", commit_id=h.commits["pairwise"]),
        _event("closed", "2024-02-12T09:00:00Z", commit_id=h.commits["pairwise"]),
    ]
    foreign = {
        "repo": OTHER_REPO,
        "number": 5,
        "title": "Port chunk fix from acme/widgets",
        "body": "Same bug as acme/widgets#13.",
        "user": "zoe",
        "pull_request": True,
        "state": "open",
        "created_at": "2024-02-20T12:00:00Z",
    }
    tl[13] += [
        _event("cross-referenced", "2024-02-16T09:10:00Z", "dave", source=ref(14)),
        _event("closed", "2024-02-17T10:00:00Z", commit_id=merged[14]),
        _event("cross-referenced", "2024-02-20T12:00:00Z", "zoe", source=foreign),
    ]
    for number, events in tl.items():
        # oldest first; "committed" events (no date) keep their place among the PR's events by commit order
        events.sort(key=lambda e: e["created_at"] or _commit_time(h, e.get("sha")))
        for i, e in enumerate(events):
            if e["event"] not in ("committed", "cross-referenced", "commented"):
                e["id"] = 30000 + number * 100 + i
    return tl


def _commit_time(h: History, sha: str | None) -> str:
    for p in h.pulls:
        if sha in p["commits"]:
            out = subprocess.run(
                ["git", "show", "-s", "--format=%cI", sha], cwd=h.path, check=True, capture_output=True, text=True
            ).stdout.strip()
            return out.replace("+00:00", "Z")
    return ""
