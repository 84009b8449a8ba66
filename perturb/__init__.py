"""Perturbation layer: vary the whole trajectory so an agent generalises across scaffolds.

Five families, each seeded, composable, and recorded per episode in
`info["perturbation"]` as {"family", "params", "seed"}:

- system:    the system prompt and the task message in six scaffold styles (perturb.system_prompt)
- tools:     tool names, argument names and order, descriptions, tool sets, call format (perturb.tools)
- user:      the issue made vague, incomplete, reordered, padded or misspelt (perturb.user_prompt)
- layout:    a messy repository and an unusual working directory, graded as before (perturb.layout)
- responses: tool output worded as other tools would, latency, transient failures (perturb.responses)

    env = perturb.wrap(SWEEnv(task), "system,tools,layout", seed=7)
    env = gymnasium.make("swe/Sampler-v0", perturb="all", seed=7)

A plug-in is any object with `name`, `sample(rng)` and `apply(params, episode)`
(the `Perturbation` protocol); `register("name", factory)` makes it usable by
name in specs, YAML files and `--perturb`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from swefarm.perturb.base import Episode, Perturbation, PerturbationError, create, names, register
from swefarm.perturb.config import PerturbConfig
from swefarm.perturb.wrappers import PerturbationWrapper, episode_seed


def wrap(env: gym.Env, spec: Any = None, seed: int | None = None, *, rewrite: Callable[[str], str] | None = None):
    """`env` inside one `PerturbationWrapper` per family `spec` names (see `perturb.config`); `env` if none.

    `seed` (else the spec's own `seed`) is the base seed of every family; `rewrite`, a function from an
    issue to a rewritten issue (a model behind it, say), turns on the user family's rewriter.
    """
    config = PerturbConfig.load(spec)
    if rewrite is not None and "user" not in config.names:
        raise PerturbationError("rewrite= rewrites the issue: it needs the user family in the spec")
    seed = seed if seed is not None else config.seed
    extra = {"user": {"rewrite": rewrite}} if rewrite is not None else {}
    for perturbation, p in reversed(config.build(**extra)):  # the first family named ends up outermost
        env = PerturbationWrapper(env, perturbation, seed=seed, p=p)
    return env


__all__ = [
    "Episode",
    "Perturbation",
    "PerturbConfig",
    "PerturbationError",
    "PerturbationWrapper",
    "create",
    "episode_seed",
    "names",
    "register",
    "wrap",
]
