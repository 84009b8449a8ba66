"""The cluster's exceptions: each says what happened and what to do.

Every one is infrastructure (`swefarm.errors.InfrastructureError`): where an episode runs is never
the agent's doing, so an episode that meets one is recorded as such and never scored. Ray's own
failures are turned into them where Ray is called (`hosts.job_error`).
"""

from __future__ import annotations

from swefarm.errors import InfrastructureError


class ClusterError(InfrastructureError, RuntimeError):
    """Base class of every cluster failure."""


class RayMissingError(ClusterError, ImportError):
    """Ray is not installed."""


class ClusterUnavailableError(ClusterError, ConnectionError):
    """No Ray cluster answers at the address (or none could be started)."""


class HostLostError(ClusterError):
    """The sandbox host (its node, or its actor) died while it held the work."""


class NoCapacityError(ClusterError, TimeoutError):
    """No host had a free sandbox slot in time."""


class PolicyUnavailableError(ClusterError):
    """A sandbox host could not load the policy a job asked for (the message says why)."""


def require_ray():
    """The `ray` module, or RayMissingError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayMissingError(
            "this needs Ray, which is not installed: pip install 'swefarm[ray]' (or pip install ray)"
        ) from None
    return ray
