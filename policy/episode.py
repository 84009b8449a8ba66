"""The one loop that plays an episode: `play(env, policy)`.

Every caller (rollouts, the demo, the benchmarks, the farm's evaluation workers)
plays through it, so one place decides when an episode ends and what counts as
infrastructure, the way mini-swe-agent's `DefaultAgent.run` does:

- the episode ends when the env says so (terminated or truncated): the env owns
  the step limit and the wall-clock budget. `max_actions` only guards against an
  env that never ends; reaching it is an error, not a truncation.
- an `InfrastructureError` (a sandbox died, a model server is down: see
  `swefarm.errors`) ends the episode: `Episode.error` says why, and nothing is
  scored. The policy's record so far stays readable (`Episode.began`).
- any other exception is a bug in the policy, a wrapper or the env: it is logged
  with its traceback and propagates. It is never recorded as infrastructure.

`before_step` runs before every action; a caller that must stop an episode
(a cancelled evaluation) raises out of it with a `BaseException` subclass,
which passes through unlogged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swefarm.policy.base import Policy

from swefarm.errors import InfrastructureError

log = logging.getLogger("swefarm.episode")

#: Far above any env's step limit: an env that has not ended by then never will.
MAX_ACTIONS = 10_000


@dataclass
class Episode:
    """What one played episode gave: the last step's result, the reset's info, the actions, the wall time."""

    observation: str = ""
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] = field(default_factory=dict)  # the last step's (the reset's before any step)
    start_info: dict[str, Any] = field(default_factory=dict)  # the reset's
    actions: list[Any] = field(default_factory=list)
    steps: int = 0  # actions sent to env.step
    seconds: float = 0.0
    began: bool = False  # the policy saw the reset (so its trajectory() has something to say)
    error: str | None = None  # an infrastructure failure raised while playing ("SandboxDiedError: ...")

    @property
    def ended(self) -> bool:
        return self.terminated or self.truncated


def play(
    env: Any,
    policy: Policy,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    max_actions: int = MAX_ACTIONS,
    before_step: Callable[[], None] | None = None,
) -> Episode:
    """Reset `env`, then step it with `policy`'s actions until it ends (see the module docstring)."""
    episode = Episode()
    start = time.perf_counter()
    try:
        observation, info = env.reset(seed=seed, options=options)
        episode.info = episode.start_info = info
        policy.begin(observation, info)
        episode.began = True
        while not episode.ended:
            if episode.steps >= max_actions:
                raise RuntimeError(f"the env did not end the episode after {max_actions} actions")
            if before_step is not None:
                before_step()
            action = policy.act(observation, info)
            episode.actions.append(action)
            episode.steps += 1
            observation, reward, terminated, truncated, info = env.step(action)
            episode.observation, episode.reward, episode.info = observation, float(reward), info
            episode.terminated, episode.truncated = bool(terminated), bool(truncated)
        policy.finish(observation, info)
    except InfrastructureError as exc:
        episode.error = f"{type(exc).__name__}: {exc}"
        log.warning("an episode ended on an infrastructure failure: %s", episode.error)
    except Exception:
        log.exception("an episode failed: a bug in the policy, a wrapper or the env (not infrastructure)")
        raise
    finally:
        episode.seconds = time.perf_counter() - start
    return episode
