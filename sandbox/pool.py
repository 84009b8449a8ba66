"""A warm pool of started sandboxes, refilled in the background."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import docker
from swefarm.sandbox import Sandbox, registry
from swefarm.sandbox.errors import SandboxError
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.provider import SandboxProvider, as_provider


class SandboxPool:
    """Keeps `size` sandboxes of one image started, so `acquire()` takes milliseconds.

    A sandbox handed out is the caller's to close; the pool starts a
    replacement in the background. Closing the pool removes the idle ones.
    Sandboxes come from `provider` (default: Docker's, on `client`), or from `factory`.
    """

    def __init__(
        self,
        image: str,
        size: int = 4,
        config: SandboxConfig | None = None,
        client: docker.DockerClient | None = None,
        workers: int = 2,
        factory: Callable[[], Sandbox] | None = None,
        provider: SandboxProvider | None = None,
    ):
        if size < 0:
            raise ValueError("pool size must be >= 0")
        registry.install_sigterm_handler()  # the filler threads cannot install it themselves
        self.image, self.size, self.config = image, size, config or SandboxConfig()
        self.provider = provider or as_provider(client)
        self._factory = factory or (lambda: self.provider.start(self.image, self.config))
        self._ready: queue.Queue[Sandbox] = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._closed = threading.Event()
        self.last_error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._fill, name=f"swefarm-pool-{i}", daemon=True) for i in range(max(workers, 1))
        ]
        for _ in range(size):
            self._wanted.release()
        for thread in self._threads:
            thread.start()

    def _fill(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed.is_set():
                return
            try:
                sandbox = self._factory()
            except BaseException as exc:  # recorded; acquire() reports it
                self.last_error = exc
                if self._closed.wait(1.0):
                    return
                self._wanted.release()
                continue
            self.last_error = None
            if self._closed.is_set():
                sandbox.close()
                return
            self._ready.put(sandbox)

    @property
    def ready(self) -> int:
        return self._ready.qsize()

    def wait_ready(self, count: int | None = None, timeout: float = 120.0) -> None:
        """Block until `count` (default: the pool's size) sandboxes are ready; raise the fill error if any."""
        want = self.size if count is None else count
        deadline = time.monotonic() + timeout
        while self.ready < want:
            if self.last_error is not None:
                raise self.last_error
            if time.monotonic() > deadline:
                raise TimeoutError(f"the pool readied {self.ready} of {want} sandboxes in {timeout:.0f}s")
            time.sleep(0.01)

    def acquire(self, timeout: float = 60.0) -> Sandbox:
        """A started sandbox: from the pool when one is ready, else started now."""
        if self._closed.is_set():
            raise SandboxError("the pool is closed")
        try:
            sandbox = self._ready.get_nowait()
        except queue.Empty:
            sandbox = None
        if sandbox is None and self.size > 0 and self.last_error is None:
            try:
                sandbox = self._ready.get(timeout=min(timeout, 30.0))
            except queue.Empty:
                sandbox = None
        if sandbox is None:
            return self._factory()
        self._wanted.release()  # start a replacement for the one handed out
        return sandbox

    def close(self) -> None:
        """Stop refilling and remove the idle sandboxes."""
        self._closed.set()
        for _ in self._threads:
            self._wanted.release()
        for thread in self._threads:
            thread.join(timeout=60)
        while True:
            try:
                self._ready.get_nowait().close()
            except queue.Empty:
                break

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
