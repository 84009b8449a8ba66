"""Forking an episode: `env.fork(n)`, `env.snapshot()`, `env.restore(snapshot)` on SWEEnv.

A fork is n envs on the same task and scaffold, each holding its own sandbox (from the env's
warm pool) with the parent's workspace and shell state (`sandbox.fork`), and the parent's
episode so far: the transcript, step and tool-call counts, tokens, timings and the tools' own
state (the editor's undo history). Each sibling steps, ends and grades on its own; closing one
touches no other. GRPO groups and tree search branch here instead of replaying from reset.

Not carried: processes the agent left running (a fork has none of them), files outside the
workspace (/tmp), and a sampler's prefetched next sandbox. The siblings share the parent's
random generator state, so a sampler's next reset draws the same task in each.
"""

from __future__ import annotations

from copy import copy, deepcopy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
from swefarm.sandbox.fork import ForkError, SandboxSnapshot
from swefarm.sandbox.fork import restore as restore_sandbox
from swefarm.sandbox.fork import snapshot as snapshot_sandbox

if TYPE_CHECKING:
    from swefarm.envs.swe_env import SWEEnv

#: The episode as the env holds it; copied into every sibling (deep where a sibling may change it).
_SHARED = ("_task", "_episode", "_cfg", "format", "_reset_s")
_COPIED = ("_tools", "_specs", "_transcript", "_steps", "_tool_calls", "_tokens", "_model_s", "_env_s")


@dataclass(frozen=True)
class EnvSnapshot:
    """One moment of an episode: its sandbox's state and the episode's own. Restore it as often as wanted."""

    sandbox: SandboxSnapshot
    episode: dict[str, Any]

    @property
    def step(self) -> int:
        return self.episode["_steps"]


def _live(env: SWEEnv, what: str) -> None:
    if env._task is None or env._sandbox is None:
        raise gym.error.ResetNeeded(f"call reset() before {what}()")
    if env._ended:
        raise ForkError(f"the episode has ended (and its sandbox was graded); {what} it before its last step")


def _episode_state(env: SWEEnv) -> dict[str, Any]:
    state = {name: getattr(env, name) for name in _SHARED}
    state.update({name: deepcopy(getattr(env, name)) for name in _COPIED})
    return state


def _load(env: SWEEnv, state: dict[str, Any]) -> None:
    for name in _SHARED:
        setattr(env, name, state[name])
    for name in _COPIED:
        setattr(env, name, deepcopy(state[name]))
    env._ended = False


def snapshot(env: SWEEnv) -> EnvSnapshot:
    """The episode now (sandbox and transcript); the env goes on unchanged."""
    _live(env, "snapshot")
    box: Any = env._sandbox
    return EnvSnapshot(sandbox=snapshot_sandbox(box), episode=_episode_state(env))


def restore(env: SWEEnv, snap: EnvSnapshot) -> None:
    """Go back to `snap` (of this env or a sibling on the same task): a fresh sandbox from the pool takes
    its state, the transcript and counts are the snapshot's, and the env's current sandbox is let go."""
    task = snap.episode["_task"]
    sandbox = env._ensure_pool(task).acquire()
    try:
        restore_sandbox(snap.sandbox, sandbox, check_fresh=False)
    except BaseException:
        sandbox.close()
        raise
    env._release_sandbox()
    env._sandbox = sandbox
    _load(env, snap.episode)


def fork(env: SWEEnv, n: int = 1) -> list[SWEEnv]:
    """n envs that go on from where `env` is, each in its own sandbox; `env` itself goes on unchanged.

    All or nothing: if one sibling cannot be made, none is (ForkError). Close each sibling when done.
    """
    _live(env, "fork")
    state = {name: getattr(env, name) for name in (*_SHARED, *_COPIED)}  # each sibling deep-copies it (_load)
    box: Any = env._sandbox
    sandboxes = box.fork(n, pool=env._sandboxes.pool)
    return [_sibling(env, sandbox, state) for sandbox in sandboxes]


def _sibling(env: SWEEnv, sandbox, state: dict[str, Any]) -> SWEEnv:
    child: Any = object.__new__(type(env))
    child.__dict__.update(env.__dict__)
    child._np_random = deepcopy(env._np_random)
    child._sandboxes = env._sandboxes.sibling()  # the same pool, one more user; nothing prefetched
    child._sandbox = sandbox
    _load(child, state)
    return child


def fork_wrapped(env: gym.Env, n: int = 1) -> list[gym.Env]:
    """`fork` through the wrappers around an SWEEnv: each sibling is wrapped by copies of the same wrappers
    (the perturbation wrappers act at reset, so a sibling's later episodes are perturbed as the parent's)."""
    wrappers = []
    inner = env
    while isinstance(inner, gym.Wrapper):
        wrappers.append(inner)
        inner = inner.env
    siblings: list[gym.Env] = []
    for sibling in fork(inner, n):  # type: ignore[arg-type]
        outer: gym.Env = sibling
        for wrapper in reversed(wrappers):
            layer = copy(wrapper)
            layer.env = outer
            outer = layer
        siblings.append(outer)
    return siblings
