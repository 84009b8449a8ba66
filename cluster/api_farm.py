"""`swefarm serve --ray auto|ADDRESS`: the REST farm's sessions and evaluation jobs on a Ray cluster.

`RayWorkerDirectory` is a `Directory` (`api.server.directory`: the seam the sessions routes,
health and the monitor use), in the place of the farm's `WorkerDirectory` (`swefarm serve --ray`
hands it to `create_app`), so the REST layer is the same with or without Ray:

- a session is placed on a sandbox host (image locality, free slots) and its calls go there as
  Ray actor calls instead of HTTP to a worker; its row names the host. A host lost mid-episode
  answers the next step with `infra_error` (`WorkerLost`, as for a lost worker);
- evaluation episodes are placed by `EvaluationDispatcher` (no worker polls the database);
- the monitor's sweep ends idle sessions on the hosts, fails the sessions of lost hosts and
  hands queued episodes to the cluster.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select, update
from swefarm.api.contract.errors import NotFoundError, UnavailableError
from swefarm.api.contract.schemas import WorkerPublic
from swefarm.api.farm import db, evaluations
from swefarm.api.farm.settings import Settings
from swefarm.api.server.directory import LIVE_SESSION, WorkerLost, lost_error
from swefarm.api.worker.hosting import public_error
from swefarm.cluster.api_episodes import session_answer, session_env
from swefarm.cluster.api_evaluations import EvaluationDispatcher
from swefarm.cluster.errors import ClusterError, HostLostError
from swefarm.harness.images import task_image

log = logging.getLogger("swefarm.cluster")


@dataclass
class ClusterWorker:
    """What `pick()`/`get()` return: the cluster (id "ray") or one of its hosts, as the sessions code reads it."""

    id: str
    status: str
    max_sessions: int = 0


class RayWorkerDirectory:
    """Sessions and evaluation episodes on the Ray cluster at `settings.ray_address` (see the module docstring)."""

    def __init__(self, database: db.Database, settings: Settings, metrics=None):
        from swefarm.cluster.connect import connect
        from swefarm.cluster.scheduler import Scheduler
        from swefarm.tasks.store import TaskStore

        self.database, self.settings, self.metrics = database, settings, metrics
        connect(settings.ray_address)
        self.scheduler = Scheduler(settings.ray_host_slots, settings.pool_size, settings.max_item_attempts)
        self.store = TaskStore(settings.task_store)
        self.sessions: dict[str, Any] = {}  # session id -> RemoteSession
        self.executor = ThreadPoolExecutor(64, thread_name_prefix="swefarm-ray-api")
        self.dispatcher = EvaluationDispatcher(database, self.scheduler, self.store, settings.max_item_attempts)
        self.dispatcher.requeue_orphans()
        self._fail_orphan_sessions()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def _close(self) -> None:
        with self.database.write() as conn:
            conn.execute(
                update(db.sessions)
                .where(db.sessions.c.id.in_(list(self.sessions)) & db.sessions.c.status.in_(LIVE_SESSION))
                .values(status="failed", error="the API shut down", ended_at=db.now())
            )
        self.sessions.clear()
        self.scheduler.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    # -- the seam sessions.py and health use ----------------------------------------------------
    def pick(self) -> ClusterWorker:
        if self.scheduler.free_slots() <= 0:
            raise UnavailableError("every sandbox slot on the cluster is taken; try again later")
        return ClusterWorker("ray", "alive")

    def get(self, worker_id: str) -> ClusterWorker | None:
        host = next((h for h in self.scheduler.live_hosts() if h.id == worker_id), None)
        if host is not None:
            return ClusterWorker(host.id, "alive")
        if any(h.id == worker_id for h in self.scheduler.lost):
            return ClusterWorker(worker_id, "dead")
        return None

    def alive_count(self) -> int:
        return len(self.scheduler.live_hosts())

    def listing(self) -> list[WorkerPublic]:
        now = datetime.now(UTC)
        rows = []
        for host in self.scheduler.live_hosts() + list(self.scheduler.lost):
            info = host.info
            sessions = sum(1 for s in self.sessions.values() if s.host is host)
            rows.append(WorkerPublic(
                id=host.id, status="dead" if host.lost else "alive", host=f"{info['hostname']}/{host.node_id[:12]}",
                pid=info["pid"], sessions=sessions, sandboxes=host.running, eval_running=host.running - sessions,
                heartbeat_at=now, started_at=now, dead_reason=host.lost,
            ))  # fmt: skip
        return rows

    async def call(self, worker, method: str, path: str, body: dict | None = None, raw: bool = False) -> Any:
        parts = path.strip("/").split("/")  # internal/sessions[/<id>[/step|reset]]
        loop = asyncio.get_running_loop()
        run = partial(loop.run_in_executor, self.executor)
        if method == "POST" and len(parts) == 2:
            return await run(partial(self._open, **(body or {})))
        session_id = parts[2]
        if method == "DELETE":
            return {"closed": await run(partial(self._close_session, session_id))}
        answer = await run(partial(self._call, session_id, parts[3], body or {}))
        return json.dumps(answer, ensure_ascii=True).encode() if raw else answer

    # -- sessions on hosts ---------------------------------------------------------------------------
    def _open(self, session_id: str, task_id: str, config: dict, perturbation, seed, idle_timeout_s: float,
              messages_from: int | None = None) -> dict:  # fmt: skip
        task = self.store.get(task_id)
        try:
            session = self.scheduler.open_session(
                task_image(task), session_env, task, config, perturbation, seed, reset={"seed": seed},
                idle_timeout_s=idle_timeout_s, answer=partial(session_answer, messages_from=messages_from),
            )  # fmt: skip
        except (HostLostError, ClusterError) as exc:
            raise WorkerLost(str(exc)) from None
        except Exception as exc:
            raise public_error(exc) from None
        self.sessions[session_id] = session
        self._record(session_id, worker_id=session.host_id, status="active", steps=0, episodes=1, reward=None)
        return session.first

    def _call(self, session_id: str, method: str, body: dict) -> dict:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFoundError(f"the cluster holds no session {session_id}")
        answer = partial(session_answer, messages_from=body.get("messages_from"))
        try:
            if method == "step":
                result = session.call("step", body.get("action"), answer=answer)
            else:
                result = session.call("reset", seed=body.get("seed"), answer=answer)
        except HostLostError as exc:
            self.sessions.pop(session_id, None)
            raise WorkerLost(str(exc)) from None
        except Exception as exc:
            raise public_error(exc) from None
        self._after(session_id, method, result)
        return result

    def _after(self, session_id: str, method: str, result: dict) -> None:
        with self.database.read() as conn:
            row = conn.execute(select(db.sessions).where(db.sessions.c.id == session_id)).first()
        if row is None:
            return
        if method == "reset":
            self._record(session_id, status="active", steps=0, episodes=row.episodes + 1, reward=None)
            return
        values: dict[str, Any] = {"steps": row.steps + 1}
        if result["terminated"] or result["truncated"]:
            values.update(status="ended", reward=result["reward"])
        self._record(session_id, **values)

    def _close_session(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        session.close()
        return True

    def _record(self, session_id: str, ended: bool = False, **values) -> None:
        values["last_active_at"] = db.now()
        if ended:
            values["ended_at"] = values["last_active_at"]
        live = db.sessions.c.status.in_(LIVE_SESSION)
        with self.database.write() as conn:
            conn.execute(update(db.sessions).where((db.sessions.c.id == session_id) & live).values(**values))

    def _fail_orphan_sessions(self) -> None:
        """Sessions a previous API held on the cluster are gone with it (their envs lived in its hosts)."""
        with self.database.write() as conn:
            conn.execute(
                update(db.sessions)
                .where(db.sessions.c.worker_id.like("ray%") & db.sessions.c.status.in_(LIVE_SESSION))
                .values(
                    status="failed", error="the API holding this session on the cluster restarted", ended_at=db.now()
                )  # fmt: skip
            )

    # -- the monitor -------------------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Idle sessions end, lost hosts' sessions fail, queued episodes go to the cluster; lost host ids."""
        import ray

        lost = [h.id for h in self.scheduler.lost]
        for session_id, session in list(self.sessions.items()):
            if session.host.lost:
                self.sessions.pop(session_id, None)
                session._gone(RuntimeError(session.host.lost))
                self._record(session_id, status="failed", ended=True,
                             error=lost_error(f"sandbox host {session.host.id}", session.host.lost))  # fmt: skip
        asked = {host.actor.expire_idle.remote(): host for host in self.scheduler.live_hosts()}
        for ref, host in asked.items():
            try:
                expired = ray.get(ref, timeout=30)
            except Exception as exc:
                log.warning("asking host %s for idle sessions: %s", host.id, exc)
                continue
            for session_id in expired:
                session = next((k for k, s in self.sessions.items() if s.id == session_id), None)
                if session is not None:
                    self.sessions.pop(session).forget()
                    self._record(session, status="expired", ended=True, error="idle for too long")
        self.dispatcher.dispatch()
        self._finish_jobs()
        return lost

    def _finish_jobs(self) -> None:
        with self.database.read() as conn:
            open_jobs = list(
                conn.execute(select(db.evaluations.c.id).where(db.evaluations.c.status.in_(evaluations.ACTIVE)))
                .scalars()
            )  # fmt: skip
        for job in open_jobs:
            evaluations.finalize(self.database, job)
