"""A worker's evaluation loop: claim queued episodes, play them with the job's policy, record the results.

An episode is claimed with one conditional UPDATE (two workers never hold the same claim), played
on the same env a session gets, and written back only while the claim is still this worker's.
A policy is loaded once per (spec, options) and shared by the episodes that use it. Episodes play
through `policy.episode.play`: an infrastructure failure is the episode's result (never scored);
any other exception is a bug, so the job fails with it (and the worker's log has the traceback).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from sqlalchemy import select, update
from swefarm.api.farm import db, evaluations
from swefarm.api.worker.hosting import build_env, public_action, public_info

from swefarm.errors import InfrastructureError

log = logging.getLogger("swefarm.worker")


class Cancelled(BaseException):
    """The job was cancelled, or the worker is stopping, while the episode ran.

    A BaseException, like asyncio's CancelledError: it is control flow, and passes through the
    episode runner without being logged as a bug."""


class EvaluationRunner:
    def __init__(self, worker):
        self.worker = worker
        self.settings = worker.settings
        self.database = worker.database
        self._running: dict[int, tuple[str, threading.Thread]] = {}  # item id -> (claim, thread)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._factories: dict[str, Any] = {}
        self._factory_lock = threading.Lock()

    def running_count(self) -> int:
        return len(self._running)

    def loop(self) -> None:
        if self.settings.worker_eval_slots == 0:
            return
        while not self._stop.is_set():
            try:
                claimed = self.running_count() < self.settings.worker_eval_slots and self._claim_one()
            except Exception:
                log.exception("claiming an evaluation episode failed")
                claimed = False
            if not claimed:
                self._stop.wait(self.settings.poll_s)

    def _claim_one(self) -> bool:
        claim = uuid.uuid4().hex
        active = select(db.evaluations.c.id).where(db.evaluations.c.status.in_(evaluations.ACTIVE))
        first = (
            select(db.items.c.id)
            .where((db.items.c.status == "queued") & db.items.c.evaluation_id.in_(active))
            .order_by(db.items.c.id)
            .limit(1)
            .scalar_subquery()
        )
        with self.database.write() as conn:
            done = conn.execute(
                update(db.items)
                .where((db.items.c.id == first) & (db.items.c.status == "queued"))
                .values(
                    status="running",
                    worker_id=self.worker.id,
                    claim=claim,
                    attempts=db.items.c.attempts + 1,
                    started_at=db.now(),
                )  # fmt: skip
            )
            if done.rowcount != 1:
                return False
            item = conn.execute(select(db.items).where(db.items.c.claim == claim)).first()
            job = conn.execute(select(db.evaluations).where(db.evaluations.c.id == item.evaluation_id)).first()
            if job.status == "queued":
                conn.execute(
                    update(db.evaluations)
                    .where((db.evaluations.c.id == job.id) & (db.evaluations.c.status == "queued"))
                    .values(status="running", started_at=db.now())
                )
                evaluations.add_event(conn, job.id, f"started on worker {self.worker.id}")
        thread = threading.Thread(
            target=self._run, args=(item, job, claim), name=f"swefarm-eval-{item.id}", daemon=True
        )
        with self._lock:
            self._running[item.id] = (claim, thread)
        thread.start()
        return True

    # -- one episode --------------------------------------------------------------------------------
    def _run(self, item, job, claim: str) -> None:
        try:
            try:
                factory = self._factory(job.policy, json.loads(job.policy_options))
            except Exception as exc:
                reason = f"the policy {job.policy!r} could not be loaded: {type(exc).__name__}: {exc}"
                self._write(item, claim, status="failed", infra_error=reason)
                evaluations.fail(self.database, job.id, reason)
                return
            try:
                values = self._play(item, job, factory)
            except Cancelled:
                return  # stop() or cancel() put the item where it belongs
            except Exception as exc:  # a bug in the policy or the env: play() logged its traceback
                reason = (
                    f"episode {item.id} on {item.task_id} raised {type(exc).__name__}: {exc} "
                    "(a bug in the policy or the env, not infrastructure; the worker's log has the traceback)"
                )
                self._write(item, claim, status="failed", result=json.dumps({"error": reason[:4000]}))
                evaluations.fail(self.database, job.id, reason)
                return
            self._write(item, claim, status="done", **values)
        except Exception:
            log.exception("evaluation episode %s failed", item.id)
        finally:
            with self._lock:
                self._running.pop(item.id, None)
            try:
                evaluations.finalize(self.database, job.id)
            except Exception:
                log.exception("finalising evaluation %s", job.id)

    def _play(self, item, job, factory) -> dict[str, Any]:
        """One episode through `policy.episode.play`; an infrastructure failure is the episode's result."""
        from swefarm.policy.episode import play

        perturbation = json.loads(job.perturbation) if job.perturbation and item.variant == "perturbed" else None
        seed = job.seed + item.repeat
        task = self.worker.store.get(item.task_id)
        env = None
        try:
            env = build_env(
                task, json.loads(job.config), perturbation, seed, self.worker.client, self.settings.pool_size
            )
            policy = factory.new(task)
            episode = play(env, policy, seed=seed, before_step=lambda: self._check(item))
        except InfrastructureError as exc:  # the env could not even be made
            return self._infra(job, f"{type(exc).__name__}: {exc}", [])
        finally:
            if env is not None:
                env.close()
        actions = [public_action(action) for action in episode.actions]
        if episode.error is not None:
            return self._infra(job, episode.error, actions)
        return self._result(job, episode.reward, episode.info, actions, policy)

    def _infra(self, job, error: str, actions: list) -> dict[str, Any]:
        trajectory = {"messages": [], "actions": actions, "info": {"error": error}}
        return {"infra_error": error[:4000], "trajectory": json.dumps(trajectory) if job.keep_trajectories else None}

    def _result(self, job, reward: float, info: dict, actions: list, policy) -> dict[str, Any]:
        info = public_info(info)
        outcome = info.get("outcome", {})
        result = {
            "reward_components": info.get("reward_components", {}),
            "timing": info.get("timing", {}),
            "perturbation": info.get("perturbation"),
        }
        values: dict[str, Any] = {
            "reward": float(reward),
            "resolved": bool((info.get("grade") or {}).get("resolved", False)),
            "steps": int(outcome.get("steps", info.get("step", 0)) or 0),
            "infra_error": info.get("infra_error"),
            "result": json.dumps(result),
        }
        if job.keep_trajectories:
            messages = info.pop("messages", [])
            trajectory = {"messages": messages, "actions": actions, "reward": float(reward), "info": info}
            record = getattr(policy, "trajectory", None)
            if callable(record):
                try:
                    trajectory["policy"] = public_info({"t": record()})["t"]
                except Exception as exc:  # a scripted policy keeps no token record
                    log.debug("no policy trajectory: %s", exc)
            values["trajectory"] = json.dumps(trajectory)
        return values

    def _check(self, item) -> None:
        if self._stop.is_set():
            raise Cancelled()
        with self.database.read() as conn:
            status = conn.execute(select(db.items.c.status).where(db.items.c.id == item.id)).scalar()
        if status != "running":
            raise Cancelled()

    def _write(self, item, claim: str, **values) -> None:
        values.setdefault("finished_at", db.now())
        with self.database.write() as conn:
            conn.execute(
                update(db.items)
                .where((db.items.c.id == item.id) & (db.items.c.claim == claim) & (db.items.c.status == "running"))
                .values(**values)
            )

    def _factory(self, spec: str, options: dict):
        from swefarm.policy.factory import load_policy

        key = json.dumps([spec, options], sort_keys=True)
        with self._factory_lock:
            if key not in self._factories:
                self._factories[key] = load_policy(spec, **options)
            return self._factories[key]

    # -- stopping ----------------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Hand every running episode back to the queue (without spending an attempt) and free the policies."""
        self._stop.set()
        with self._lock:
            running = dict(self._running)
        if running:
            with self.database.write() as conn:
                for item_id, (claim, _) in running.items():
                    done = conn.execute(
                        update(db.items)
                        .where((db.items.c.id == item_id) & (db.items.c.claim == claim))
                        .values(status="queued", worker_id=None, claim=None, attempts=db.items.c.attempts - 1)
                    )
                    if done.rowcount:
                        job = conn.execute(select(db.items.c.evaluation_id).where(db.items.c.id == item_id)).scalar()
                        evaluations.add_event(conn, job, f"episode {item_id} requeued: {reason} ({self.worker.id})")
        deadline = time.monotonic() + 60
        for _, thread in running.values():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for factory in self._factories.values():
            try:
                factory.close()
            except Exception:
                log.exception("closing a policy")
        self._factories.clear()
