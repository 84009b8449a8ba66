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
applies them. The delta is a POSIX tar (nanosecond times, any name); it passes through the
host once and is written to each sibling in parallel. Docker's own copy-on-write (overlay2)
cannot serve here: the workspace is a tmpfs, which `docker commit` and `docker cp` do not see.

Everything runs as the agent's uid through the command server, so a fork can do nothing the
agent's own commands could not; the sealing of each sibling is the pool's (tests/sandbox/).
"""

from __future__ import annotations

import base64
import secrets
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError

MAX_DELTA = 512 * 1024 * 1024  # bytes of base64 a fork carries at most
_DIR = "/tmp/.swefarm-fork-"
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="swefarm-fork")


class ForkError(SandboxError):
    """The sandbox could not be forked or restored; the message says why and what to do."""


class Forkable(Sandbox, Protocol):
    """What a fork needs of a sandbox beyond the Sandbox protocol (the Docker backend has it)."""

    image: str
    seeded_at: str | None  # when its workspace finished copying from the image, in its own clock


Box = TypeVar("Box", bound=Forkable)


@dataclass(frozen=True)
class SandboxSnapshot:
    """One sandbox's state, as a delta over its image's workspace; restore it into any fresh sibling."""

    image: str
    workdir: str
    seed: str | None
    shell: str  # a bash script that recreates the shell session, as one bash-quoted word (ASCII)
    deletions: tuple[str, ...]  # workspace paths to remove from the base, each a bash-quoted word
    tree: bytes  # a POSIX tar of every workspace entry changed since the seed
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

# The delta, computed as the agent: every entry whose inode changed after the seed. A directory
# the seed also has is compared with it: names gone or of another kind are deleted; a new
# directory, or one moved here whole (its ctime is new, its mtime is not), is copied with all it
# holds, since what was moved along keeps its old ctime. Output, all ASCII: the tar in base64,
# tar's exit code, its errors, the shell script, then one deletion a line (the last three
# bash-quoted). Processes started: find, tar with base64 beside it, and rm, not waited for.
_DELTA = r"""
W={workdir}; S={seed}; E={since}; T={tmp}
shopt -s nullglob dotglob
kind() {{ if [[ -L $1 ]]; then k=l; elif [[ -d $1 ]]; then k=d; elif [[ -e $1 ]]; then k=f; else k=; fi; }}
under() {{ local r; for r in "${{R[@]}}"; do [[ $1 == "$r"/* ]] && return 0; done; return 1; }}
covered() {{ local r; for r in "${{R[@]}}"; do [[ $1 == "$r" || $1 == "$r"/* ]] && return 0; done; return 1; }}
trap '(rm -f "$T.sh" "$T.all" "$T.list" "$T.rec" "$T.err" >/dev/null 2>&1 &)' EXIT
IFS= read -r -d '' dump < "$T.sh"
cd -- "$W" || exit 3
find . -newerct "@$E" \( -newermt "@$E" -printf N -o -printf O \) -printf '%y%p\0' > "$T.all" || exit 4
mapfile -d '' A < "$T.all"
R=(); D=(); L=(); C=()
if [[ -n $S ]]; then
  for e in "${{A[@]}}"; do
    [[ ${{e:1:1}} == d && -d $S/${{e:2}} && ! -L $S/${{e:2}} ]] || continue
    p=${{e:2}}
    if [[ $p != . && ${{e:0:1}} == O ]]; then D+=("$p"); R+=("$p"); continue; fi
    for q in "$S/$p"/*; do n=${{q##*/}}; kind "$q"; a=$k; kind "$p/$n"; [[ $a == "$k" ]] || D+=("$p/$n"); done
    for q in "$p"/*; do [[ -d $q && ! -L $q ]] || continue; kind "$S/$q"; [[ $k == d ]] || R+=("$q"); done
  done
fi
for e in "${{A[@]}}"; do covered "${{e:2}}" || L+=("${{e:2}}"); done
for r in "${{R[@]}}"; do under "$r" || C+=("$r"); done
nul() {{ local x; for x; do printf '%s\0' "$x"; done; }}
nul "${{L[@]}}" > "$T.list"; nul "${{C[@]}}" > "$T.rec"
tar -c -f - --format=posix -C "$W" --no-recursion --null -T "$T.list" --recursion --null -T "$T.rec" 2> "$T.err" \
  | base64 -w0
printf '\n%d\n' "${{PIPESTATUS[0]}}"
IFS= read -r -d '' err < "$T.err"
export LC_ALL=C
printf '%q\n%q\n' "$err" "$dump"
for d in "${{D[@]}}"; do printf '%q\n' "$d"; done
"""

# Applied in the sibling's own shell, before the replay can shadow a command: remove what the
# parent deleted, extract what it changed, then recreate the shell session.
_APPLY = (
    "builtin cd -- {workdir} && {remove}tar -x -p -f {tree} 2>&1; __swefarm_v=$?; (rm -f {tree} >/dev/null 2>&1 &); "
    "if [ $__swefarm_v = 0 ]; then builtin printf 'swefarm-fork-applied\\n'; __swefarm_d={shell}; "
    'builtin eval "$__swefarm_d" 2>/dev/null; fi'
)


def snapshot(sandbox: Forkable) -> SandboxSnapshot:
    """The sandbox's workspace and shell state, read without changing either.

    Raises ForkError when the sandbox is closed, dead, or its state cannot be read.
    """
    what = f"cannot fork sandbox {_name(sandbox)}"
    tmp = _DIR + secrets.token_hex(6)
    workdir = sandbox.config.workdir
    try:
        dumped = sandbox.run(_DUMP.format(workdir=shlex.quote(workdir), out=shlex.quote(tmp + ".sh")), timeout=60)
        script = _DELTA.format(
            workdir=shlex.quote(workdir),
            seed=shlex.quote(sandbox.config.seed_workspace_from or ""),
            since=shlex.quote(sandbox.seeded_at or "0"),
            tmp=shlex.quote(tmp),
        )
        res = sandbox.run_stateless(script, timeout=300, max_output=MAX_DELTA + 64 * 1024)
    except SandboxError as exc:
        raise ForkError(f"{what}: {type(exc).__name__}: {exc}") from None
    if dumped.exit_code != 0:
        raise ForkError(f"{what}: its shell could not write its state: {dumped.output[-500:]}")
    if res.truncated:
        raise ForkError(f"{what}: its workspace changed by more than {MAX_DELTA // 2**20} MiB since it started")
    lines = res.output.split("\n")
    if res.exit_code != 0 or len(lines) < 5 or lines[1] not in ("0", "1"):  # tar's 1: a file changed as it read
        raise ForkError(f"{what}: reading its workspace failed: {res.output[-800:].strip()}")
    return SandboxSnapshot(
        image=sandbox.image,
        workdir=workdir,
        seed=sandbox.config.seed_workspace_from,
        shell=lines[3],
        deletions=tuple(line for line in lines[4:] if line),
        tree=base64.b64decode(lines[0]),
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
    tree = _DIR + secrets.token_hex(6)
    remove = f"rm -rf -- {' '.join(snap.deletions)} && " if snap.deletions else ""
    command = _APPLY.format(workdir=shlex.quote(snap.workdir), remove=remove, tree=shlex.quote(tree), shell=snap.shell)
    try:
        if check_fresh:
            _check_fresh(sandbox, what)
        sandbox.write_file(tree, snap.tree)
        res = sandbox.run(command, timeout=300)
    except (SandboxError, OSError) as exc:
        raise ForkError(f"{what}: {type(exc).__name__}: {exc}") from None
    if "swefarm-fork-applied" not in res.output:
        raise ForkError(f"{what}: writing the workspace failed: {res.output[-800:].strip()}")


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
