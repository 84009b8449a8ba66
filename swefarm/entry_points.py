"""The Gymnasium entry points of swefarm's env ids (`envs.registration` names them by string).

`swe/Task-v0` and `swe/<id>-v0` make an SWEEnv, `swe/Sampler-v0` a SamplerEnv; with `perturb=`
(a spec for `perturb.wrap`: "all", "system,tools", a dict or a YAML path) the env comes inside the
perturbation layer's wrappers; with `backend="ray"`, `swe/<id>-v0` is a `cluster.remote_env.RayEnv`
whose env lives on a Ray node (`swe/Sampler-v0`: a `RaySamplerEnv`, its tasks drawn here). They
live at the top of the package, above both `envs` and `perturb`, so that neither imports upward:
the perturbation layer sits on the envs, and the registration only names these functions, the way
Gymnasium loads any entry point.
"""

from __future__ import annotations

from typing import Any

import gymnasium


def make_task(perturb: Any = None, seed: int | None = None, backend: str = "local", **kwargs: Any) -> gymnasium.Env:
    """The entry point of `swe/Task-v0` and `swe/<id>-v0`: an SWEEnv, perturbed when `perturb` says so.

    `backend="ray"` (with `ray_address=`, default "auto") puts the env's sandbox on a Ray cluster node."""
    if backend == "ray":
        from swefarm.cluster.remote_env import RayEnv

        return RayEnv(perturb=perturb, seed=seed, **kwargs)
    if backend != "local":
        raise ValueError(f"unknown backend {backend!r}; choose local or ray")
    from swefarm.envs.swe_env import SWEEnv

    return _perturbed(SWEEnv(**kwargs), perturb, seed)


def make_sampler(perturb: Any = None, seed: int | None = None, backend: str = "local", **kwargs: Any) -> gymnasium.Env:
    """The entry point of `swe/Sampler-v0`: a SamplerEnv (`seed` seeds its first reset), perturbed if asked.

    `backend="ray"`: each episode's task is drawn here and played on a Ray cluster node (`RaySamplerEnv`)."""
    if backend == "ray":
        from swefarm.cluster.remote_env import RaySamplerEnv

        return RaySamplerEnv(perturb=perturb, seed=seed, **kwargs)
    if backend != "local":
        raise ValueError(f"unknown backend {backend!r}; choose local or ray")
    from swefarm.envs.swe_env import SamplerEnv

    return _perturbed(SamplerEnv(seed=seed, **kwargs), perturb, seed)


def _perturbed(env: gymnasium.Env, spec: Any, seed: int | None) -> gymnasium.Env:
    if spec is None or spec is False or spec == "none":
        return env
    from swefarm.perturb import wrap

    return wrap(env, spec, seed=seed)
