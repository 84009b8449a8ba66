"""Gymnasium wrappers: one per perturbation, overriding only `reset`.

Each reset draws the family's episode seed from (family, base seed, episode
number), where the base seed is the wrapper's `seed` or the last
`reset(seed=...)`: the same seed gives the same perturbations, and families do
not share random numbers, so adding one family leaves the others' draws as they
were. The episode's parameters come from `perturbation.sample(Random(seed))`,
which is how anyone can draw a recorded perturbation again.
"""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym
from swefarm.envs.config import EnvConfig
from swefarm.perturb.base import Episode, Perturbation


def episode_seed(family: str, base: int, index: int) -> int:
    """The seed of episode `index` of `family` after base seed `base` (stable across processes)."""
    return random.Random(f"{family}/{base}/{index}").getrandbits(31)


class PerturbationWrapper(gym.Wrapper):
    """Applies `perturbation` to every episode of `env` (an SWEEnv, possibly wrapped), with probability `p`."""

    def __init__(self, env: gym.Env, perturbation: Perturbation, seed: int | None = None, p: float = 1.0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p is a probability, between 0 and 1, not {p}")
        super().__init__(env)
        self.perturbation, self.p = perturbation, p
        self._base = seed if seed is not None else random.SystemRandom().getrandbits(31)
        self._index = 0

    @property
    def spec(self):
        # `make(id, perturb=...)` keeps the spec in the env's kwargs, so the unwrapped spec already says how to
        # make this env again; a wrapper spec would also need deep-copying kwargs such as a Docker client.
        return self.env.spec

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is not None:
            self._base, self._index = seed, 0
        name = self.perturbation.name
        drawn = episode_seed(name, self._base, self._index)
        self._index += 1
        config = getattr(self.env.unwrapped, "config", None)
        episode = Episode(options, config if isinstance(config, EnvConfig) else None, drawn, name)
        if self.p >= 1.0 or random.Random(f"gate/{drawn}").random() < self.p:
            params = self.perturbation.sample(random.Random(drawn))
            self.perturbation.apply(params, episode)
            episode.record(params)
        return self.env.reset(seed=seed, options=episode.reset_options())
