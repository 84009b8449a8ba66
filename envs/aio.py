"""The asyncio API: hundreds of concurrent episodes in one process, at most `max_concurrency` live at once.

    runner = EpisodeRunner(max_concurrency=32)
    async with runner.env(task="owner__repo-123") as env:
        obs, info = await env.reset(seed=0)
        obs, reward, terminated, truncated, info = await env.step(action)

Each env holds a slot from the moment it is opened until it is closed; coroutines
beyond the cap wait for one. Sandbox work is blocking (Docker, the sandbox's
socket), so it runs on the runner's own thread pool, one thread per slot:
asyncio's default pool has only a handful of threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from swefarm.envs.swe_env import SamplerEnv, SWEEnv
from swefarm.sandbox import registry


class AsyncSWEEnv:
    """An SWEEnv whose reset, step and close are awaitable."""

    def __init__(self, env: SWEEnv, executor: ThreadPoolExecutor):
        self.env, self._executor = env, executor

    async def _call(self, fn: Callable, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        return await self._call(self.env.reset, seed=seed, options=options)

    async def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        return await self._call(self.env.step, action)

    async def close(self) -> None:
        await self._call(self.env.close)

    async def run(self, fn: Callable, *args, **kwargs):
        """`fn(env, *args, **kwargs)` on the runner's threads: e.g. a whole episode, `await env.run(play, policy)`."""
        return await self._call(fn, self.env, *args, **kwargs)


class EpisodeRunner:
    """Opens envs for coroutines, never more than `max_concurrency` at once.

    Each live episode may hold two sandboxes for a moment (its own and the
    grader's), so the runner raises the process's sandbox cap to fit its
    concurrency if it is lower.
    """

    def __init__(self, max_concurrency: int = 32, client=None):
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        from swefarm.sandbox.engine import connect

        self.max_concurrency = max_concurrency
        self._client = client or connect(pool_size=max_concurrency * 2)
        self._slots: asyncio.Semaphore | None = None
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency + 2, thread_name_prefix="swefarm-aio")
        needed = 2 * max_concurrency + 16
        if registry.cap() < needed:
            registry.set_cap(needed)

    @asynccontextmanager
    async def env(self, *args: Any, sampler: bool = False, **kwargs: Any) -> AsyncIterator[AsyncSWEEnv]:
        """An open env (SWEEnv, or SamplerEnv with `sampler=True`) holding one slot until the block ends."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrency)
        cls = SamplerEnv if sampler else SWEEnv
        async with self._slots:
            loop = asyncio.get_running_loop()
            env = await loop.run_in_executor(self._executor, partial(cls, *args, client=self._client, **kwargs))
            wrapped = AsyncSWEEnv(env, self._executor)
            try:
                yield wrapped
            finally:
                await wrapped.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
