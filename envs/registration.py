"""Gymnasium ids for swefarm: `swe/<instance_id>-v0` for every task in the store, `swe/Sampler-v0`
and `swe/Task-v0` (any task: `make("swe/Task-v0", task=<id or Task>)`).

Gymnasium 1.x dropped its plugin entry points (ALE now asks for
`gymnasium.make("ale_py:Pong-v5")`), so ids are registered when `envs` is
imported: `import swefarm` then `gymnasium.make("swe/<id>-v0")`, or with no import
at all, `gymnasium.make("swefarm.envs:swe/<id>-v0")`. Registering reads only the ids
(one indexed query, no task is parsed) and imports nothing heavy: the env
module loads at `make`.

Every id takes `perturb=` (a spec for `perturb.wrap`: "all", "system,tools",
a dict or a YAML path) and `seed=`: `make("swe/Sampler-v0", perturb="all",
seed=7)` returns the env inside the perturbation layer's wrappers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import gymnasium
from gymnasium.envs.registration import EnvSpec

NAMESPACE = "swe"
SAMPLER = "Sampler"
#: Bumped whenever episode behaviour changes (tools, prompts, rewards), so an id says what it measures.
VERSION = 0


def env_id(instance_id: str) -> str:
    return f"{NAMESPACE}/{instance_id}-v{VERSION}"


def register_envs(store: str | Path | None = None) -> int:
    """Register the sampler and one id per task in `store` (default: the user's); returns how many tasks.

    Safe to call again (after mining or importing more tasks): known ids are kept.
    """
    from swefarm.tasks.store import default_store_path

    _register(env_id(SAMPLER), "swefarm.envs.registration:make_sampler", {})
    _register(env_id("Task"), "swefarm.envs.registration:make_task", {})
    path = Path(store) if store else default_store_path()
    ids = _instance_ids(path)
    kwargs = {} if store is None else {"store": str(path)}
    registered = 0
    for instance_id in ids:
        try:
            _register(env_id(instance_id), "swefarm.envs.registration:make_task", {"task": instance_id, **kwargs})
            registered += 1
        except gymnasium.error.Error:
            pass  # an id Gymnasium cannot spell: reachable with make("swe/Task-v0", task=...)
    return registered


def make_task(perturb: Any = None, seed: int | None = None, backend: str = "local", **kwargs: Any) -> gymnasium.Env:
    """The entry point of `swe/Task-v0` and `swe/<id>-v0`: an SWEEnv, perturbed when `perturb` says so.

    `backend="ray"` (with `ray_address=`, default "auto") puts the env's sandbox on a Ray cluster node."""
    if backend == "ray":
        # Where it runs is a deployment on top of envs: loaded by name only when asked for.
        from swefarm.cluster.remote_env import make_ray_env

        return make_ray_env(perturb=perturb, seed=seed, **kwargs)
    if backend != "local":
        raise ValueError(f"unknown backend {backend!r}; choose local or ray")
    from swefarm.envs.swe_env import SWEEnv

    return _perturbed(SWEEnv(**kwargs), perturb, seed)


def make_sampler(perturb: Any = None, seed: int | None = None, backend: str = "local", **kwargs: Any) -> gymnasium.Env:
    """The entry point of `swe/Sampler-v0`: a SamplerEnv (`seed` seeds its first reset), perturbed if asked."""
    if backend != "local":
        raise ValueError(f"swe/Sampler-v0 runs locally only (backend={backend!r}); make swe/<id>-v0 envs with it")
    from swefarm.envs.swe_env import SamplerEnv

    return _perturbed(SamplerEnv(seed=seed, **kwargs), perturb, seed)


def _perturbed(env: gymnasium.Env, spec: Any, seed: int | None) -> gymnasium.Env:
    if spec is None or spec is False or spec == "none":
        return env
    # The perturbation layer sits on top of envs (perturb -> envs): it is imported only when asked for,
    # by name, the way Gymnasium loads an entry point.
    from swefarm.perturb import wrap

    return wrap(env, spec, seed=seed)


def _register(id_: str, entry_point: str, kwargs: dict) -> None:
    spec = gymnasium.registry.get(id_)
    if spec is not None and spec.kwargs == kwargs:
        return
    if spec is not None:
        del gymnasium.registry[id_]  # the store moved: point the id at the new one
    # nondeterministic: timings in info and the sandbox's wall clock differ between runs.
    # The spec goes straight into the registry dict, as `gymnasium.register` does last: its own
    # checks scan the whole registry per call (20,000 tasks took 25 s; this takes well under one).
    # EnvSpec still parses and rejects a malformed id.
    gymnasium.registry[id_] = EnvSpec(id=id_, entry_point=entry_point, kwargs=kwargs, nondeterministic=True)


def _instance_ids(path: Path) -> list[str]:
    """Ids straight from SQLite, read-only: importing `envs` never creates or locks a store."""
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return [row[0] for row in conn.execute("SELECT instance_id FROM tasks")]
        finally:
            conn.close()
    except sqlite3.Error:
        return []  # not a store (or one being created): nothing to register
