"""Splitting diffs into gold and test patches, checked against real git: both halves apply."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from swefarm.harness.repos import RepoError, git
from swefarm.miner.patches import (
    FileChange,
    PatchSplit,
    _describe,
    _describe_raw,
    classify,
    is_test_path,
    language,
    split_patch,
)

IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@localhost",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@localhost",
}


@pytest.fixture(autouse=True)
def _no_global_git_config(monkeypatch, tmp_path):
    """Keep the user's git configuration (hooks, autocrlf, signing) out of these repositories."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_x.py",
        "test/x.py",
        "pkg/tests/x.py",
        "testing/helpers.py",
        "pkg/testutils.py",
        "test_foo.py",
        "foo_test.py",
        "foo_test.go",
        "src/foo-test.js",
        "Tests/Foo.py",
        "src/__tests__/a.js",
        "conftest.py",
        "pkg/conftest.py",
        "e2e/run.ts",
        "tests/data/input.json",
        "fixtures/data.json",
        "pkg/fixture.py",
        "pkg/test.py",
    ],
)
def test_test_paths(path):
    assert is_test_path(path)
    assert classify(path) == "test"


@pytest.mark.parametrize(
    "path",
    [
        "latest.py",
        "contest.py",
        "attestation/x.py",
        "pkg/protest.py",
        "src/m.py",
        "pytest.ini",
        "docs/spec.md",
        "src/flask/testing.py",  # a library module, not a test
        "requirements/tests.txt",  # configuration
        ".github/workflows/tests.yaml",
        "test-requirements.txt",
    ],
)
def test_not_test_paths(path):
    assert not is_test_path(path)


@pytest.mark.parametrize(
    "path,kind",
    [
        ("docs/index.rst", "docs"),
        ("doc/conf.py", "docs"),
        ("pkg/docs/usage.txt", "docs"),
        ("README.md", "docs"),
        ("README", "docs"),
        ("notes.adoc", "docs"),
        ("CHANGES.rst", "docs"),
        ("CHANGELOG", "docs"),
        ("AUTHORS", "docs"),
        ("HISTORY.md", "docs"),
        ("NEWS", "docs"),
        ("LICENSE", "docs"),
        ("LICENSE-MIT", "docs"),
        ("LICENSE.txt", "docs"),
        ("changelog.d/123.bugfix", "docs"),
        ("requirements.txt", "other"),
        ("requirements-dev.txt", "other"),
        ("CMakeLists.txt", "other"),
        ("pyproject.toml", "other"),
        ("setup.cfg", "other"),
        ("tox.ini", "other"),
        ("Makefile", "other"),
        (".github/workflows/ci.yml", "other"),
        ("data/config.json", "other"),
        ("conf.yaml", "other"),
        ("scripts/release.sh", "other"),
        ("src/pkg/mod.py", "code"),
        ("setup.py", "code"),
        ("pkg/history.py", "code"),
        ("pkg/license.py", "code"),
        ("pkg/_speedups.pyx", "code"),
        ("src/lib.rs", "code"),
        ("tests/test_readme.md", "test"),
    ],
)
def test_classify(path, kind):
    assert classify(path) == kind


@pytest.mark.parametrize(
    "path,lang",
    [
        ("a.py", "python"),
        ("a.pyi", "python"),
        ("a.PY", "python"),
        ("a.pyx", "cython"),
        ("a.pxd", "cython"),
        ("a.c", "c"),
        ("a.h", "c"),
        ("a.cpp", "cpp"),
        ("a.cc", "cpp"),
        ("a.hpp", "cpp"),
        ("a.js", "javascript"),
        ("a.ts", "typescript"),
        ("a.tsx", "typescript"),
        ("a.rs", "rust"),
        ("a.go", "go"),
        ("a.java", "java"),
        ("README.md", None),
        ("pyproject.toml", None),
        ("Makefile", None),
    ],
)
def test_language(path, lang):
    assert language(path) == lang


# --- a real repository ---------------------------------------------------------------------------


def write(root: Path, files: dict[str, bytes | str | None]) -> None:
    for name, content in files.items():
        path = root / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


def commit(root: Path, files: dict[str, bytes | str | None], message: str) -> str:
    write(root, files)
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=root, env=IDENTITY)
    return git("rev-parse", "HEAD", cwd=root).strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("config", "core.autocrlf", "false", cwd=root)
    return root


def apply_cached(repo: Path, base: str, patches: list[str], tmp: Path, check: bool = False) -> str:
    """Apply `patches` in turn to `base`'s tree in a scratch index; the resulting tree id."""
    env = {"GIT_INDEX_FILE": str(tmp / "index")}
    git("read-tree", base, cwd=repo, env=env)
    for i, text in enumerate(patches):
        if not text:
            continue
        patch = tmp / f"p{i}.diff"
        patch.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        git("apply", "--cached", *(["--check"] if check else []), str(patch), cwd=repo, env=env)
    return git("write-tree", cwd=repo, env=env).strip()


def git_diff(repo: Path, a: str, b: str, *flags: str) -> str:
    """`git diff` read as bytes: `harness.repos.git` reads text, which turns CRLF into LF."""
    done = subprocess.run(["git", "diff", *flags, a, b], cwd=repo, capture_output=True, check=True)
    return done.stdout.decode("utf-8", errors="surrogateescape")


def assert_round_trip(repo: Path, a: str, b: str, split: PatchSplit, tmp: Path) -> None:
    """Gold alone, tests alone and both together apply to A; gold then tests rebuilds B's tree."""
    apply_cached(repo, a, [split.gold], tmp, check=True)
    apply_cached(repo, a, [split.tests], tmp, check=True)
    apply_cached(repo, a, [split.gold, split.tests], tmp, check=True)
    assert apply_cached(repo, a, [split.gold, split.tests], tmp) == git("rev-parse", f"{b}^{{tree}}", cwd=repo).strip()
    assert apply_cached(repo, a, [split.tests, split.gold], tmp) == git("rev-parse", f"{b}^{{tree}}", cwd=repo).strip()


BASE_FILES: dict[str, bytes | str | None] = {
    "src/pkg/core.py": "def f():\n    return 1\n\n\ndef g():\n    return 2\n",
    "src/pkg/old.py": "OLD = 1\n",
    "src/pkg/moved.py": "".join(f"line {i}\n" for i in range(20)),
    "src/pkg/edited_move.py": "".join(f"value {i}\n" for i in range(20)),
    "src/pkg/noeol.py": "X = 1",
    "src/pkg/unicode.py": "NAME = 'cafe'\n",
    "src/pkg/café.py": "A = 1\n",
    "src/pkg/my module.py": "B = 1\n",
    "src/pkg/weird.py": "a\x0cb\r\nc\n",
    "scripts/run.sh": "#!/bin/sh\necho hi\n",
    "tests/test_core.py": "from pkg.core import f\n\n\ndef test_f():\n    assert f() == 1\n",
    "tests/test_gone.py": "def test_gone():\n    pass\n",
    "tests/data/blob.bin": b"\x00\x01\x02\x03binary\xff",
    "docs/index.rst": "Title\n=====\n",
    "README.md": "# proj\n",
    "pyproject.toml": "[project]\nname = 'proj'\n",
}

CHANGES: dict[str, bytes | str | None] = {
    "src/pkg/core.py": "def f():\n    return 10\n\n\ndef g():\n    return 2\n",
    "src/pkg/old.py": None,
    "src/pkg/new.py": "NEW = 2\n",
    "src/pkg/noeol.py": "X = 2",
    "src/pkg/unicode.py": "NAME = 'café ☕ 名前'\n",
    "src/pkg/café.py": "A = 2  # é\n",
    "src/pkg/my module.py": "B = 2\n",
    "src/pkg/weird.py": "a\x0cB\r\nc\n",
    "tests/test_core.py": "from pkg.core import f\n\n\ndef test_f():\n    assert f() == 10\n",
    "tests/test_gone.py": None,
    "tests/test_new.py": "def test_new():\n    assert True\n",
    "tests/data/blob.bin": b"\x00\x01\x02\x03BINARY\xfe",
    "docs/index.rst": "Title\n=====\n\nMore.\n",
}


def make_history(repo: Path) -> tuple[str, str]:
    a = commit(repo, BASE_FILES, "A")
    write(repo, CHANGES)
    git("mv", "src/pkg/moved.py", "src/pkg/renamed.py", cwd=repo)
    git("mv", "src/pkg/edited_move.py", "src/pkg/edited_moved.py", cwd=repo)
    (repo / "src/pkg/edited_moved.py").write_text("".join(f"value {i}\n" for i in range(19)) + "changed\n")
    (repo / "scripts/run.sh").chmod(0o755)
    b = commit(repo, {}, "B")
    return a, b


def by_path(split: PatchSplit) -> dict[str, FileChange]:
    return {f.path: f for f in split.files}


def test_split_real_diff_applies_and_round_trips(repo, tmp_path):
    a, b = make_history(repo)
    diff = git_diff(repo, a, b, "--binary")
    split = split_patch(diff)
    assert_round_trip(repo, a, b, split, tmp_path)

    files = by_path(split)
    assert files["src/pkg/core.py"] == FileChange("src/pkg/core.py", "code", "python", False, 1, 1, "modified")
    assert files["src/pkg/old.py"].status == "removed"
    assert files["src/pkg/old.py"].removed == 1
    assert files["src/pkg/new.py"].status == "added"
    assert files["src/pkg/renamed.py"] == FileChange("src/pkg/renamed.py", "code", "python", False, 0, 0, "renamed")
    assert files["src/pkg/edited_moved.py"].status == "renamed"
    assert (files["src/pkg/edited_moved.py"].added, files["src/pkg/edited_moved.py"].removed) == (1, 1)
    assert files["src/pkg/café.py"].kind == "code"
    assert files["src/pkg/my module.py"].kind == "code"
    assert files["scripts/run.sh"] == FileChange("scripts/run.sh", "other", None, False, 0, 0, "modified")
    assert files["tests/test_gone.py"].status == "removed"
    assert files["tests/test_gone.py"].kind == "test"
    assert files["tests/data/blob.bin"].binary
    assert files["docs/index.rst"].kind == "docs"

    assert sorted(split.test_files) == [
        "tests/data/blob.bin",
        "tests/test_core.py",
        "tests/test_gone.py",
        "tests/test_new.py",
    ]
    assert split.binary_files == ["tests/data/blob.bin"]
    assert split.doc_files == ["docs/index.rst"]
    assert "src/pkg/core.py" in split.code_files
    assert "scripts/run.sh" not in split.code_files
    assert split.gold_files == len(split.files) - 4
    assert split.gold_lines == sum(f.added + f.removed for f in split.files if f.kind != "test")

    # every piece is verbatim: the two halves hold exactly the diff's lines
    assert "\\ No newline at end of file" in split.gold
    assert "GIT binary patch" in split.tests
    assert "GIT binary patch" not in split.gold
    assert sorted((split.gold + split.tests).splitlines()) == sorted(diff.splitlines())
    assert "diff --git a/tests/" not in split.gold
    assert "diff --git a/src/" not in split.tests


def test_pieces_keep_git_hunk_headers_verbatim(repo, tmp_path):
    a = commit(repo, {"m.py": "a\n", "tests/test_m.py": "x\n"}, "A")
    b = commit(repo, {"m.py": "b\n", "tests/test_m.py": "y\n"}, "B")
    diff = git_diff(repo, a, b)
    split = split_patch(diff)
    assert split.gold + split.tests == diff
    assert "@@ -1 +1 @@" in split.gold
    assert_round_trip(repo, a, b, split, tmp_path)


def test_plain_binary_diff_is_detected(repo):
    a = commit(repo, {"img.png": b"\x89PNG\x00\x01", "src/m.py": "a\n"}, "A")
    b = commit(repo, {"img.png": b"\x89PNG\x00\x02", "new.dat": b"\x00\x00", "src/m.py": "b\n"}, "B")
    diff = git_diff(repo, a, b)
    assert "Binary files a/img.png and b/img.png differ" in diff
    split = split_patch(diff)
    files = by_path(split)
    assert files["img.png"].binary and files["img.png"].status == "modified"
    assert files["new.dat"].binary and files["new.dat"].status == "added"
    assert not files["src/m.py"].binary
    assert sorted(split.binary_files) == ["img.png", "new.dat"]
    assert "Binary files a/img.png and b/img.png differ" in split.gold


def test_binary_patch_applies(repo, tmp_path):
    a = commit(repo, {"logo.png": bytes(range(256)) * 4, "m.py": "a\n"}, "A")
    b = commit(repo, {"logo.png": bytes(reversed(range(256))) * 4, "icon.png": b"\x00\xff" * 50, "m.py": "b\n"}, "B")
    split = split_patch(git_diff(repo, a, b, "--binary"))
    assert sorted(split.binary_files) == ["icon.png", "logo.png"]
    assert split.tests == ""
    assert_round_trip(repo, a, b, split, tmp_path)


def test_pure_rename_and_mode_change_only(repo, tmp_path):
    a = commit(repo, {"pkg/a.py": "A = 1\n" * 10, "tests/test_a.py": "T = 1\n" * 10, "run.py": "print()\n"}, "A")
    git("mv", "pkg/a.py", "pkg/b.py", cwd=repo)
    git("mv", "tests/test_a.py", "tests/test_b.py", cwd=repo)
    (repo / "run.py").chmod(0o755)
    b = commit(repo, {}, "B")
    diff = git_diff(repo, a, b)
    assert "rename from pkg/a.py" in diff and "@@" not in diff
    split = split_patch(diff)
    assert [(f.path, f.status, f.added, f.removed) for f in split.files] == [
        ("pkg/b.py", "renamed", 0, 0),
        ("run.py", "modified", 0, 0),
        ("tests/test_b.py", "renamed", 0, 0),
    ]
    assert split.gold_lines == 0
    assert_round_trip(repo, a, b, split, tmp_path)


def test_rename_into_tests_goes_by_the_new_path(repo, tmp_path):
    a = commit(repo, {"pkg/helpers.py": "H = 1\n" * 10}, "A")
    (repo / "tests").mkdir()
    git("mv", "pkg/helpers.py", "tests/helpers.py", cwd=repo)
    b = commit(repo, {}, "B")
    split = split_patch(git_diff(repo, a, b))
    assert split.files[0].path == "tests/helpers.py"
    assert split.gold == ""
    assert_round_trip(repo, a, b, split, tmp_path)


def test_deleted_file_goes_by_the_old_path(repo, tmp_path):
    a = commit(repo, {"tests/test_old.py": "x\n", "pkg/m.py": "y\n"}, "A")
    b = commit(repo, {"tests/test_old.py": None, "pkg/m.py": None}, "B")
    split = split_patch(git_diff(repo, a, b))
    assert [(f.path, f.kind, f.status) for f in split.files] == [
        ("pkg/m.py", "code", "removed"),
        ("tests/test_old.py", "test", "removed"),
    ]
    assert_round_trip(repo, a, b, split, tmp_path)


def test_non_ascii_path_quoted_by_git(repo, tmp_path):
    a = commit(repo, {"pkg/naïve.py": "a\n", "tests/test_ñ.py": "b\n"}, "A")
    b = commit(repo, {"pkg/naïve.py": "é\n", "tests/test_ñ.py": "ü\n"}, "B")
    diff = git_diff(repo, a, b)
    assert '"a/pkg/na\\303\\257ve.py"' in diff
    split = split_patch(diff)
    assert [f.path for f in split.files] == ["pkg/naïve.py", "tests/test_ñ.py"]
    assert split.test_files == ["tests/test_ñ.py"]
    assert_round_trip(repo, a, b, split, tmp_path)


def test_empty_diff():
    split = split_patch("")
    assert split == PatchSplit(gold="", tests="", files=[])
    assert split.gold_lines == 0 and split.gold_files == 0
    assert split.test_files == split.code_files == split.doc_files == split.binary_files == []


def test_text_before_the_first_header_is_dropped():
    diff = "diff --git a/m.py b/m.py\nindex 1..2 100644\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a\n+b\n"
    split = split_patch("From abc Mon Sep 17 00:00:00 2001\nSubject: x\n\n" + diff)
    assert split.gold == diff


def test_fallback_describes_every_piece_like_unidiff(repo):
    a, b = make_history(repo)
    for flags in ((), ("--binary",)):
        diff = git_diff(repo, a, b, *flags)
        pieces = [p for p in re.split(r"(?m)^(?=diff --git )", diff) if p]
        assert len(pieces) == 16
        for piece in pieces:
            assert _describe_raw(piece) == _describe(piece), piece


def test_unparseable_piece_falls_back():
    # a hunk shorter than its header says: unidiff refuses it, the header lines still describe it
    diff = (
        "diff --git a/pkg/m.py b/pkg/m.py\nindex 1..2 100644\n--- a/pkg/m.py\n+++ b/pkg/m.py\n"
        "@@ -1,5 +1,5 @@\n-a\n+b\n"
        "diff --git a/tests/test_m.py b/tests/test_m.py\nnew file mode 100644\nindex 0..3\n"
        "--- /dev/null\n+++ b/tests/test_m.py\n@@ -0,0 +1 @@\n+x\n"
    )
    split = split_patch(diff)
    assert [(f.path, f.kind, f.status, f.added, f.removed) for f in split.files] == [
        ("pkg/m.py", "code", "modified", 1, 1),
        ("tests/test_m.py", "test", "added", 1, 0),
    ]
    assert split.gold + split.tests == diff


def test_git_helper_raises_on_bad_patch(repo, tmp_path):
    a = commit(repo, {"m.py": "a\n"}, "A")
    bad = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-zzz\n+b\n"
    with pytest.raises(RepoError):
        apply_cached(repo, a, [bad], tmp_path, check=True)
