"""The local backend of the Sandbox protocol: the command server as a subprocess on this machine. FAST TESTS ONLY.

    *** NO ISOLATION. A local sandbox runs the agent's commands as the user running swefarm, on this
    *** machine's files, network and processes, with none of the Docker backend's limits (memory,
    *** processes, disk, network, a read-only root, another uid). Never give it untrusted code: it is
    *** for tests of swefarm's own code that must run without a Docker engine.

It refuses to start unless chosen by name (`make_provider("local", ...)`, `EnvConfig.sandbox_provider:
local`, or `no_isolation=True` here); nothing falls back to it.

What is the same: the command server (sandbox/agent.py, unsealed: it says `"sealed": false` and runs
everything as itself), its JSON-lines protocol, and so every `Sandbox` method (sandbox/served.py):
the persistent shell, stateless commands, timeouts, output caps, files, diff, `kill_agent_processes`
(the server adopts and kills its descendants). What differs: the workspace is a fresh temporary
directory, so `config.workdir` is that directory's path (read it from `sandbox.config.workdir`);
commands as `user="root"` run as the same user; a dead server is not restarted; no fork.

A local "image" is a directory standing for an image's file system: the workspace starts as a copy
of `<image dir>/<config.seed_workspace_from>` (empty when the config names nothing). A provider finds
an image's directory in its `images` mapping, else at `<root>/<image with / and : as _>`.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from swefarm.sandbox import registry
from swefarm.sandbox.channel import AGENT_SOURCE, ChannelClosed, ServerChannel
from swefarm.sandbox.errors import ImageMissingError, SandboxDiedError, SandboxError
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.served import ServedSandbox

from swefarm.settings import swefarm_home

MARK = "SWEFARM_LOCAL_SANDBOX"
NOT_CHOSEN = (
    "the local sandbox backend isolates nothing (the agent's commands run as you, on this machine); "
    "it starts only when chosen by name: make_provider('local') or EnvConfig.sandbox_provider='local'"
)


class PipeChannel(ServerChannel):
    """The command server as a child process, JSON lines over its stdin and stdout."""

    def __init__(self, workdir: str, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-c", AGENT_SOURCE, workdir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd="/",
            start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout.fileno()
        self._lines = bytearray()
        self.stderr = bytearray()
        self._drain = threading.Thread(target=self._keep_stderr, args=(self.proc.stderr,), daemon=True)
        self._drain.start()
        self._start()
        try:
            self._greet(None)  # unsealed: it runs everything as this process's user, and says so
        except BaseException:
            self.proc.kill()
            self.close()
            raise

    def _keep_stderr(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(8192), b""):
            self.stderr += chunk
            del self.stderr[:-8192]

    def _send(self, data: bytes) -> None:
        try:
            self._in.write(data)
            self._in.flush()
        except (OSError, ValueError) as exc:
            raise ChannelClosed(f"cannot reach the local command server: {exc}") from None

    def _receive(self, timeout: float) -> None:
        if not select.select([self._out], [], [], max(timeout, 0))[0]:
            raise ChannelClosed(f"the local command server did not answer within {timeout:.0f}s")
        chunk = os.read(self._out, 1 << 20)
        if not chunk:
            detail = self.stderr.decode(errors="replace")[-500:]
            raise ChannelClosed("the local command server's stream ended" + (f": {detail}" if detail else ""))
        self._lines += chunk

    def close(self) -> None:
        try:
            self._in.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


class LocalSandbox(ServedSandbox):
    """A command server on this machine in a temporary workspace. No isolation at all (see the module docstring)."""

    def __init__(
        self, image: str, image_dir: str | Path, config: SandboxConfig | None = None, *, no_isolation: bool = False
    ):
        if not no_isolation:
            raise SandboxError(NOT_CHOSEN)
        config = config or SandboxConfig()
        self.image = image
        self._closed = False
        self._lock = threading.Lock()
        self.restarts = 0
        self._root: Path | None = None
        registry.reserve()
        try:
            self._root = Path(tempfile.mkdtemp(prefix="swefarm-local-"))
            workdir = self._root / "workspace"
            seed = config.seed_workspace_from
            if seed:
                source = Path(image_dir) / seed.lstrip("/")
                if not source.is_dir():
                    raise SandboxError(f"the local image {image} ({image_dir}) has no {seed} to seed the workspace")
                shutil.copytree(source, workdir, symlinks=True)
            else:
                workdir.mkdir()
            (self._root / "home").mkdir()
            (self._root / "tmp").mkdir()
            self.config = config.model_copy(update={"workdir": str(workdir)})
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self._root / "home"),
                "TMPDIR": str(self._root / "tmp"),
                "TERM": "dumb",
                "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
                **config.env,
                MARK: str(self._root),  # what close() finds the sandbox's leftover processes by
            }
            registry.track(self)
            try:
                self._channel = PipeChannel(str(workdir), env)
            except (OSError, ChannelClosed) as exc:
                raise SandboxDiedError(f"the local command server did not start: {exc}") from None
        except BaseException:
            self.close()
            raise

    @property
    def id(self) -> str:
        return self._root.name if self._root is not None else "local"

    def _recover(self, exc: ChannelClosed, start: float, op: str, wait_s: float, fields: dict) -> dict:
        raise SandboxDiedError(f"local sandbox {self.id} died: {exc}") from None

    def close(self) -> None:
        """Stop everything the server started, the server, and remove the workspace. Safe twice; never raises."""
        if self._closed:
            return
        self._closed = True
        channel: PipeChannel | None = getattr(self, "_channel", None)
        if channel is not None:
            try:
                if channel.proc.poll() is None:
                    channel.request("kill_agent", 15)
            except (SandboxError, OSError):
                pass
            channel.close()
        if self._root is not None:
            _kill_marked(f"{MARK}={self._root}".encode())  # a server killed from outside left its commands
            shutil.rmtree(self._root, ignore_errors=True)
        registry.untrack(self)
        registry.release_slot()

    def fork(self, n: int = 1, pool=None) -> list[LocalSandbox]:
        """Not here: forking copies a sandbox's state between containers (sandbox.fork); use the Docker backend."""
        from swefarm.sandbox.fork import ForkError

        raise ForkError("local sandboxes cannot fork; forking needs the Docker backend")

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _kill_marked(mark: bytes) -> None:
    """SIGKILL every process of this user whose environment holds `mark` (best effort: never raises)."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            if mark in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                os.kill(int(name), 9)
        except OSError:
            pass


def image_dirname(image: str) -> str:
    """The directory name a local image is kept under: its name with anything but [A-Za-z0-9._-] as `_`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", image)


class LocalProvider:
    """Local sandboxes (`sandbox.provider`), from directories standing for images. No isolation: tests only."""

    name = "local"

    def __init__(self, images: Mapping[str, str | Path] | None = None, root: str | Path | None = None):
        self.images = {name: Path(path) for name, path in (images or {}).items()}
        self.root = Path(root) if root is not None else swefarm_home() / "local-images"

    def image_dir(self, image: str) -> Path:
        return self.images.get(image) or self.root / image_dirname(image)

    def start(self, image: str, config: SandboxConfig | None = None) -> LocalSandbox:
        if not self.image_exists(image):
            raise ImageMissingError(f"no local image {image}: no directory {self.image_dir(image)}")
        return LocalSandbox(image, self.image_dir(image), config, no_isolation=True)

    def image_exists(self, image: str) -> bool:
        return self.image_dir(image).is_dir()

    def image_id(self, image: str) -> str:
        return image

    def __repr__(self) -> str:
        return f"LocalProvider(root={str(self.root)!r})"
