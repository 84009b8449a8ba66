"""Files in and out of a real sandbox, and diff() of the workspace's git repository.

`any_sandbox` tests run on both backends (tests/sandbox/conftest.py); `sandbox` ones on Docker only (the
agent's uid, files outside the workspace)."""

from __future__ import annotations

import os
import re

import pytest
from swefarm.sandbox.errors import SandboxError

ALL_BYTES = bytes(range(256)) * 64


def test_write_and_read_binary_round_trip(sandbox):
    sandbox.write_file("bin/data.bin", ALL_BYTES)  # relative: inside the workspace, parents created
    assert sandbox.read_file("bin/data.bin") == ALL_BYTES
    assert sandbox.read_file(f"{sandbox.config.workdir}/bin/data.bin") == ALL_BYTES
    assert sandbox.run("wc -c < bin/data.bin").output.strip() == str(len(ALL_BYTES))
    big = os.urandom(5 * 1024 * 1024)
    sandbox.write_file("/tmp/big.bin", big)
    assert sandbox.read_file("/tmp/big.bin") == big


def test_write_text_and_mode(any_sandbox):
    any_sandbox.write_file("run.sh", "#!/bin/sh\necho ran-ünï\n", mode=0o755)
    assert any_sandbox.run("./run.sh").output == "ran-ünï\n"
    assert any_sandbox.run("stat -c %a run.sh").output.strip() == "755"
    assert any_sandbox.read_file("run.sh").decode() == "#!/bin/sh\necho ran-ünï\n"


def test_files_written_are_owned_by_the_sandbox_user(sandbox):
    sandbox.write_file("owned.txt", b"x")
    assert sandbox.run("stat -c %u owned.txt").output.strip() == str(sandbox.config.uid)


def test_reading_a_missing_file_raises_file_not_found(any_sandbox):
    with pytest.raises(FileNotFoundError):
        any_sandbox.read_file("does/not/exist.txt")
    with pytest.raises(FileNotFoundError):
        any_sandbox.download("no-such-dir", "/tmp/unused-swefarm-download")
    with pytest.raises(IsADirectoryError):
        any_sandbox.read_file(".")
    assert any_sandbox.run("echo still-fine").ok


def test_upload_and_download_a_nested_directory(any_sandbox, tmp_path):
    src = tmp_path / "project"
    (src / "pkg" / "deep" / "deeper").mkdir(parents=True)
    files = {
        "README.md": b"# readme\n",
        "pkg/__init__.py": b"",
        "pkg/mod.py": b"VALUE = 1\n",
        "pkg/deep/blob.bin": ALL_BYTES,
        "pkg/deep/deeper/ünicode name.txt": "ünï\n".encode(),
    }
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    (src / "pkg" / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    (src / "pkg" / "tool.sh").chmod(0o755)

    any_sandbox.upload(src, "dest")  # lands at <workdir>/dest/project
    listing = any_sandbox.run_stateless("cd dest/project && find . -type f | sort").output.splitlines()
    assert listing == sorted(["./" + rel for rel in files] + ["./pkg/tool.sh"])
    assert any_sandbox.read_file("dest/project/pkg/deep/blob.bin") == ALL_BYTES
    assert any_sandbox.run("dest/project/pkg/tool.sh").output == "tool\n"

    any_sandbox.run("echo made-inside > dest/project/pkg/new.txt")
    back = any_sandbox.download("dest/project", tmp_path / "back")
    assert back == tmp_path / "back" / "project"
    for rel, data in files.items():
        assert (back / rel).read_bytes() == data, rel
    assert (back / "pkg" / "new.txt").read_text() == "made-inside\n"
    assert os.access(back / "pkg" / "tool.sh", os.X_OK)


def test_upload_and_download_a_single_file(sandbox, tmp_path):
    src = tmp_path / "one.bin"
    src.write_bytes(ALL_BYTES)
    sandbox.upload(src, "/tmp/in")
    assert sandbox.read_file("/tmp/in/one.bin") == ALL_BYTES
    got = sandbox.download("/tmp/in/one.bin", tmp_path / "out")
    assert got.read_bytes() == ALL_BYTES


GIT = "git -c user.name=t -c user.email=t@example.invalid"


def test_diff_shows_tracked_and_untracked_changes_and_keeps_the_index(sandbox):
    setup = (
        f"cd {sandbox.config.workdir} && git init -q repo && cd repo && "
        "printf 'line one\\nline two\\n' > tracked.txt && printf 'keep\\n' > same.txt && "
        f"git add . && {GIT} commit -qm init && "
        "printf 'line one\\nline 2 changed\\n' > tracked.txt && printf 'brand new\\n' > untracked.txt && "
        "printf 'staged\\n' > staged.txt && git add staged.txt"
    )
    assert sandbox.run(setup).ok
    sandbox.run("cd repo")
    status_before = sandbox.run("git status --porcelain").output
    index_before = sandbox.run("sha256sum .git/index").output
    assert status_before == "A  staged.txt\n M tracked.txt\n?? untracked.txt\n"

    diff = sandbox.diff("repo")

    assert "diff --git a/tracked.txt b/tracked.txt" in diff
    assert "-line two\n+line 2 changed\n" in diff
    assert "diff --git a/untracked.txt b/untracked.txt" in diff and "+brand new\n" in diff
    assert "diff --git a/staged.txt b/staged.txt" in diff
    assert "same.txt" not in diff
    assert sandbox.run("sha256sum .git/index").output == index_before
    assert sandbox.run("git status --porcelain").output == status_before
    # the diff applies cleanly to a fresh checkout of HEAD
    sandbox.write_file("/tmp/agent.patch", diff)
    res = sandbox.run(
        "git worktree add -q /tmp/check HEAD 2>&1 && cd /tmp/check && git apply /tmp/agent.patch && "
        "cat tracked.txt untracked.txt staged.txt"
    )
    assert res.ok, res.output
    assert res.output == "line one\nline 2 changed\nbrand new\nstaged\n"


def test_diff_of_a_clean_repo_is_empty_and_of_binary_files_applies(any_sandbox):
    any_sandbox.run(f"git init -q . && echo a > a.txt && git add a.txt && {GIT} commit -qm init")
    assert any_sandbox.diff() == ""
    any_sandbox.write_file("blob.bin", ALL_BYTES)
    diff = any_sandbox.diff()
    assert "GIT binary patch" in diff


def test_diff_outside_a_repository_raises(any_sandbox):
    workdir = re.escape(any_sandbox.config.workdir)  # /workspace in a container
    with pytest.raises(SandboxError, match=f"git diff: {workdir} is not a git repository"):
        any_sandbox.diff()


def test_diff_of_a_repository_with_no_commit_shows_every_file_and_leaves_the_index(any_sandbox):
    any_sandbox.run("git init -q .")
    any_sandbox.write_file("notes.txt", "hi\n")
    assert "+++ b/notes.txt" in any_sandbox.diff() and "+hi" in any_sandbox.diff()
    assert any_sandbox.run("git status --short").output.strip() == "?? notes.txt"  # nothing staged
