"""`gymnasium.make("swe/<id>-v0", backend="ray")`: an env whose sandbox lives on a cluster node.

The trainer's process keeps a thin env; the real `SWEEnv` (perturbed when asked) lives on a
sandbox host chosen by image locality and free slots, and `reset`/`step` are Ray actor calls to
it. Observations, rewards and `info` are the ones the in-process env gives, plus
`info["timing"]["remote_step_s"]` (the round trip as the trainer sees it), `host_step_s` (the
same call measured on the host) and `info["node_id"]`. A host lost mid-episode ends the episode
with `info["infra_error"]` (truncated, never scored); the next `reset` starts on another host.

`gymnasium.make("swe/Sampler-v0", backend="ray")` is a `RaySamplerEnv`: the task of each episode is
drawn here, with the env's seeded RNG from the dataset (the draws a local `SamplerEnv` makes with the
same seed), and the episode plays on a node as above, placed by that task's image.

One scheduler per process and cluster address is shared by every such env, and closed at exit.
Per-episode Python hooks (`reset(options={"setup": [fn]})`) cannot cross nodes: use `perturb=`.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import TYPE_CHECKING, Any

import gymnasium as gym
from swefarm.cluster.errors import HostLostError
from swefarm.envs.spaces import AnyText

if TYPE_CHECKING:
    from swefarm.cluster.sessions import RemoteSession

MAX_TEXT = 1_000_000
_lock = threading.Lock()
_shared: dict[str, Any] = {}


def shared_scheduler(address: str | None = "auto", slots_per_host: int = 8):
    """The process's scheduler on the cluster at `address` (joined on first use; closed at exit)."""
    from swefarm.cluster.connect import connect
    from swefarm.cluster.scheduler import Scheduler

    with _lock:
        key = address or "auto"
        if key not in _shared:
            connect(address)
            _shared[key] = Scheduler(slots_per_host=slots_per_host)
            if len(_shared) == 1:
                atexit.register(close_shared)
        return _shared[key]


def close_shared() -> None:
    with _lock:
        schedulers = list(_shared.values())
        _shared.clear()
    for scheduler in schedulers:
        scheduler.close()


def make_on_host(ctx, task, kwargs: dict, perturb: Any, seed: int | None):
    """Runs on the host: the env a local `make` gives (an SWEEnv, perturbed when asked), on this node's engine."""
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.perturb import wrap

    env = SWEEnv(task, client=ctx.client, **kwargs)
    try:
        return wrap(env, perturb, seed=seed)  # no perturbation: the env itself
    except BaseException:
        env.close()
        raise


class RayEnv(gym.Env[str, Any]):
    """See the module docstring."""

    metadata = {"render_modes": []}

    def __init__(self, task=None, *, store=None, ray_address: str | None = "auto", perturb: Any = None,
                 seed: int | None = None, scheduler=None, **kwargs: Any):  # fmt: skip
        from swefarm.tasks.store import TaskStore

        if task is None:
            raise ValueError("a Ray env needs a task: a Task or an instance id in the task store")
        self.task = TaskStore(store).get(task) if isinstance(task, str) else task
        self._join(ray_address, perturb, seed, scheduler, kwargs)

    def _join(self, ray_address: str | None, perturb: Any, seed: int | None, scheduler, kwargs: dict) -> None:
        self._scheduler = scheduler or shared_scheduler(ray_address)
        self._kwargs, self._perturb, self._seed = kwargs, perturb, seed
        self._session: RemoteSession | None = None
        self._session_task: str | None = None  # the instance id the session's env plays
        self.observation_space = AnyText(max_length=MAX_TEXT, min_length=0)
        self.action_space = AnyText(max_length=MAX_TEXT, min_length=0)

    def _next_task(self):
        """The task of the episode a reset starts (after `np_random` is seeded)."""
        return self.task

    @property
    def node_id(self) -> str | None:
        return None if self._session is None else self._session.host.node_id

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        if options and any(callable(f) for v in options.values() if isinstance(v, list) for f in v):
            raise ValueError("per-episode functions cannot be sent to a Ray node; use perturb= when making the env")
        return self._start(self._next_task(), {"seed": seed, "options": options}, time.perf_counter())

    def _start(self, task, reset: dict, start: float) -> tuple[str, dict]:
        from swefarm.harness.images import task_image

        if self._session is not None and self._session_task != task.instance_id:
            self._session.close()  # another task: its episode goes where that task's image is
            self._session = None
        if self._session is None:
            self._session = self._scheduler.open_session(task_image(task), make_on_host, task, self._kwargs,
                                                         self._perturb, self._seed, reset=reset)  # fmt: skip
            self._session_task = task.instance_id
            observation, info = self._session.first
        else:
            try:
                observation, info = self._session.call("reset", **reset)
            except HostLostError:
                self._session = None  # the same task, on another host
                return self._start(task, reset, start)
        return observation, self._annotate(info, time.perf_counter() - start)

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        if self._session is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        start = time.perf_counter()
        try:
            observation, reward, terminated, truncated, info = self._session.call("step", action)
        except HostLostError as exc:
            self._session = None
            info = {"infra_error": str(exc), "timing": {}, "reward_components": {}}
            return "", 0.0, False, True, self._annotate(info, time.perf_counter() - start)
        return observation, reward, terminated, truncated, self._annotate(info, time.perf_counter() - start)

    def _annotate(self, info: dict, remote_s: float) -> dict:
        timing = info.setdefault("timing", {})
        timing["remote_step_s"] = round(remote_s, 6)
        if self._session is not None:
            timing["host_step_s"] = round(self._session.last_host_s, 6)
            info["node_id"] = self._session.host.node_id
            info["host"] = self._session.host.id
        return info

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        super().close()


class RaySamplerEnv(RayEnv):
    """`gymnasium.make("swe/Sampler-v0", backend="ray")`: see the module docstring. The dataset is read
    here (`dataset`, `split`, `repo`, `test_fraction` as for `SamplerEnv`); the tasks travel with the
    episodes, so nodes need no task store."""

    def __init__(self, dataset=None, split: str = "all", seed: int | None = None, *, repo: str | None = None,
                 test_fraction: float = 0.2, ray_address: str | None = "auto", perturb: Any = None, scheduler=None,
                 **kwargs: Any):  # fmt: skip
        from swefarm.envs.sources import load_source

        self.source = load_source(dataset=dataset, split=split, repo=repo, test_fraction=test_fraction)
        self.task = None  # the current episode's, once reset
        self._first_seed = seed
        self._join(ray_address, perturb, seed, scheduler, kwargs)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        if seed is None and self._first_seed is not None:
            seed, self._first_seed = self._first_seed, None
        return super().reset(seed=seed, options=options)

    def _next_task(self):
        self.task = self.source.draw(self.np_random)  # as SamplerEnv draws: the same tasks for the same seed
        return self.task
