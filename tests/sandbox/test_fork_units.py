"""sandbox.fork's bookkeeping on fakes (fast): all or nothing, what it refuses, what it sends a sibling.

Every behaviour here also runs against the real engine in test_fork.py.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import zlib
from types import SimpleNamespace

import pytest
from swefarm.sandbox.errors import SandboxClosedError
from swefarm.sandbox.fork import ForkError, bash_word, fork, restore, snapshot
from swefarm.sandbox.models import CommandResult


def _empty_tar() -> bytes:
    """An empty tar, compressed as a delta travels."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w"):
        pass
    return zlib.compress(buf.getvalue())


class FakeBox:
    """Answers a fork's commands the way a sandbox's server would, and records what it was sent."""

    def __init__(self, name: str, image: str = "img", closed: bool = False):
        self.id, self.image, self.seeded_at = name, image, "100.5"
        self.config = SimpleNamespace(workdir="/testbed", seed_workspace_from="/opt/repo")
        self.closed, self.sent, self.written = closed, [], {}

    def run(self, cmd, timeout=None, idle_timeout=None):
        if self.closed:
            raise SandboxClosedError(f"sandbox {self.id} is closed")
        self.sent.append(cmd)
        return CommandResult(exit_code=0, output="swefarm-fork-applied\n", duration=0.0)

    def fork_delta(self, since, seed, dump, max_bytes):
        if self.closed:
            raise SandboxClosedError(f"sandbox {self.id} is closed")
        return _empty_tar(), ["gone", "odd\nname"], b"export A='1'\n\xff"

    def fork_apply(self, tree, deleted):
        self.written["tree"], self.written["deleted"] = tree, deleted

    def close(self):
        self.closed = True


def test_a_snapshot_carries_the_delta_and_a_sibling_gets_it_in_one_command():
    snap = snapshot(FakeBox("parent"))
    assert snap.deletions == ("gone", "odd\nname") and snap.shell == "$'export A=\\x271\\x27\\x0a\\xff'"
    assert snap.shell.isascii() and snap.taken_from == "parent" and snap.delta_bytes > 0
    child = FakeBox("child")
    restore(snap, child, check_fresh=False)
    assert child.written == {"tree": snap.tree, "deleted": ["gone", "odd\nname"]}
    [command] = child.sent  # the shell only takes the state back: the server wrote the workspace
    assert "__swefarm_d=$'export A=\\x271\\x27\\x0a\\xff'" in command and "tar" not in command


def test_a_fork_is_all_or_nothing():
    made: list[FakeBox] = []

    def acquire():
        if len(made) == 2:
            raise SandboxClosedError("the pool is closed")
        made.append(FakeBox(f"c{len(made)}"))
        return made[-1]

    with pytest.raises(ForkError, match="cannot fork sandbox parent.*pool is closed"):
        fork(FakeBox("parent"), 4, acquire)
    assert len(made) == 2 and all(box.closed for box in made)


def test_what_a_fork_refuses():
    with pytest.raises(ValueError, match="at least one"):
        fork(FakeBox("parent"), 0, lambda: FakeBox("c"))
    with pytest.raises(ForkError, match="cannot fork sandbox gone: SandboxClosedError"):
        fork(FakeBox("gone", closed=True), 1, lambda: FakeBox("c"))
    snap = snapshot(FakeBox("parent"))
    with pytest.raises(ForkError, match="runs other"):
        restore(snap, FakeBox("c", image="other"))
    siblings = fork(FakeBox("parent"), 3, lambda: FakeBox("c"))
    assert [s.forked_from for s in siblings] == ["parent"] * 3


def test_the_shell_state_travels_as_one_ascii_word_bash_reads_back_byte_for_byte():
    data = bytes(range(1, 256)) + b"$(touch /tmp/x) `id` 'q' \\n \\x41"
    word = bash_word(data)
    assert word.isascii()
    out = subprocess.run(["bash", "-c", f'x={word}; printf %s "$x"'], capture_output=True, check=True).stdout
    assert out == data
