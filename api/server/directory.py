"""The API's view of its workers: choosing one for a session, calling it, and cleaning up after a lost one.

`Directory` is the seam the sessions routes, health and the monitor use; `WorkerDirectory` (farm
workers found through the database) is this package's one implementation. Another deployment
hands `create_app` its own (`swefarm serve --ray`: the Ray cluster's sandbox hosts, in
`swefarm.cluster.api_farm`).

A worker is lost when its process is gone (checked by pid and start time when it runs on this
host) or its heartbeat is older than `worker_stale_s`. Then its sessions fail with the reason,
its evaluation episodes go back to the queue, and the sandboxes it left are removed by their
labels (owner pid, start time and host), so a killed worker leaks nothing.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select, update
from swefarm.api.contract import NODELAY
from swefarm.api.contract.errors import UnavailableError, error_for
from swefarm.api.contract.schemas import WorkerPublic
from swefarm.api.farm import db, evaluations
from swefarm.api.farm.settings import Settings

log = logging.getLogger("swefarm.api")

LIVE_SESSION = ("starting", "active", "ended")


class WorkerLost(Exception):
    """The worker did not answer (connection refused or reset): it is gone."""


#: How the error of a session failed by the loss of what held it (a worker, a sandbox host) begins.
LOST_MID_EPISODE = "lost mid-episode"


def lost_error(holder: str, reason: str) -> str:
    """The error of a session whose `holder` (e.g. "worker w-1") is gone; `was_lost` recognises it."""
    return f"{LOST_MID_EPISODE}: {holder} is gone ({reason})"


def was_lost(error: str | None) -> bool:
    """Whether a session's error says it failed because what held it was lost (the episode is an infra error)."""
    return error is not None and error.startswith(LOST_MID_EPISODE + ":")


class Directory(Protocol):
    """Where sessions live: a worker for a new one, calls to the one that holds a session, the monitor's sweep.

    A worker, as `pick` and `get` return it, has an `id`, a `status` ("alive", "dead") and a
    `max_sessions`; `call` raises `WorkerLost` when the worker is gone and the API's errors otherwise."""

    def pick(self) -> Any: ...

    def get(self, worker_id: str) -> Any: ...

    async def call(self, worker: Any, method: str, path: str, body: dict | None = None, raw: bool = False) -> Any: ...

    def listing(self) -> list[WorkerPublic]: ...

    def alive_count(self) -> int: ...

    def sweep(self) -> list[str]: ...

    async def aclose(self) -> None: ...


#: How `create_app` makes its directory: (database, settings, metrics) -> a Directory.
DirectoryFactory = Callable[[db.Database, Settings, Any], Directory]


class WorkerDirectory:
    def __init__(self, database: db.Database, settings: Settings, metrics=None):
        self.database, self.settings, self.metrics = database, settings, metrics
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128), socket_options=NODELAY
        )
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(settings.step_timeout_s, connect=10.0), transport=transport)
        self._docker = None

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- choosing and calling ---------------------------------------------------------------
    def pick(self):
        """The alive worker with the fewest live sessions and room for one more; UnavailableError if none."""
        fresh = db.now() - self.settings.worker_stale_s
        load = (
            select(db.sessions.c.worker_id, func.count().label("n"))
            .where(db.sessions.c.status.in_(LIVE_SESSION))
            .group_by(db.sessions.c.worker_id)
            .subquery()
        )
        query = (
            select(db.workers, func.coalesce(load.c.n, 0).label("load"))
            .outerjoin(load, load.c.worker_id == db.workers.c.id)
            .where((db.workers.c.status == "alive") & (db.workers.c.heartbeat_at >= fresh))
            .order_by(func.coalesce(load.c.n, 0), db.workers.c.started_at)
        )
        with self.database.read() as conn:
            for row in conn.execute(query):
                if row.load < row.max_sessions:
                    return row
        raise UnavailableError("no worker can take a session now (none is alive, or all are full); try again later")

    def get(self, worker_id: str):
        with self.database.read() as conn:
            return conn.execute(select(db.workers).where(db.workers.c.id == worker_id)).first()

    async def call(self, worker, method: str, path: str, body: dict | None = None, raw: bool = False) -> Any:
        """Call a worker's internal endpoint: its JSON answer (bytes with `raw`); errors raised as the API's."""
        try:
            headers = {"authorization": f"Bearer {worker.secret}", "content-type": "application/json"}
            content = None if body is None else json.dumps(body, ensure_ascii=True).encode()  # lone surrogates too
            response = await self.http.request(method, worker.url + path, content=content, headers=headers)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise WorkerLost(f"worker {worker.id} did not answer ({type(exc).__name__}: {exc})") from None
        if response.status_code >= 400:
            try:
                data = response.json()
                raise error_for(response.status_code, data.get("detail", response.text), data.get("error"))
            except ValueError:
                raise error_for(response.status_code, response.text[:500]) from None
        return response.content if raw else response.json()

    def listing(self) -> list[WorkerPublic]:
        with self.database.read() as conn:
            rows = conn.execute(select(db.workers).order_by(db.workers.c.started_at.desc()).limit(200)).all()
        return [
            WorkerPublic(
                id=r.id,
                status=r.status,
                host=r.host,
                pid=r.pid,
                sessions=r.sessions,
                sandboxes=r.sandboxes,
                eval_running=r.eval_running,
                heartbeat_at=datetime.fromtimestamp(r.heartbeat_at, UTC),
                started_at=datetime.fromtimestamp(r.started_at, UTC),
                dead_reason=r.dead_reason,
            )  # fmt: skip
            for r in rows
        ]

    def alive_count(self) -> int:
        fresh = db.now() - self.settings.worker_stale_s
        with self.database.read() as conn:
            query = select(func.count()).select_from(db.workers)
            return (
                conn.execute(
                    query.where((db.workers.c.status == "alive") & (db.workers.c.heartbeat_at >= fresh))
                ).scalar()
                or 0
            )

    # -- lost workers ---------------------------------------------------------------------------------
    def why_lost(self, worker) -> str | None:
        from swefarm.sandbox.labels import OWNER_HOST, OWNER_PID, OWNER_START, owner_alive

        if worker.host == socket.gethostname():
            labels = {OWNER_HOST: worker.host, OWNER_PID: str(worker.pid), OWNER_START: worker.pid_start}
            if not owner_alive(labels):
                return f"its process (pid {worker.pid}) is gone"
        silent = db.now() - worker.heartbeat_at
        if silent > self.settings.worker_stale_s:
            return f"no heartbeat for {silent:.0f} s"
        return None

    def sweep(self) -> list[str]:
        """Clean up after every lost worker; finish jobs left with nothing to run. Returns the lost workers' ids."""
        with self.database.read() as conn:
            alive = conn.execute(select(db.workers).where(db.workers.c.status == "alive")).all()
        lost = []
        for worker in alive:
            reason = self.why_lost(worker)
            if reason is not None and self.bury(worker, reason):
                lost.append(worker.id)
        self._orphaned_items()
        self._stuck_sessions()
        return lost

    def _stuck_sessions(self, after_s: float = 900.0) -> None:
        """A session still 'starting' long after it was made (its API died mid-request) frees its quota slot."""
        with self.database.write() as conn:
            conn.execute(
                update(db.sessions)
                .where((db.sessions.c.status == "starting") & (db.sessions.c.created_at < db.now() - after_s))
                .values(status="failed", error="the session never started (the API stopped mid-request)")
            )

    def bury(self, worker, reason: str) -> bool:
        """Mark a worker dead (once), fail its sessions, requeue its episodes, remove its sandboxes."""
        with self.database.write() as conn:
            done = conn.execute(
                update(db.workers)
                .where((db.workers.c.id == worker.id) & (db.workers.c.status == "alive"))
                .values(status="dead", dead_reason=reason, sessions=0, sandboxes=0)
            )
            if done.rowcount != 1:
                return False
            conn.execute(
                update(db.sessions)
                .where((db.sessions.c.worker_id == worker.id) & db.sessions.c.status.in_(LIVE_SESSION))
                .values(status="failed", error=lost_error(f"worker {worker.id}", reason), ended_at=db.now())
            )
            jobs = evaluations.requeue_from(conn, worker.id, f"worker {worker.id} was lost: {reason}",
                                            self.settings.max_item_attempts)  # fmt: skip
        log.warning("worker %s lost: %s", worker.id, reason)
        if self.metrics is not None:
            self.metrics.workers_reaped.inc()
        removed = self.reap(worker)
        if removed:
            log.warning("removed %d sandboxes worker %s left behind", removed, worker.id)
        for job in jobs:
            evaluations.finalize(self.database, job)
        return True

    def reap(self, worker) -> int:
        """Remove the containers a dead worker on this host left; 0 when it ran elsewhere or no engine answers."""
        from swefarm.sandbox.gc import reap_owner

        if worker.host != socket.gethostname():
            return 0
        try:
            removed, waiting = reap_owner(self._docker_client(), worker.host, worker.pid, worker.pid_start)
        except Exception as exc:
            log.warning("cannot reap worker %s's sandboxes: %s", worker.id, exc)
            return 0
        if waiting:
            log.warning("%d of worker %s's sandboxes could not be removed yet", waiting, worker.id)
        return removed

    def _docker_client(self):
        if self._docker is None:
            from swefarm.sandbox.engine import connect

            self._docker = connect()
        return self._docker

    def _orphaned_items(self) -> None:
        """Episodes still marked running by a worker that is no longer alive; jobs with nothing left to run."""
        with self.database.read() as conn:
            gone = list(
                conn.execute(
                    select(db.items.c.worker_id)
                    .where(db.items.c.status == "running")
                    .where(~db.items.c.worker_id.in_(select(db.workers.c.id).where(db.workers.c.status == "alive")))
                    .distinct()
                ).scalars()
            )
            open_jobs = list(
                conn.execute(
                    select(db.evaluations.c.id).where(db.evaluations.c.status.in_(evaluations.ACTIVE))
                ).scalars()
            )
        touched = set()
        for worker_id in gone:
            with self.database.write() as conn:
                touched.update(
                    evaluations.requeue_from(
                        conn, worker_id, f"worker {worker_id} is gone", self.settings.max_item_attempts
                    )  # fmt: skip
                )
        for job in set(open_jobs) | touched:
            evaluations.finalize(self.database, job)
