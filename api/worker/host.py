"""A farm worker: holds sessions' envs (and so their sandboxes) and runs evaluation episodes.

It registers itself in the farm's database with the URL of its internal HTTP endpoint and a
secret of its own, which only the API (reading the same database) learns; it heartbeats there,
which keeps its claims on evaluation episodes alive, and expires sessions left idle. The API
forwards session calls to it. On SIGTERM it hands its episodes back to the queue, marks its
sessions failed and removes every sandbox it holds; if it is killed outright the API notices
(its process is gone, or its heartbeat stops) and does the same for it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, update
from swefarm.api.farm import db
from swefarm.api.farm.net import bind_socket
from swefarm.api.farm.settings import Settings
from swefarm.api.worker.hosting import build_env, public_info

log = logging.getLogger("swefarm.worker")


class HostedSession:
    """One session's env in this worker; its calls run one at a time."""

    def __init__(self, session_id: str, env, idle_timeout_s: float):
        self.id, self.env, self.idle_timeout_s = session_id, env, idle_timeout_s
        self.lock = threading.Lock()
        self.last_active = time.monotonic()
        self.steps = 0
        self.episodes = 0


class Worker:
    """The state of one worker process (see the module docstring)."""

    def __init__(self, settings: Settings, url: str | None = None):
        from swefarm.sandbox import registry
        from swefarm.sandbox.engine import connect
        from swefarm.sandbox.labels import process_start_time
        from swefarm.tasks.store import TaskStore

        self.settings = settings
        self.database = db.Database(settings.database_url)
        self.store = TaskStore(settings.task_store)
        self.client = connect(pool_size=2 * (settings.worker_sessions + settings.worker_eval_slots) + 8)
        needed = 2 * (settings.worker_sessions + settings.worker_eval_slots) + 16
        if registry.cap() < needed:
            registry.set_cap(needed)
        self.id = "w-" + uuid.uuid4().hex[:10]
        self.secret = secrets.token_urlsafe(32)
        self.url = url
        self.pid = os.getpid()
        self.pid_start = process_start_time(self.pid) or ""
        self.sessions: dict[str, HostedSession] = {}
        self.executor = ThreadPoolExecutor(settings.worker_sessions + 4, thread_name_prefix="swefarm-worker")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        from swefarm.api.worker.runner import EvaluationRunner

        self.runner = EvaluationRunner(self)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, url: str) -> None:
        self.url = url
        t = db.now()
        with self.database.write() as conn:
            conn.execute(
                insert(db.workers).values(
                    id=self.id, url=url, secret=self.secret, host=socket.gethostname(), pid=self.pid,
                    pid_start=self.pid_start, status="alive", max_sessions=self.settings.worker_sessions,
                    started_at=t, heartbeat_at=t,
                )
            )  # fmt: skip
        log.info("worker %s (pid %d) serving at %s", self.id, self.pid, url)
        for target, name in ((self._heartbeat_loop, "heartbeat"), (self.runner.loop, "evaluations")):
            thread = threading.Thread(target=target, name=f"swefarm-worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, reason: str = "the worker shut down") -> None:
        """Hand running episodes back, fail live sessions, remove every sandbox, deregister."""
        from swefarm.envs.pools import wait_closed
        from swefarm.sandbox import registry

        if self._stop.is_set():
            return
        self._stop.set()
        self.runner.stop(reason)
        with self._lock:
            hosted = list(self.sessions.values())
            self.sessions.clear()
        for session in hosted:
            self._close_env(session)
        if hosted:
            with self.database.write() as conn:
                ids = [s.id for s in hosted]
                conn.execute(
                    update(db.sessions)
                    .where(db.sessions.c.id.in_(ids) & db.sessions.c.status.in_(("starting", "active", "ended")))
                    .values(status="failed", error=f"{reason} (worker {self.id})", ended_at=db.now())
                )
        for thread in self._threads:
            thread.join(timeout=30)
        wait_closed()
        registry.close_all()
        with self.database.write() as conn:
            conn.execute(
                update(db.workers).where(db.workers.c.id == self.id).values(status="stopped", sessions=0, sandboxes=0)
            )
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.database.close()

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_s):
            try:
                self.heartbeat()
                self.expire_idle()
            except Exception:
                log.exception("heartbeat failed")

    def heartbeat(self) -> None:
        from swefarm.sandbox import registry

        t = db.now()
        with self.database.write() as conn:
            conn.execute(
                update(db.workers)
                .where(db.workers.c.id == self.id)
                .values(
                    heartbeat_at=t, sessions=len(self.sessions), sandboxes=registry.live_count(),
                    eval_running=self.runner.running_count(),
                )
            )  # fmt: skip

    def expire_idle(self) -> None:
        now = time.monotonic()
        with self._lock:
            idle = [s for s in self.sessions.values() if now - s.last_active > s.idle_timeout_s and not s.lock.locked()]
            for session in idle:
                del self.sessions[session.id]
        for session in idle:
            log.info("session %s expired after %.0f s idle", session.id, session.idle_timeout_s)
            self._close_env(session)
            self._record(session.id, status="expired", error=f"idle for over {session.idle_timeout_s:g} s", ended=True)

    # -- sessions (called from the executor) ----------------------------------------------------
    def open(self, session_id: str, task_id: str, config: dict, perturbation, seed, idle_timeout_s: float):
        from swefarm.api.contract.errors import TooManyRequestsError

        with self._lock:
            if session_id in self.sessions:
                raise _conflict(f"session {session_id} is already open")
            if len(self.sessions) >= self.settings.worker_sessions:
                raise TooManyRequestsError(f"worker {self.id} holds its maximum of {len(self.sessions)} sessions")
        task = self.store.get(task_id)
        env = build_env(task, config, perturbation, seed, self.client, self.settings.pool_size)
        session = HostedSession(session_id, env, idle_timeout_s)
        try:
            observation, info = env.reset(seed=seed)
        except BaseException:
            env.close()
            raise
        session.episodes = 1
        with self._lock:
            self.sessions[session_id] = session
        self._record(session_id, status="active", steps=0, episodes=1, reward=None)
        return observation, info

    def step(self, session_id: str, action, messages_from: int | None):
        session = self._take(session_id)
        try:
            observation, reward, terminated, truncated, info = session.env.step(action)
            session.steps += 1
            session.last_active = time.monotonic()
        finally:
            session.lock.release()
        fields: dict[str, Any] = {"steps": session.steps}
        if terminated or truncated:
            fields.update(status="ended", reward=float(reward))
        self._record(session_id, **fields)
        return {
            "observation": observation,
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "info": public_info(info, messages_from),
        }

    def reset(self, session_id: str, seed, messages_from: int | None):
        session = self._take(session_id)
        try:
            observation, info = session.env.reset(seed=seed)
            session.steps = 0
            session.episodes += 1
            session.last_active = time.monotonic()
        finally:
            session.lock.release()
        self._record(session_id, status="active", steps=0, episodes=session.episodes, reward=None)
        return observation, public_info(info, messages_from)

    def close(self, session_id: str) -> bool:
        with self._lock:
            session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        with session.lock:  # a step in flight finishes first
            self._close_env(session)
        self._record(session_id, status="closed", ended=True)
        return True

    def _take(self, session_id: str) -> HostedSession:
        from swefarm.api.contract.errors import NotFoundError

        with self._lock:
            session = self.sessions.get(session_id)
        if session is None:
            raise NotFoundError(f"worker {self.id} does not hold session {session_id}")
        if not session.lock.acquire(blocking=False):
            raise _conflict(f"session {session_id} is busy with another call; send one call at a time")
        session.last_active = time.monotonic()
        return session

    def _close_env(self, session: HostedSession) -> None:
        try:
            session.env.close()
        except Exception:
            log.exception("closing the env of session %s", session.id)

    def _record(self, session_id: str, ended: bool = False, **values) -> None:
        values["last_active_at"] = db.now()
        if ended:
            values["ended_at"] = values["last_active_at"]
        live = db.sessions.c.status.in_(("starting", "active", "ended"))  # never revive a failed or closed one
        with self.database.write() as conn:
            conn.execute(update(db.sessions).where((db.sessions.c.id == session_id) & live).values(**values))


def _conflict(message: str):
    from swefarm.api.contract.errors import ConflictError

    return ConflictError(message)


def run_worker(settings: Settings) -> None:
    """Serve a worker until SIGTERM or Ctrl-C (blocking)."""
    import uvicorn
    from swefarm.api.worker.app import create_worker_app

    sock = bind_socket(settings.worker_host, settings.worker_port)
    host, port = sock.getsockname()[:2]
    url = settings.worker_url or f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    if settings.worker_url_file:
        from pathlib import Path

        Path(settings.worker_url_file).write_text(url)
    worker = Worker(settings)
    app = create_worker_app(worker, url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=30)
    uvicorn.Server(config).run(sockets=[sock])
