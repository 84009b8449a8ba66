"""The Docker backend of the Sandbox protocol, on the docker SDK.

One container per sandbox, sealed by default (no network, no-new-privileges,
pids/memory/CPU limits, read-only root, size-limited tmpfs for /tmp and the
workspace, every capability dropped but the five the command server needs to
run the agent's commands as a non-root uid, stop them and seal files for grading). Commands go through
the agent (sandbox/agent.py) over one long-lived exec stream.

Memory: `config.memory` is what the sandbox's processes can always use. Files in
/tmp, the workspace and /dev/shm live in memory too and count against the same
cgroup, so the container's limit is `memory` plus those tmpfs sizes: filling
them never starves the processes, and the agent's processes (oom_score_adj
1000) die before the command server when memory does run out. A server the
kernel killed anyway (an agent that lowered its processes' score and spread its
memory over many small ones) is started again: the command reports it (exit
137, "ran out of memory"), any other request is sent again.
"""

from __future__ import annotations

import base64
import errno
import io
import tarfile
import threading
import time
from pathlib import Path, PurePosixPath

import docker
import docker.errors
import requests.exceptions
from docker.utils import parse_bytes
from swefarm.sandbox import registry
from swefarm.sandbox.channel import AgentChannel, ChannelClosed
from swefarm.sandbox.errors import (
    OutOfMemoryError,
    ProcessLimitError,
    SandboxClosedError,
    SandboxDiedError,
    SandboxError,
    WorkspaceFullError,
    convert_docker_error,
)
from swefarm.sandbox.labels import owner_labels
from swefarm.sandbox.models import CommandResult, SandboxConfig
from swefarm.sandbox.text import to_utf8

IMAGE_NEEDS = "a sandbox image needs coreutils and python3 (3.9+) on PATH"
GRACE_S = 15.0  # how long past a command's own timeout the host waits for the agent
KILL_AGENT_S = 30.0  # how long the host waits for every agent process to be killed
SHM_SIZE = "64m"  # /dev/shm, Docker's default size, stated so the memory limit can count it
#: What the command server needs, and nothing else: start commands as the agent's uid and gid, signal
#: them, empty its capability bounding set so no command it starts can ever hold a capability, and hand
#: files to root so that the agent's uid cannot change them (`seal`, for grading). Only the server holds them.
SERVER_CAPS = ["SETUID", "SETGID", "KILL", "SETPCAP", "CHOWN"]
_COMMAND_OPS = ("exec", "run")
_AGENT_KINDS = {"process_limit": ProcessLimitError, "out_of_memory": OutOfMemoryError}


def memory_limit(config: SandboxConfig) -> int:
    """The container's memory limit in bytes: `memory` for processes, plus every tmpfs, which live in memory too."""
    return sum(parse_bytes(size) for size in (config.memory, config.tmp_size, config.workspace_size, SHM_SIZE))


def container_kwargs(image: str, config: SandboxConfig) -> dict:
    """Arguments for `containers.run` that seal a sandbox as `config` says."""
    mount_opts = "rw,exec,nosuid,nodev"
    return dict(
        image=image,
        command=["sleep", str(config.max_lifetime_s)],
        detach=True,
        init=True,
        user="0",  # PID 1 and the command server; every command runs as config.uid, which cannot signal them
        cgroupns="private",  # the host's cgroup tree stays out of sight
        network_mode="bridge" if config.network else "none",
        cap_drop=["ALL"],
        cap_add=SERVER_CAPS,
        security_opt=["no-new-privileges"],
        pids_limit=config.pids_limit,
        mem_limit=memory_limit(config),
        memswap_limit=memory_limit(config),
        shm_size=SHM_SIZE,
        nano_cpus=int(config.cpus * 1e9),
        ulimits=[docker.types.Ulimit(name="nofile", soft=config.nofile, hard=config.nofile)],
        read_only=config.read_only_root,
        tmpfs={
            "/tmp": f"{mount_opts},size={config.tmp_size},nr_inodes={config.tmp_inodes},mode=1777",
            config.workdir: f"{mount_opts},size={config.workspace_size},nr_inodes={config.workspace_inodes},"
            f"uid={config.uid},gid={config.uid},mode=0755",
        },
        working_dir=config.workdir,
        labels=owner_labels("sandbox"),
        auto_remove=True,
    )


class DockerSandbox:
    """A started, sealed container with a command server inside."""

    def __init__(self, client: docker.DockerClient, image: str, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self.image = image
        self._client = client
        self._closed = False
        self._lock = threading.Lock()
        self.restarts = 0
        self.seeded_at: str | None = None  # when the seed finished, in the sandbox's clock (sandbox.fork)
        registry.reserve()
        try:
            self.container = self._create()
            registry.track(self)
            self._channel = self._connect(first=True)
            if self.config.seed_workspace_from:
                self._seed_workspace()
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------------
    def _create(self):
        # create + start rather than containers.run: run() pulls an image it does not find
        # (from a registry this machine may not reach) and leaves the container behind when
        # start fails.
        kwargs = container_kwargs(self.image, self.config)
        kwargs.pop("detach")
        container = None
        try:
            container = self._client.containers.create(**kwargs)
            container.start()
            return container
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if container is not None:
                try:
                    container.remove(force=True)
                except (docker.errors.DockerException, requests.exceptions.RequestException):
                    pass
            if "executable file not found" in str(exc) or "no such file or directory" in str(exc).lower():
                raise SandboxError(f"{self.image} cannot host a sandbox: {IMAGE_NEEDS} ({exc})") from None
            raise convert_docker_error(exc, f"starting a sandbox from {self.image}") from None

    def _connect(self, first: bool = False) -> AgentChannel:
        env = {"HOME": "/tmp", "TERM": "dumb", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        env.update(self.config.env)
        try:
            return AgentChannel(self._client.api, self.container.id, self.config.workdir, self.config.uid, env)
        except (docker.errors.DockerException, requests.exceptions.RequestException, ChannelClosed) as exc:
            why = IMAGE_NEEDS if first else "it ran before, so what the sandbox's processes hold stops it"
            raise self._died(f"the command server did not start; {why} ({exc})") from None

    def _seed_workspace(self) -> None:
        src = self.config.seed_workspace_from
        # The time it ended, then a pause past the kernel's coarse file-time tick: whatever changes the
        # workspace later has a newer ctime, which is how a fork finds it (sandbox/fork.py).
        res = self.run_stateless(f"cp -a {src}/. {self.config.workdir}/ && date +%s.%N && sleep 0.02", timeout=300)
        if not res.ok:
            raise SandboxError(f"copying {src} into the workspace failed: {res.output[-500:]}")
        self.seeded_at = res.output.split()[-1]

    @property
    def id(self) -> str:
        return self.container.id[:12]

    def close(self) -> None:
        """Remove the container. Safe to call twice; never raises."""
        if self._closed:
            return
        self._closed = True
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()
        container = getattr(self, "container", None)
        if container is not None:
            try:
                container.remove(force=True)
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                pass  # already gone (auto_remove) or engine away: `swefarm gc` reaps it
        registry.untrack(self)
        registry.release_slot()

    def fork(self, n: int = 1, pool=None) -> list[DockerSandbox]:
        """n siblings of this sandbox's workspace and shell state, from `pool` (else started now); see sandbox.fork."""
        from swefarm.sandbox.fork import fork

        def acquire() -> DockerSandbox:
            return pool.acquire() if pool is not None else DockerSandbox(self._client, self.image, self.config)

        return fork(self, n, acquire)

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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

    def _recover(self, exc: ChannelClosed, start: float, op: str, wait_s: float, fields: dict) -> dict:
        """The server died mid-request (only running out of memory can kill it): start a new one if the
        container lives, else raise. A command reports it; any other request is sent again."""
        if not self._container_running():
            raise self._died(str(exc)) from None
        self._channel.close()
        self._channel = self._connect()
        self.restarts += 1
        if op not in _COMMAND_OPS:
            try:
                return self._channel.request(op, wait_s, **fields)
            except ChannelClosed as again:
                raise self._died(f"{again} (after a restart)") from None
        why = "the sandbox ran out of memory" if self._oom_killed() else "the sandbox's command server died"
        note = f"[swefarm: {why} while this command ran; the server was restarted and the shell state is gone]"
        return {"ok": True, "exit_code": 137, "output": note, "timed_out": False, "duration": time.monotonic() - start}

    def _oom_killed(self) -> bool:
        try:
            self.container.reload()
            return bool(self.container.attrs.get("State", {}).get("OOMKilled"))
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False

    def _container_running(self) -> bool:
        try:
            self.container.reload()
            return self.container.status == "running"
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False

    def _died(self, detail: str) -> SandboxError:
        try:
            self.container.reload()
            state = self.container.attrs.get("State", {})
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            state = {}
        if state.get("OOMKilled"):
            return OutOfMemoryError(
                f"sandbox {self.id}: its processes and files used all of its memory ({self.config.memory} for "
                f"processes, plus its tmpfs sizes) and the command server could not go on ({detail}); "
                "raise SandboxConfig.memory if the task needs more"
            )
        return SandboxDiedError(f"sandbox {self.id} ({self.image}) died: {detail}")

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
