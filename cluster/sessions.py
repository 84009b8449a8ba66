"""A session: an env held on one sandbox host between calls (REST sessions, `backend="ray"` envs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swefarm.cluster.errors import ClusterError, HostLostError
from swefarm.cluster.hosts import Host, host_lost, job_error

if TYPE_CHECKING:
    from swefarm.cluster.scheduler import Scheduler


class RemoteSession:
    """An env on a sandbox host: `call("step", action)`; `HostLostError` once its host is gone."""

    def __init__(self, scheduler: Scheduler, host: Host, session_id: str):
        self.scheduler, self.host, self.id = scheduler, host, session_id
        self.first: Any = None
        self.closed = False
        self.last_host_s = 0.0

    @property
    def host_id(self) -> str:
        return self.host.id

    def call(self, method: str, *args, answer=None, **kwargs) -> Any:
        import ray

        if self.closed:
            raise HostLostError(f"session {self.id} is closed") if self.host.lost else ClusterError("closed")
        try:
            out = ray.get(self.host.actor.call.remote(self.id, method, args, kwargs, answer))
        except BaseException as exc:
            if host_lost(exc):
                self._gone(exc)
                raise HostLostError(f"the sandbox host {self.host.id} was lost mid-episode: {self.host.lost}") from None
            raise job_error(exc) from None
        self.last_host_s = out["host_s"]
        return out["result"]

    def _gone(self, exc: BaseException) -> None:
        if not self.closed:
            self.closed = True
            self.scheduler._release(self.host)
        self.scheduler._lose(self.host, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")

    def forget(self) -> None:
        """The host already closed the env (it expired): give the slot back."""
        if not self.closed:
            self.closed = True
            self.scheduler._release(self.host)

    def close(self) -> None:
        import ray

        if self.closed:
            return
        self.closed = True
        try:
            ray.get(self.host.actor.close.remote(self.id), timeout=120)
        except Exception:
            pass  # a lost host's containers are reaped
        finally:
            self.scheduler._release(self.host)
