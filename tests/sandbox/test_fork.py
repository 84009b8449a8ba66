"""Sandbox.fork against the real engine: siblings identical at the fork, independent after it, sealed,
counted and reaped like every sandbox; a closed or dead sandbox cannot be forked."""

from __future__ import annotations

import io
import tarfile
import time
import zlib

import docker.errors
import pytest
from swefarm.sandbox import labels, registry
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.fork import ForkError, restore, snapshot
from swefarm.sandbox.pool import SandboxPool

pytestmark = pytest.mark.docker

#: The workspace as a user would compare it: every entry's kind, mode, path and link target, every file's bytes.
TREE = (
    "{ find . -printf '%y %m %p -> %l\\n' | LC_ALL=C sort; "
    "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum"
)
#: The shell session: where it is, its exported environment (but `_`), functions, aliases, umask, options.
SHELL = "pwd; env | grep -v '^_=' | LC_ALL=C sort; declare -f; declare -Fx; alias -p; umask; shopt -p; set +o | sort"
PROCESSES = "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | tr -d ' '"
#: What an agent does to a repository and its shell in an episode.
EDITS = (
    "echo fixed >> pyproject.toml && mkdir -p new/deep && echo x > new/deep/f && rm -rf tests "
    "&& mv src/calc src/calc2 && chmod 600 pyproject.toml && ln -s /etc/passwd abs && printf 'a\\nb' > 'odd name\\n' "
    "&& git add -A && git -c user.email=a@b -c user.name=a commit -qm wip && echo staged > staged.txt "
    "&& git add staged.txt && export FOO='two words' BAR=$'line\\nbreak' && unset LANG "
    '&& greet() { echo hello "$@"; } && export -f greet && shopt -s extglob expand_aliases '
    "&& alias ll='ls -l' && umask 027 && cd new/deep"
)


def wait_gone(client, container_id: str, timeout: float = 60.0) -> None:
    """Until the engine has removed the container (a killed one is removed in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.containers.get(container_id)
        except docker.errors.NotFound:
            return
        time.sleep(0.1)
    raise AssertionError(f"container {container_id[:12]} was not removed in {timeout:.0f}s")


def tree(sandbox) -> str:
    res = sandbox.run_stateless(TREE, cwd=sandbox.config.workdir)
    assert res.exit_code == 0, res.output
    return res.output


def shell(sandbox) -> str:
    res = sandbox.run(SHELL)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture
def calc_pool(docker_client, built_calc_task):
    from swefarm.harness.images import sandbox_config, task_image

    with SandboxPool(task_image(built_calc_task), size=3, config=sandbox_config(), client=docker_client) as pool:
        yield pool


def test_siblings_are_identical_at_the_fork_and_independent_after(calc_pool):
    parent = calc_pool.acquire()
    try:
        assert parent.run(EDITS).exit_code == 0
        calc_pool.wait_ready(3)
        before = tree(parent), shell(parent)
        siblings = parent.fork(3, pool=calc_pool)
        try:
            want_tree, want_shell = tree(parent), shell(parent)
            assert (want_tree, want_shell) == before  # forking leaves the parent as it was
            for box in (parent, *siblings):  # and leaves nothing behind in /tmp (removed in the background)
                left = box.run_stateless(
                    "for i in $(seq 50); do ls -A /tmp | grep -q swefarm || exit 0; sleep 0.1; done; exit 1"
                )
                assert left.exit_code == 0, box.run_stateless("ls -A /tmp").output
            assert "/testbed/new/deep" in want_shell and "FOO=two words" in want_shell and "greet" in want_shell
            for sibling in siblings:
                assert sibling.id != parent.id and sibling.forked_from == parent.id
                assert tree(sibling) == want_tree
                assert shell(sibling) == want_shell
                used = sibling.run("greet you; ll -d .; git log --oneline | wc -l; git diff --cached --name-only")
                assert used.output == f"hello you\n{parent.run('ls -l -d .').output}2\nstaged.txt\n"
            # independent after: a write in one sibling shows nowhere else
            siblings[0].run("echo only-here > mine.txt && cd / && export FOO=changed")
            assert siblings[0].run("cat /testbed/new/deep/mine.txt").output == "only-here\n"
            for other in (parent, siblings[1], siblings[2]):
                assert "No such file" in other.run("cat /testbed/new/deep/mine.txt").output
                assert other.run('pwd; echo "$FOO"').output == "/testbed/new/deep\ntwo words\n"
            parent.run("echo parent > /testbed/after.txt")
            assert all("No such file" in s.run("cat /testbed/after.txt").output for s in siblings)
            assert tree(siblings[1]) == tree(siblings[2]) == want_tree != tree(siblings[0])
        finally:
            for sibling in siblings:
                sibling.close()
    finally:
        parent.close()


def test_a_fork_of_a_fork_and_a_snapshot_restored_twice(calc_pool):
    parent = calc_pool.acquire()
    try:
        parent.run("rm src/calc/__init__.py && mkdir tests/more && echo 1 > tests/more/t.py && cd tests")
        [child] = parent.fork(1, pool=calc_pool)
        try:
            child.run("echo 2 >> more/t.py && rm -r more && mkdir more && echo 3 > more/u.py")
            [grandchild] = child.fork(1, pool=calc_pool)
            try:
                assert tree(grandchild) == tree(child) != tree(parent)
                assert shell(grandchild) == shell(child)
            finally:
                grandchild.close()
        finally:
            child.close()
        snap = snapshot(parent)
        assert snap.delta_bytes < 100_000  # only what changed travels, not the repository
        for _ in range(2):
            fresh = calc_pool.acquire()
            try:
                restore(snap, fresh)
                assert tree(fresh) == tree(parent) and shell(fresh) == shell(parent)
                with pytest.raises(ForkError, match="not fresh"):
                    restore(snap, fresh)  # a used sandbox would mix two states
            finally:
                fresh.close()
    finally:
        parent.close()


def test_processes_are_not_carried_and_each_sibling_is_sealed(calc_pool):
    parent = calc_pool.acquire()
    try:
        parent.run("(sleep 600 &) ; sleep 600 & echo started")
        [sibling] = parent.fork(1, pool=calc_pool)
        try:
            assert "sleep600" in parent.run(PROCESSES).output
            assert "sleep600" not in sibling.run(PROCESSES).output
            # sealed as every sandbox (tests/sandbox/test_sealing.py): the agent's uid, no capability,
            # and the root command server out of its reach
            assert sibling.run("id -u").output == "1000\n"
            status = sibling.run("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status").output.split()
            assert status == ["CapEff:", "0000000000000000", "NoNewPrivs:", "1"]
            assert sibling.run("kill -9 $PPID").exit_code != 0
            assert sibling.run("echo still here").output == "still here\n"
        finally:
            sibling.close()
    finally:
        parent.close()


def test_forks_count_against_the_cap_carry_labels_and_fail_whole(docker_client, built_calc_task):
    from swefarm.harness.images import sandbox_config, task_image

    parent = DockerSandbox(docker_client, task_image(built_calc_task), sandbox_config())
    old_cap = registry.cap()
    try:
        parent.run("echo changed > pyproject.toml")
        [child] = parent.fork(1)  # no pool: started now, sealed and labelled the same way
        try:
            assert child.container.labels[labels.KIND] == "sandbox"
            assert child.container.labels[labels.OWNER_PID] == parent.container.labels[labels.OWNER_PID]
            assert child.read_file("pyproject.toml") == b"changed\n"
        finally:
            child.close()
        registry.set_cap(registry.live_count() + 1)
        before = registry.live_count()
        with pytest.raises(ForkError, match="live sandboxes"):
            parent.fork(2)
        assert registry.live_count() == before  # the one sibling that fit was closed again
    finally:
        registry.set_cap(old_cap)
        parent.close()


def test_a_closed_or_dead_sandbox_cannot_be_forked(docker_client, built_calc_task):
    from swefarm.harness.images import sandbox_config, task_image

    image = task_image(built_calc_task)
    closed = DockerSandbox(docker_client, image, sandbox_config())
    closed.close()
    with pytest.raises(ForkError, match=f"cannot fork sandbox {closed.id}.*closed"):
        closed.fork(1)
    dead = DockerSandbox(docker_client, image, sandbox_config())
    try:
        dead.container.kill()
        with pytest.raises(ForkError, match=f"cannot fork sandbox {dead.id}.*died"):
            dead.fork(1)
    finally:
        dead.close()
        wait_gone(docker_client, dead.container.id)


def _delta(*members: tuple[str, str]) -> bytes:
    """A delta as a fork carries it (a compressed POSIX tar): ("link", "name -> target") or ("file", "name")."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, spec in members:
            if kind == "link":
                name, target = spec.split(" -> ")
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                info = tarfile.TarInfo(spec)
                info.size = 6
                tar.addfile(info, io.BytesIO(b"pwned\n"))
    return zlib.compress(buf.getvalue())


def test_a_delta_writes_nothing_outside_the_workspace_nor_through_a_link_and_keeps_odd_files(calc_pool):
    """The server writes a delta into a sibling itself: a delta made to climb out of the workspace (through
    a link it planted first, or by `..`) is refused and writes nothing; what the agent can make (a FIFO, a
    read-only directory, a hard link, an unreadable name) travels as it is."""
    box = calc_pool.acquire()
    try:
        for delta, deleted, why in [
            (_delta(("link", "esc -> /tmp"), ("file", "esc/pwned")), [], "symbolic link"),
            (_delta(("file", "../pwned")), [], "leaves the workspace"),
            (_delta(), ["../../tmp"], "leaves the workspace"),
        ]:
            with pytest.raises(ValueError, match=why):
                box.fork_apply(delta, deleted)
            assert box.run_stateless("test -e /tmp/pwned || test -e /pwned").exit_code == 1
    finally:
        box.close()
    parent = calc_pool.acquire()
    try:
        made = parent.run(
            "mkfifo pipe && mkdir -p ro/in && echo x > ro/in/f && ln ro/in/f hard && chmod 555 ro "
            "&& touch $'bad\\xff\\xfename'"
        )
        assert made.exit_code == 0, made.output
        [sibling] = parent.fork(1, pool=calc_pool)
        try:
            assert tree(sibling) == tree(parent)
            assert sibling.run("test -p pipe && stat -c %h hard && ls ro/in").output == "2\nf\n"
        finally:
            sibling.close()
    finally:
        parent.close()
