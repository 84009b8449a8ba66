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

import threading
import time

import docker
import docker.errors
import requests.exceptions
from docker.utils import parse_bytes
from swefarm.sandbox import registry
from swefarm.sandbox.bases import image_exists
from swefarm.sandbox.channel import AgentChannel, ChannelClosed
from swefarm.sandbox.engine import connect
from swefarm.sandbox.errors import OutOfMemoryError, SandboxDiedError, SandboxError, convert_docker_error
from swefarm.sandbox.labels import owner_labels
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.served import _COMMAND_OPS, ServedSandbox

IMAGE_NEEDS = "a sandbox image needs coreutils and python3 (3.9+) on PATH"
SHM_SIZE = "64m"  # /dev/shm, Docker's default size, stated so the memory limit can count it
#: What the command server needs, and nothing else: start commands as the agent's uid and gid, signal
#: them, empty its capability bounding set so no command it starts can ever hold a capability, and hand
#: files to root so that the agent's uid cannot change them (`seal`, for grading). Only the server holds them.
SERVER_CAPS = ["SETUID", "SETGID", "KILL", "SETPCAP", "CHOWN"]


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


class DockerSandbox(ServedSandbox):
    """A started, sealed container with a command server inside (its commands and files: sandbox.served)."""

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


class DockerProvider:
    """The Docker engine as a sandbox provider (`sandbox.provider`): sealed containers of local images."""

    name = "docker"

    def __init__(self, client: docker.DockerClient | None = None):
        self.client = client or connect()

    def start(self, image: str, config: SandboxConfig | None = None) -> DockerSandbox:
        return DockerSandbox(self.client, image, config)

    def image_exists(self, image: str) -> bool:
        return image_exists(self.client, image)

    def image_id(self, image: str) -> str:
        try:
            return self.client.images.get(image).id
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return image  # a missing image is reported by whoever starts it

    def __repr__(self) -> str:
        return "DockerProvider()"
