"""Where an env's sandboxes come from: its provider, warm pools shared by every env in a process, prefetching.

Many envs on one task (a vector env's workers in one process, the asyncio API)
share one pool per (provider, image, sandbox config); it closes when the last env
using it lets go. Sandboxes an env is done with are removed in the background, so
reset never waits for Docker. `EnvSandboxes` is one env's side of it: the pool of
its current task's image, and for a sampler the sandbox its next reset will most
likely want, started while the episode runs.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from swefarm.sandbox import Sandbox
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.pool import SandboxPool
from swefarm.sandbox.provider import SandboxProvider

_lock = threading.Lock()
_pools: dict[tuple[str, str, str], tuple[SandboxPool, int]] = {}
_reaper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="swefarm-env-close")
_prefetcher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="swefarm-env-prefetch")
_pending: set[Future] = set()


def acquire_pool(image: str, config: SandboxConfig, size: int, provider: SandboxProvider) -> SandboxPool:
    """The shared pool for `image` and `config` from `provider` (made on first use), with one more user counted."""
    key = (provider.name, image, config.model_dump_json())
    with _lock:
        pool, users = _pools.get(key, (None, 0))
        if pool is None:
            pool = SandboxPool(image, size=size, config=config, provider=provider)
        _pools[key] = (pool, users + 1)
        return pool


def release_pool(pool: SandboxPool) -> None:
    """One user fewer; the last one out closes the pool (its idle sandboxes are removed)."""
    with _lock:
        key = next((k for k, (p, _) in _pools.items() if p is pool), None)
        if key is None:
            return
        users = _pools[key][1] - 1
        if users > 0:
            _pools[key] = (pool, users)
            return
        del _pools[key]
    pool.close()


def close_later(sandbox) -> None:
    """Remove a sandbox without making the caller wait (the registry still removes it at exit)."""
    try:
        future = _reaper.submit(sandbox.close)
    except RuntimeError:  # interpreter shutting down: close now
        sandbox.close()
        return
    with _lock:
        _pending.add(future)
    future.add_done_callback(_done)


def _done(future: Future) -> None:
    with _lock:
        _pending.discard(future)


def wait_closed(timeout: float = 60.0) -> None:
    """Block until every sandbox handed to `close_later` is gone."""
    with _lock:
        pending = list(_pending)
    wait(pending, timeout=timeout)


def close_all() -> int:
    """Close every pool, whoever still uses it (the process is ending): refills stop, idle sandboxes go."""
    with _lock:
        pools = [pool for pool, _ in _pools.values()]
        _pools.clear()
    for pool in pools:
        pool.close()
    return len(pools)


def _close_result(future: Future) -> None:
    try:
        close_later(future.result())
    except Exception:
        pass  # it never started


class EnvSandboxes:
    """One env's sandboxes: from the warm pool of its task's image, or the one prefetched for its next task."""

    def __init__(self, provider: SandboxProvider, config: SandboxConfig, pool_size: int):
        self.provider, self.config, self.pool_size = provider, config, pool_size
        self.pool: SandboxPool | None = None
        self.pool_image: str | None = None
        self._prefetched: tuple[str, Future] | None = None

    def take(self, task_id: str, image: str) -> Sandbox:
        """A started sandbox for task `task_id`: the prefetched one, else from the warm pool of `image`."""
        if self._prefetched is not None:
            want, future = self._prefetched
            self._prefetched = None
            if want == task_id:
                return future.result()
            future.add_done_callback(_close_result)
        return self.ensure_pool(image).acquire()

    def ensure_pool(self, image: str) -> SandboxPool:
        """The warm pool of `image`, letting go of the previous image's."""
        if self.pool_image != image or self.pool is None:
            if self.pool is not None:
                release_pool(self.pool)
            self.pool = acquire_pool(image, self.config, self.pool_size, self.provider)
            self.pool_image = image
        return self.pool

    def prefetch(self, task_id: str, image: str) -> None:
        """Start a sandbox of `image` for task `task_id` in the background, unless the warm pool has that image."""
        if image == self.pool_image:
            return
        future = _prefetcher.submit(self.provider.start, image, self.config)
        self._prefetched = (task_id, future)

    def sibling(self) -> EnvSandboxes:
        """The same pool for a forked env (one more user counted), nothing prefetched."""
        twin = EnvSandboxes(self.provider, self.config, self.pool_size)
        if self.pool_image is not None:
            twin.ensure_pool(self.pool_image)
        return twin

    def close(self) -> None:
        """Drop the prefetched sandbox (removed in the background) and let go of the pool."""
        if self._prefetched is not None:
            self._prefetched[1].add_done_callback(_close_result)
            self._prefetched = None
        if self.pool is not None:
            release_pool(self.pool)
            self.pool = None
            self.pool_image = None
