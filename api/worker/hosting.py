"""What a worker does with an episode: build its env, and turn env output into what a client may read.

The env is the same `SWEEnv` a trainer makes in-process (same sandboxes, same limits), wrapped by
the perturbation layer when asked. What leaves the worker is JSON-safe and never carries the
hidden tests: the grade report keeps its counts but loses the test names and the test log.
"""

from __future__ import annotations

import json
import math
from typing import Any

from swefarm.api.farm import perturbation

HIDDEN_GRADE_FIELDS = ("tests", "log_tail", "reverted")


def build_env(task, config: dict[str, Any], perturbation_spec: Any, seed: int | None, client, pool_size: int):
    """A (possibly perturbed) SWEEnv on `task` with the scaffold's `config`; the farm sets the pool size."""
    from swefarm.envs.config import EnvConfig
    from swefarm.envs.swe_env import SWEEnv

    env = SWEEnv(task, config=EnvConfig.load(config, pool_size=pool_size), client=client)
    try:
        return perturbation.wrap(env, perturbation_spec, seed=seed)
    except BaseException:
        env.close()
        raise


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump(mode="json"))
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    return str(value)


def public_info(info: dict[str, Any], messages_from: int | None = None) -> dict[str, Any]:
    """`info` as a client reads it: JSON-safe, the grade without test names, messages from an index if asked."""
    out = _jsonable(info)
    grade = out.get("grade")
    if isinstance(grade, dict):
        for key in HIDDEN_GRADE_FIELDS:
            grade.pop(key, None)
    if messages_from is not None and isinstance(out.get("messages"), list):
        out["messages"] = out["messages"][messages_from:]
        out["messages_from"] = messages_from
    return out


def public_action(action: Any) -> Any:
    """An action as stored in a trajectory (JSON-safe)."""
    return json.loads(json.dumps(_jsonable(action)))
