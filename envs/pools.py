"""Warm sandbox pools shared by every env in a process, one per (image, sandbox config).

Many envs on one task (a vector env's workers in one process, the asyncio API)
share one pool; it closes when the last env using it lets go. Sandboxes an env
is done with are removed in the background, so reset never waits for Docker.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

import docker
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.pool import SandboxPool

_lock = threading.Lock()
_pools: dict[tuple[str, str], tuple[SandboxPool, int]] = {}
_reaper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="swefarm-env-close")
_pending: set[Future] = set()


def acquire_pool(image: str, config: SandboxConfig, size: int, client: docker.DockerClient) -> SandboxPool:
    """The shared pool for `image` and `config` (made on first use), with one more user counted."""
    key = (image, config.model_dump_json())
    with _lock:
        pool, users = _pools.get(key, (None, 0))
        if pool is None:
            pool = SandboxPool(image, size=size, config=config, client=client)
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
