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
seed=7)` returns the env inside the perturbation layer's wrappers. The entry
points live in `swefarm.entry_points`, above envs and perturb: this module only
names them, so envs never imports the perturbation layer that sits on it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import gymnasium
from gymnasium.envs.registration import EnvSpec

NAMESPACE = "swe"
SAMPLER = "Sampler"
#: The entry points, named (not imported): they sit above envs and perturb (swefarm/entry_points.py).
MAKE_TASK = "swefarm.entry_points:make_task"
MAKE_SAMPLER = "swefarm.entry_points:make_sampler"
#: Bumped whenever episode behaviour changes (tools, prompts, rewards), so an id says what it measures.
VERSION = 0


def env_id(instance_id: str) -> str:
    return f"{NAMESPACE}/{instance_id}-v{VERSION}"


def register_envs(store: str | Path | None = None) -> int:
    """Register the sampler and one id per task in `store` (default: the user's); returns how many tasks.

    Safe to call again (after mining or importing more tasks): known ids are kept.
    """
    from swefarm.tasks.store import default_store_path

    _register(env_id(SAMPLER), MAKE_SAMPLER, {})
    _register(env_id("Task"), MAKE_TASK, {})
    path = Path(store) if store else default_store_path()
    ids = _instance_ids(path)
    kwargs = {} if store is None else {"store": str(path)}
    registered = 0
    for instance_id in ids:
        try:
            _register(env_id(instance_id), MAKE_TASK, {"task": instance_id, **kwargs})
            registered += 1
        except gymnasium.error.Error:
            pass  # an id Gymnasium cannot spell: reachable with make("swe/Task-v0", task=...)
    return registered


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
