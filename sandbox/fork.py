"""Forking a live sandbox: n siblings of one state, each in a sandbox taken from the warm pool.

A fork copies what makes the state: the workspace (files, modes, symlinks, the git index and
objects: everything under the workdir) and the shell session (working directory, exported
variables, functions and their export marks, aliases, umask, shell options). It does not carry
processes (a server the agent started in the background, a job still running), files outside
the workspace (/tmp, so a HOME in /tmp too), traps, or unexported shell variables.

Only what changed since the sandbox started travels. Every sandbox of one image starts with
the same workspace (copied from the image, `SandboxConfig.seed_workspace_from`, before the pool
hands it out), so the base is shared the way a copy-on-write layer is: a fork sends the entries
whose inode changed after the seed (their ctime, which no unprivileged process can set back)
and the names deleted since, and a fresh sibling from the pool, already holding the base,
applies them. The delta is a POSIX tar (nanosecond times, any name), compressed; it passes
through the host once and is written to each sibling in parallel. Docker's own copy-on-write (overlay2)
cannot serve here: the workspace is a tmpfs, which `docker commit` and `docker cp` do not see.

A fork starts no process: the shell writes its state with builtins, and the command server reads
the delta from the parent's workspace and writes it into each sibling's itself, with the agent's
file-system identity (sandbox/agent.py `op_fork_delta`, `op_fork_apply`), so a fork can do
nothing the agent's own commands could not; the sealing of each sibling is the pool's
(tests/sandbox/).
"""

from __future__ import annotations

import errno
import secrets
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError

MAX_DELTA = 512 * 1024 * 1024  # bytes of tar a fork carries at most
_DIR = "/tmp/.swefarm-fork-"
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="swefarm-fork")


class ForkError(SandboxError):
    """The sandbox could not be forked or restored; the message says why and what to do."""


class Forkable(Sandbox, Protocol):
    """What a fork needs of a sandbox beyond the Sandbox protocol (the Docker backend has it)."""

    image: str
    seeded_at: str | None  # when its workspace finished copying from the image, in its own clock

    def fork_delta(self, since: str, seed: str | None, dump: str, max_bytes: int) -> tuple[bytes, list[str], bytes]:
        """The workspace's changes since `since`: a compressed POSIX tar, the names deleted from `seed`, and
        the file `dump`."""
        ...

    def fork_apply(self, tree: bytes, deleted: list[str]) -> None:
        """Remove `deleted` from the workspace, then write the tar `tree` into it."""
        ...


Box = TypeVar("Box", bound=Forkable)


@dataclass(frozen=True)
class SandboxSnapshot:
    """One sandbox's state, as a delta over its image's workspace; restore it into any fresh sibling."""

    image: str
    workdir: str
    seed: str | None
    shell: str  # a bash script that recreates the shell session, as one bash-quoted word (ASCII)
    deletions: tuple[str, ...]  # paths (relative to the workdir) to remove from the base
    tree: bytes  # a POSIX tar of every workspace entry changed since the seed, zlib-compressed
    taken_from: str

    @property
    def delta_bytes(self) -> int:
        return len(self.tree) + sum(map(len, self.deletions)) + len(self.shell)


# The parent's shell writes a script that recreates it: options first (extglob changes how
# function bodies parse), aliases only after the functions (so bodies are not alias-expanded),
# `set -o` last (errexit must not stop the replay). Builtins only: nothing is started.
_DUMP = (
    "{{ builtin shopt -p; builtin printf '%s\\n' 'builtin shopt -u expand_aliases'; "
    "builtin printf 'builtin cd -- %q 2>/dev/null || builtin cd -- %q\\n' \"$PWD\" {workdir}; "
    "builtin printf '%s\\n' 'for __swefarm_v in $(builtin compgen -e); do builtin unset -v \"$__swefarm_v\"; done'; "
    "builtin declare -px; builtin declare -f; builtin declare -Fx; builtin alias -p; builtin umask -p; "
    "builtin shopt -p expand_aliases; builtin printf '%s\\n' 'builtin unset -v __swefarm_v __swefarm_d'; "
    "builtin set +o; }} > {out} 2>/dev/null"
)

# Applied in the sibling's own shell once its workspace holds the delta: recreate the shell session.
_REPLAY = (
    "builtin cd -- {workdir} && builtin printf 'swefarm-fork-applied\\n' && __swefarm_d={shell} "
    '&& builtin eval "$__swefarm_d" 2>/dev/null'
)


def snapshot(sandbox: Forkable) -> SandboxSnapshot:
    """The sandbox's workspace and shell state, read without changing either.

    Two requests, no process started: the shell writes its state with builtins, then the command
    server reads the workspace's delta (and that file) as the agent (sandbox/agent.py `op_fork_delta`).
    Raises ForkError when the sandbox is closed, dead, or its state cannot be read.
    """
    what = f"cannot fork sandbox {_name(sandbox)}"
    dump = _DIR + secrets.token_hex(6) + ".sh"
    workdir = sandbox.config.workdir
    try:
        dumped = sandbox.run(_DUMP.format(workdir=shlex.quote(workdir), out=shlex.quote(dump)), timeout=60)
        if dumped.exit_code != 0:
            raise ForkError(f"{what}: its shell could not write its state: {dumped.output[-500:]}")
        tree, deleted, shell = sandbox.fork_delta(
            sandbox.seeded_at or "0", sandbox.config.seed_workspace_from, dump, MAX_DELTA
        )
    except OSError as exc:
        why = f"its workspace changed by more than {MAX_DELTA // 2**20} MiB since it started"
        why = why if exc.errno == errno.EFBIG else f"reading its workspace failed: {exc}"
        raise ForkError(f"{what}: {why}") from None
    except (SandboxError, ValueError) as exc:
        if isinstance(exc, ForkError):
            raise
        raise ForkError(f"{what}: {type(exc).__name__}: {exc}") from None
    return SandboxSnapshot(
        image=sandbox.image,
        workdir=workdir,
        seed=sandbox.config.seed_workspace_from,
        shell=bash_word(shell),
        deletions=tuple(deleted),
        tree=tree,
        taken_from=_name(sandbox),
    )


def restore(snap: SandboxSnapshot, sandbox: Forkable, check_fresh: bool = True) -> None:
    """Make a fresh sandbox of the snapshot's image hold the snapshot's state.

    The sandbox must be as it started (straight from a pool or just made): the snapshot is a delta
    over that. `check_fresh` verifies it; `fork` skips the check for the pool's own sandboxes.
    """
    what = f"cannot restore a snapshot of sandbox {snap.taken_from} into {_name(sandbox)}"
    if sandbox.image != snap.image or sandbox.config.workdir != snap.workdir:
        here = f"{sandbox.image} in {sandbox.config.workdir}"
        raise ForkError(f"{what}: it runs {here}, not {snap.image} in {snap.workdir}")
    if sandbox.config.seed_workspace_from != snap.seed:
        raise ForkError(f"{what}: its workspace starts from {sandbox.config.seed_workspace_from}, not {snap.seed}")
    try:
        if check_fresh:
            _check_fresh(sandbox, what)
        sandbox.fork_apply(snap.tree, list(snap.deletions))
        res = sandbox.run(_REPLAY.format(workdir=shlex.quote(snap.workdir), shell=snap.shell), timeout=60)
    except (SandboxError, OSError, ValueError) as exc:
        raise ForkError(f"{what}: {type(exc).__name__}: {exc}") from None
    if "swefarm-fork-applied" not in res.output:
        raise ForkError(f"{what}: its shell could not take the state: {res.output[-800:].strip()}")


def bash_word(data: bytes) -> str:
    """`data` as one bash word that is all ASCII: $'...' with every other byte as \\xHH."""
    plain = {b for b in range(32, 127)} - {ord("\\"), ord("'")}
    return "$'" + "".join(chr(b) if b in plain else f"\\x{b:02x}" for b in data) + "'"


def _check_fresh(sandbox: Forkable, what: str) -> None:
    since = shlex.quote(sandbox.seeded_at or "0")
    res = sandbox.run_stateless(f"cd -- {shlex.quote(sandbox.config.workdir)} && find . -newerct @{since} -print -quit")
    if res.exit_code != 0 or res.output.strip():
        raise ForkError(f"{what}: it is not fresh (its workspace changed since it started); take one from a pool")


def fork(parent: Box, n: int, acquire: Callable[[], Box]) -> list[Box]:
    """n siblings of `parent`'s state, in sandboxes `acquire()` hands out fresh (a pool's acquire).

    All or nothing: if one sibling fails, every sibling made is closed and ForkError is raised.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"a fork makes at least one sibling, not {n!r}")
    snap = snapshot(parent)
    futures = [_pool.submit(_sibling, snap, acquire) for _ in range(n)]
    children: list[Box] = []
    failure: BaseException | None = None
    for future in futures:
        try:
            children.append(future.result())
        except BaseException as exc:  # every sibling is waited for, so none is left unclosed
            failure = failure or exc
    if failure is not None:
        for child in children:
            child.close()
        if isinstance(failure, ForkError):
            raise failure
        raise ForkError(f"cannot fork sandbox {_name(parent)}: {type(failure).__name__}: {failure}") from failure
    for child in children:
        child.forked_from = parent.id  # type: ignore[attr-defined]
    return children


def _sibling(snap: SandboxSnapshot, acquire: Callable[[], Box]) -> Box:
    child = acquire()
    try:
        restore(snap, child, check_fresh=False)
    except BaseException:
        child.close()
        raise
    return child


def _name(sandbox: Forkable) -> str:
    try:
        return sandbox.id
    except Exception:
        return "(unknown)"
