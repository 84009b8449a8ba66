"""Evaluation jobs on the cluster: the API's database keeps the record, Ray does the placing.

Without Ray, farm workers claim episodes from the database (a SQL job queue with leases). With
`--ray`, nothing polls for work: the API hands each queued episode to the scheduler (as many as
there are free slots, so the database never says "running" for an episode that waits), the
scheduler places it by image locality and re-runs it elsewhere when its host is lost, and the
result is written to its row the moment it comes back. An API that stops mid-job loses nothing:
at start-up, episodes it had handed out go back to "queued" and are placed again. A cancelled
job's episodes already on a host run to their end; their results are not written.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import Future
from functools import partial

from sqlalchemy import select, update
from swefarm.api.farm import db, evaluations
from swefarm.cluster.api_episodes import play_item
from swefarm.cluster.errors import HostLostError, PolicyUnavailableError
from swefarm.harness.images import task_image

from swefarm.errors import InfrastructureError

log = logging.getLogger("swefarm.cluster")

#: worker_id of an episode the API has handed to the cluster and not yet heard back about.
DISPATCHED = "ray"
JOB_FIELDS = ("id", "policy", "policy_options", "perturbation", "seed", "config", "keep_trajectories")


class EvaluationDispatcher:
    def __init__(self, database: db.Database, scheduler, store, max_attempts: int):
        self.database, self.scheduler, self.store, self.max_attempts = database, scheduler, store, max_attempts
        self.inflight: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._dispatching = threading.RLock()  # a job done at once calls back in the same thread

    def requeue_orphans(self) -> int:
        """Episodes a previous API handed to the cluster go back to the queue (their results never came)."""
        with self.database.write() as conn:
            rows = conn.execute(
                select(db.items).where((db.items.c.status == "running") & db.items.c.worker_id.like("ray%"))
            ).all()
            for row in rows:
                conn.execute(
                    update(db.items)
                    .where((db.items.c.id == row.id) & (db.items.c.status == "running"))
                    .values(status="queued", worker_id=None, claim=None)
                )
                evaluations.add_event(conn, row.evaluation_id, f"episode {row.id} requeued: the API restarted")
        return len(rows)

    def dispatch(self) -> int:
        """Hand queued episodes to the scheduler, no more than it has free slots for; how many."""
        with self._dispatching:  # the monitor and finishing episodes both call it
            return self._dispatch()

    def _dispatch(self) -> int:
        room = self.scheduler.free_slots() - self.scheduler.waiting()
        if room <= 0:
            return 0
        active = select(db.evaluations.c.id).where(db.evaluations.c.status.in_(evaluations.ACTIVE))
        handed = 0
        with self.database.write() as conn:
            rows = conn.execute(
                select(db.items)
                .where((db.items.c.status == "queued") & db.items.c.evaluation_id.in_(active))
                .order_by(db.items.c.id)
                .limit(room)
            ).all()
            claims = []
            for row in rows:
                claim = uuid.uuid4().hex
                done = conn.execute(
                    update(db.items)
                    .where((db.items.c.id == row.id) & (db.items.c.status == "queued"))
                    .values(
                        status="running",
                        worker_id=DISPATCHED,
                        claim=claim,
                        attempts=db.items.c.attempts + 1,
                        started_at=db.now(),
                    )  # fmt: skip
                )
                if done.rowcount == 1:
                    claims.append((row, claim))
            jobs = {}
            for row, _ in claims:
                if row.evaluation_id not in jobs:
                    job = conn.execute(select(db.evaluations).where(db.evaluations.c.id == row.evaluation_id)).one()
                    jobs[row.evaluation_id] = job
                    if job.status == "queued":
                        conn.execute(
                            update(db.evaluations)
                            .where(db.evaluations.c.id == row.evaluation_id)
                            .values(status="running", started_at=db.now())
                        )
                        evaluations.add_event(conn, row.evaluation_id, "started on the Ray cluster")
        for row, claim in claims:
            self._submit(row, jobs[row.evaluation_id], claim)
            handed += 1
        return handed

    def _submit(self, row, job, claim: str) -> None:
        try:
            task = self.store.get(row.task_id)
        except Exception as exc:
            self._write(row, claim, status="done", infra_error=f"{type(exc).__name__}: {exc}")
            evaluations.finalize(self.database, row.evaluation_id)
            return
        job_fields = {name: getattr(job, name) for name in JOB_FIELDS}
        item = {"id": row.id, "task_id": row.task_id, "variant": row.variant, "repeat": row.repeat}
        future = self.scheduler.submit(task_image(task), play_item, job_fields, item, task)
        with self._lock:
            self.inflight[row.id] = future
        future.add_done_callback(partial(self._done, row, claim))

    def _done(self, row, claim: str, future: Future) -> None:
        with self._lock:
            self.inflight.pop(row.id, None)
        try:
            try:
                done = future.result()
            except PolicyUnavailableError as exc:
                self._write(row, claim, status="failed", infra_error=str(exc))
                evaluations.fail(self.database, row.evaluation_id, str(exc))
                return
            except HostLostError as exc:
                self._write(row, claim, status="failed", infra_error=str(exc),
                            attempts=row.attempts + self.max_attempts)  # fmt: skip
                return
            except InfrastructureError as exc:  # Ray's, or the cluster's: the episode's result, never scored
                self._write(row, claim, status="done", infra_error=f"{type(exc).__name__}: {exc}"[:4000])
                return
            except Exception as exc:  # a bug in the policy or the env, as a farm worker treats one
                reason = (
                    f"episode {row.id} on {row.task_id} raised {type(exc).__name__}: {exc} "
                    "(a bug in the policy or the env, not infrastructure; the sandbox host's log has the traceback)"
                )
                self._write(row, claim, status="failed", result=json.dumps({"error": reason[:4000]}))
                evaluations.fail(self.database, row.evaluation_id, reason)
                return
            if done.lost:
                with self.database.write() as conn:
                    for reason in done.lost:
                        note = f"episode {row.id} ({row.task_id}) re-run elsewhere: {reason}"
                        evaluations.add_event(conn, row.evaluation_id, note)
            self._write(row, claim, status="done", worker_id=done.host, attempts=row.attempts + done.attempts,
                        **done.value)  # fmt: skip
        except Exception:
            log.exception("recording evaluation episode %s", row.id)
        finally:
            try:
                evaluations.finalize(self.database, row.evaluation_id)
                self.dispatch()  # a slot is free: the next queued episode goes now, not at the next sweep
            except Exception:
                log.exception("finalising evaluation %s", row.evaluation_id)

    def _write(self, row, claim: str, **values) -> None:
        """The row's result, only while it is still this dispatch's (a cancelled episode stays cancelled)."""
        values.setdefault("finished_at", db.now())
        if isinstance(values.get("result"), dict):
            values["result"] = json.dumps(values["result"])
        with self.database.write() as conn:
            conn.execute(
                update(db.items)
                .where((db.items.c.id == row.id) & (db.items.c.claim == claim) & (db.items.c.status == "running"))
                .values(**values)
            )

    def running(self) -> int:
        with self._lock:
            return len(self.inflight)
