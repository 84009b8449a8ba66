"""The perturbation layer as the farm uses it: `perturb.wrap(env, spec, seed)`, imported only when asked for."""

from __future__ import annotations

from typing import Any

from swefarm.api.contract.errors import InvalidRequestError


def available() -> bool:
    try:
        from swefarm import perturb
    except ImportError:
        return False
    return callable(getattr(perturb, "wrap", None))


def require(spec: Any) -> None:
    """InvalidRequestError when a perturbation is asked for and this farm cannot apply one."""
    if spec is None:
        return
    if not available():
        raise InvalidRequestError(
            "the perturbation layer is not available on this farm (perturb.wrap is missing); send no perturbation"
        )
    from swefarm import perturb

    config = getattr(perturb, "PerturbConfig", None)
    if config is not None:
        try:
            config.load(spec)
        except ValueError as exc:  # PerturbationError: the spec names an unknown family, say
            raise InvalidRequestError(f"bad perturbation: {exc}") from None


def wrap(env, spec: Any, seed: int | None = None):
    """`env` under the perturbation `spec` (None: `env` itself)."""
    if spec is None:
        return env
    require(spec)
    from swefarm.perturb import wrap as perturb_wrap

    return perturb_wrap(env, spec, seed=seed)
