"""The cluster's exceptions: each says what happened and what to do."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """Base class of every cluster failure."""


class RayMissingError(ClusterError, ImportError):
    """Ray is not installed."""


class ClusterUnavailableError(ClusterError, ConnectionError):
    """No Ray cluster answers at the address (or none could be started)."""


class HostLostError(ClusterError):
    """The sandbox host (its node, or its actor) died while it held the work."""


class NoCapacityError(ClusterError, TimeoutError):
    """No host had a free sandbox slot in time."""


def require_ray():
    """The `ray` module, or RayMissingError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayMissingError(
            "this needs Ray, which is not installed: pip install 'swefarm[ray]' (or pip install ray)"
        ) from None
    return ray
