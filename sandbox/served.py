"""The Sandbox protocol's commands and files over a command server's channel (sandbox/agent.py).

Every backend whose sandboxes run the command server shares these: the Docker backend
(sandbox/docker_backend.py) and the local one (sandbox/local_backend.py). A backend gives
`config`, `id`, `_closed`, `_lock` and `_channel` (a `channel.ServerChannel`), and says what
happens when the channel fails mid-request (`_recover`).
"""

from __future__ import annotations

import base64
import errno
import io
import tarfile
import threading
import time
from pathlib import Path, PurePosixPath

from swefarm.sandbox.channel import ChannelClosed, ServerChannel
from swefarm.sandbox.errors import (
    OutOfMemoryError,
    ProcessLimitError,
    SandboxClosedError,
    SandboxError,
    WorkspaceFullError,
)
from swefarm.sandbox.models import CommandResult, SandboxConfig
from swefarm.sandbox.text import to_utf8

GRACE_S = 15.0  # how long past a command's own timeout the host waits for the agent
KILL_AGENT_S = 30.0  # how long the host waits for every agent process to be killed
_COMMAND_OPS = ("exec", "run")
_AGENT_KINDS = {"process_limit": ProcessLimitError, "out_of_memory": OutOfMemoryError}


class ServedSandbox:
    """The Sandbox methods every command-server backend shares (not the protocol: backends do not inherit that)."""

    config: SandboxConfig
    _closed: bool
    _lock: threading.Lock
    _channel: ServerChannel

    @property
    def id(self) -> str:
        raise NotImplementedError

    def _recover(self, exc: ChannelClosed, start: float, op: str, wait_s: float, fields: dict) -> dict:
        """The answer to a request whose channel failed, or an exception: the backend's to decide."""
        raise NotImplementedError

    # -- commands ------------------------------------------------------------------
    def run(self, cmd: str, timeout: float | None = None, idle_timeout: float | None = None) -> CommandResult:
        """Run `cmd` in the persistent shell session (cd, export, functions persist)."""
        return self._command("exec", cmd, timeout, idle_timeout)

    def run_stateless(
        self,
        cmd: str,
        timeout: float | None = None,
        idle_timeout: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        max_output: int | None = None,
        user: str = "agent",
    ) -> CommandResult:
        """Run `cmd` in a fresh bash, in its own process session, untouched by the shell's state.

        `user="root"` runs it as root without any capability instead of the agent's uid: the agent's
        processes cannot signal, trace or write to it (it still cannot write the agent's private files).
        """
        if user not in ("agent", "root"):
            raise ValueError(f'user is "agent" or "root", not {user!r}')
        extra = {"user": user} if user == "root" else {}
        return self._command("run", cmd, timeout, idle_timeout, max_output=max_output, cwd=cwd, env=env or {}, **extra)

    def seal(self, root: str, entries: list[tuple[str, str]]) -> dict:
        """Hand paths under `root` to root, out of the agent's uid's reach (see sandbox/agent.py `op_seal`):
        entries are (relative path, "tree" | "file" | "sticky" | "placeholder"). Done by the command server
        itself; returns {"changed": n, "skipped": [paths that are missing or pass through a symbolic link]}."""
        answer = self._request("seal", KILL_AGENT_S, root=root, entries=[list(e) for e in entries])
        return {"changed": answer.get("changed", 0), "skipped": answer.get("skipped", [])}

    def kill_agent_processes(self) -> int:
        """SIGKILL every process of the agent's uid (the shell, daemons, fork bombs) until none is left.

        Call it before reading what the agent left (its diff, a test report): nothing of the agent runs
        after it returns. The next `run` starts a fresh shell. Returns how many processes were killed.
        """
        answer = self._request("kill_agent", KILL_AGENT_S)
        if answer.get("left"):
            raise SandboxError(f"sandbox {self.id}: {answer['left']} agent processes survived SIGKILL")
        return answer.get("killed", 0)

    def _command(
        self, op: str, cmd: str, timeout, idle_timeout, max_output: int | None = None, **extra
    ) -> CommandResult:
        timeout = self.config.timeout_s if timeout is None else timeout
        idle = self.config.idle_timeout_s if idle_timeout is None else idle_timeout
        cap = max_output or self.config.max_output
        answer = self._request(
            op, timeout + GRACE_S, cmd=cmd, timeout=timeout, idle_timeout=idle, max_output=cap, **extra
        )
        return CommandResult(**{k: answer[k] for k in CommandResult.model_fields if k in answer})

    def _request(self, op: str, wait_s: float, **fields) -> dict:
        if self._closed:
            raise SandboxClosedError(f"sandbox {self.id} is closed")
        with self._lock:
            start = time.monotonic()
            try:
                answer = self._channel.request(op, wait_s, **fields)
            except ChannelClosed as exc:
                answer = self._recover(exc, start, op, wait_s, fields)
        if not answer.get("ok"):
            raise self._error(op, answer)
        return answer

    def _error(self, op: str, answer: dict) -> Exception:
        """The exception for the server's refusal: the agent's doing, a file error, or the infrastructure's."""
        err, message = answer.get("error", "Error"), answer.get("message")
        code, where = answer.get("errno"), f"{op} in sandbox {self.id}"
        if answer.get("kind") in _AGENT_KINDS:
            return _AGENT_KINDS[answer["kind"]](f"{where}: {message}")
        if code is not None:
            args = (code, f"{where}: {answer.get('strerror') or message}", answer.get("filename"))
            if code in (errno.ENOSPC, errno.EDQUOT):
                return WorkspaceFullError(*args)
            if op not in _COMMAND_OPS:
                return OSError(*args)  # the builtin subclass for the errno: FileNotFoundError, PermissionError...
        if err == "ValueError" and op not in _COMMAND_OPS:
            return ValueError(f"{where}: {message}")
        return SandboxError(f"{op} in sandbox {self.id}: {err}: {message}")

    # -- files ---------------------------------------------------------------------
    def _abs(self, path: str) -> str:
        return str(PurePosixPath(self.config.workdir) / path)

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Bytes of a regular file (relative paths are inside the workspace), read with the agent's access.

        OSError for anything else (a FIFO, a device, a file under /proc or /sys) and for a file larger
        than `max_bytes` (default: the server's cap, 256 MiB).
        """
        return base64.b64decode(self._request("read", 60, path=self._abs(path), max_bytes=max_bytes)["data"])

    def write_file(self, path: str, data: bytes | str, mode: int | None = None) -> None:
        """Write a regular file as the agent (parents created); text is UTF-8 (`sandbox.text.to_utf8`)."""
        raw = to_utf8(data) if isinstance(data, str) else data
        self._request("write", 60, path=self._abs(path), data=base64.b64encode(raw).decode(), mode=mode)

    def fork_delta(self, since: str, seed: str | None, dump: str, max_bytes: int) -> tuple[bytes, list[str], bytes]:
        """The workspace's changes since `since` (sandbox/agent.py `op_fork_delta`), read by the server as the
        agent without starting a process: a POSIX tar of the changed entries (zlib-compressed), the names
        deleted from the seed `seed`, and the bytes of the file `dump` (removed once read). OSError (EFBIG)
        past `max_bytes`."""
        fields = {"root": self.config.workdir, "seed": seed, "since": since, "dump": dump, "max_bytes": max_bytes}
        answer = self._request("fork_delta", 300, **fields)
        return base64.b64decode(answer["tree"]), list(answer["deleted"]), base64.b64decode(answer["dump"])

    def fork_apply(self, tree: bytes, deleted: list[str]) -> None:
        """Remove `deleted` from the workspace, then write the compressed tar `tree` of `fork_delta` into it, as
        the agent."""
        data = base64.b64encode(tree).decode()
        self._request("fork_apply", 300, root=self.config.workdir, tree=data, deleted=list(deleted))

    def upload(self, local: str | Path, remote: str) -> None:
        """Copy a local file or directory to `remote` (a directory is placed inside `remote`)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(str(local), arcname=Path(local).name)
        self._request("tar_put", 300, path=self._abs(remote), data=base64.b64encode(buf.getvalue()).decode())

    def download(self, remote: str, local: str | Path) -> Path:
        """Copy a file or directory from the sandbox into the local directory `local`."""
        data = base64.b64decode(self._request("tar_get", 300, path=self._abs(remote))["data"])
        Path(local).mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(str(local), filter="data")
        return Path(local) / PurePosixPath(remote.rstrip("/")).name

    def diff(self, path: str | None = None) -> str:
        """`git diff` of the working tree against HEAD (a repository with no commit yet: against nothing),
        untracked files included; the index is untouched. SandboxError when `path` is not in a git repository."""
        repo = self._abs(path or ".")
        cmd = (
            f"cd {repo} && git rev-parse --git-dir >/dev/null 2>&1 || {{ echo 'not a git repository'; exit 3; }}; "
            "d=$(mktemp -d) && export GIT_INDEX_FILE=$d/index && { cp .git/index $GIT_INDEX_FILE 2>/dev/null || :; } "
            "&& git add -A >/dev/null && base=$(git rev-parse -q --verify HEAD || git hash-object -t tree /dev/null) "
            "&& git -c core.quotepath=false diff --cached --binary $base; rc=$?; rm -rf $d; exit $rc"
        )
        res = self.run_stateless(cmd, timeout=120, max_output=256 * 1024 * 1024)
        if res.exit_code == 3 and res.output.strip() == "not a git repository":
            raise SandboxError(f"git diff: {repo} is not a git repository (`git init` makes one)")
        if res.exit_code != 0 or res.truncated:
            raise SandboxError(f"git diff in {repo} failed: {res.output[-500:]}")
        return res.output
