"""A sandbox host as the scheduler sees it, where a job goes, and which failures mean a host is gone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swefarm.cluster.errors import ClusterError


@dataclass
class Host:
    actor: Any
    info: dict
    slots: int
    images: set[str]
    running: int = 0
    placed: int = 0
    lost: str | None = None
    reaped: bool | None = None  # once lost: whether the containers it left were all removed (None: not yet)

    @property
    def id(self) -> str:
        return "ray-" + self.info["actor_id"][:12]

    @property
    def node_id(self) -> str:
        return self.info["node_id"]


def choose_host(hosts, image: str | None) -> Host | None:
    """Where a job on `image` goes: a live host with a free slot (None: none, the job waits), one that
    holds the image first (locality), then the least loaded (spread), then the one given least so far."""
    free = [h for h in hosts if h.lost is None and h.running < h.slots]
    if not free:
        return None
    return min(free, key=lambda h: (image is not None and image not in h.images, h.running / h.slots, h.placed))


def lost_errors() -> tuple[type[BaseException], ...]:
    """The Ray exceptions that mean the host (its actor, its node) is gone."""
    from ray import exceptions as rx

    names = ("RayActorError", "ActorDiedError", "ActorUnavailableError", "NodeDiedError", "WorkerCrashedError",
             "LocalRayletDiedError")  # fmt: skip
    return tuple(getattr(rx, n) for n in names if hasattr(rx, n))


def job_error(exc: BaseException) -> BaseException:
    """What a failed Ray call raises to our callers (when the host is not lost): the function's own
    exception, as it raised it (a RayTaskError carries it), or, for a failure of Ray itself, a
    ClusterError (infrastructure) saying what Ray said."""
    from ray.exceptions import RayError, RayTaskError

    if isinstance(exc, RayTaskError):
        return exc.as_instanceof_cause()
    if isinstance(exc, RayError):
        said = (str(exc).splitlines() or [""])[0][:300]
        return ClusterError(f"Ray failed: {type(exc).__name__}: {said}")
    return exc


def host_lost(exc: BaseException) -> bool:
    """Whether `exc` says the host itself died (not: the function on it raised, even a Ray error of its own)."""
    from ray.exceptions import RayTaskError

    return isinstance(exc, lost_errors()) and not isinstance(exc, RayTaskError)
