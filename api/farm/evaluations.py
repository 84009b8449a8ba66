"""Evaluation jobs in the database: creating one, the queue of its episodes, progress, and the summary.

A job is a snapshot (the scaffold's EnvConfig, the policy, the perturbation) plus one row per
episode: task x repeat x variant ("plain", and "perturbed" when a perturbation is asked for).
Workers claim episodes from the queue and hold each under a lease; an episode whose worker dies
goes back to the queue (up to `max_item_attempts` claims), so a restart resumes a job instead of
losing it, and an episode that keeps killing workers fails with the reason. The job ends when no
episode is queued or running.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from statistics import mean

from sqlalchemy import func, insert, select, update
from swefarm.api.contract.errors import ConflictError, NotFoundError
from swefarm.api.contract.schemas import EvaluationPublic, EvaluationSummary, ItemPublic
from swefarm.api.farm import db
from swefarm.perturb.gap import generalisation_gap

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled")


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def add_event(conn, evaluation_id: str, message: str) -> None:
    conn.execute(insert(db.events).values(evaluation_id=evaluation_id, at=db.now(), message=message[:2000]))


def create(conn, owner: str, *, scaffold, config: dict, policy: str, policy_options: dict, perturbation,
           seed: int, keep_trajectories: bool, task_ids: list[str], repeats: int) -> str:  # fmt: skip
    """Insert a job and its episodes; returns its id."""
    evaluation_id = "e-" + uuid.uuid4().hex[:12]
    variants = ["plain", "perturbed"] if perturbation is not None else ["plain"]
    rows = [
        {"evaluation_id": evaluation_id, "task_id": task_id, "variant": variant, "repeat": repeat, "status": "queued"}
        for task_id in task_ids
        for repeat in range(repeats)
        for variant in variants
    ]
    conn.execute(
        insert(db.evaluations).values(
            id=evaluation_id, owner=owner, scaffold=scaffold, config=json.dumps(config), policy=policy,
            policy_options=json.dumps(policy_options), seed=seed, keep_trajectories=keep_trajectories,
            perturbation=None if perturbation is None else json.dumps(perturbation), status="queued",
            total=len(rows), created_at=db.now(),
        )
    )  # fmt: skip
    conn.execute(insert(db.items), rows)
    add_event(conn, evaluation_id, f"created: {len(rows)} episodes on {len(task_ids)} tasks with {policy}")
    return evaluation_id


def summarise(rows) -> EvaluationSummary:
    """Scores of finished episodes; an episode with an infrastructure error is counted apart, never as 0."""
    summary = EvaluationSummary()
    by_variant: dict[str, list] = {"plain": [], "perturbed": []}
    for row in rows:
        if row.status == "done" and row.infra_error is None and row.reward is not None:
            by_variant[row.variant].append(row)
        elif row.status in ("done", "failed"):
            summary.infra_errors += 1
    plain, perturbed = by_variant["plain"], by_variant["perturbed"]
    if plain:
        summary.score = mean(r.reward for r in plain)
        summary.resolved_rate = mean(1.0 if r.resolved else 0.0 for r in plain)
        summary.mean_steps = mean(r.steps or 0 for r in plain)
    summary.scored = len(plain)
    if perturbed:
        summary.perturbed_score = mean(r.reward for r in perturbed)
        summary.perturbed_resolved_rate = mean(1.0 if r.resolved else 0.0 for r in perturbed)
    summary.perturbed_scored = len(perturbed)
    if summary.score is not None and summary.perturbed_score is not None:
        summary.generalisation_gap = generalisation_gap(summary.score, summary.perturbed_score)
    return summary


def _owned(conn, owner: str, evaluation_id: str):
    row = conn.execute(
        select(db.evaluations).where((db.evaluations.c.id == evaluation_id) & (db.evaluations.c.owner == owner))
    ).first()
    if row is None:
        raise NotFoundError(f"no evaluation {evaluation_id}")
    return row


def public(database: db.Database, owner: str, evaluation_id: str, events: int = 50) -> EvaluationPublic:
    with database.read() as conn:
        row = _owned(conn, owner, evaluation_id)
        rows = conn.execute(select(db.items).where(db.items.c.evaluation_id == evaluation_id)).all()
        notes = conn.execute(
            select(db.events.c.at, db.events.c.message)
            .where(db.events.c.evaluation_id == evaluation_id)
            .order_by(db.events.c.id.desc())
            .limit(events)
        ).all()
    finished = sum(1 for r in rows if r.status in FINAL)
    summary = EvaluationSummary.model_validate_json(row.summary) if row.summary else summarise(rows)
    return EvaluationPublic(
        id=row.id, status=row.status, error=row.error, scaffold=row.scaffold, policy=row.policy,
        perturbation=json.loads(row.perturbation) if row.perturbation else None, total=row.total, done=finished,
        progress=finished / row.total if row.total else 1.0, summary=summary, created_at=_time(row.created_at),
        started_at=_time(row.started_at), finished_at=_time(row.finished_at),
        events=[f"{datetime.fromtimestamp(at, UTC).isoformat(timespec='seconds')} {message}"
                for at, message in reversed(notes)],
    )  # fmt: skip


def listing(database: db.Database, owner: str, limit: int = 100) -> list[EvaluationPublic]:
    with database.read() as conn:
        ids = list(
            conn.execute(
                select(db.evaluations.c.id)
                .where(db.evaluations.c.owner == owner)
                .order_by(db.evaluations.c.created_at.desc())
                .limit(limit)
            ).scalars()
        )
    return [public(database, owner, i, events=0) for i in ids]


def item_public(row) -> ItemPublic:
    result = json.loads(row.result) if row.result else {}
    return ItemPublic(
        id=row.id, task_id=row.task_id, variant=row.variant, repeat=row.repeat, status=row.status,
        attempts=row.attempts, reward=row.reward, resolved=row.resolved, steps=row.steps, infra_error=row.infra_error,
        error=result.get("error"),
        reward_components=result.get("reward_components", {}), timing=result.get("timing", {}),
        perturbation=result.get("perturbation"), started_at=_time(row.started_at), finished_at=_time(row.finished_at),
    )  # fmt: skip


def results(database: db.Database, owner: str, evaluation_id: str) -> list[ItemPublic]:
    with database.read() as conn:
        _owned(conn, owner, evaluation_id)
        rows = conn.execute(
            select(db.items).where(db.items.c.evaluation_id == evaluation_id).order_by(db.items.c.id)
        ).all()
    return [item_public(row) for row in rows]


def trajectory(database: db.Database, owner: str, evaluation_id: str, item_id: int) -> dict:
    with database.read() as conn:
        _owned(conn, owner, evaluation_id)
        row = conn.execute(
            select(db.items).where((db.items.c.evaluation_id == evaluation_id) & (db.items.c.id == item_id))
        ).first()
    if row is None:
        raise NotFoundError(f"evaluation {evaluation_id} has no episode {item_id}")
    if row.trajectory is None:
        raise NotFoundError(f"episode {item_id} has no trajectory (not finished, or the job did not keep them)")
    return {"item_id": row.id, "task_id": row.task_id, "variant": row.variant, **json.loads(row.trajectory)}


def cancel(database: db.Database, owner: str, evaluation_id: str) -> None:
    with database.write() as conn:
        row = _owned(conn, owner, evaluation_id)
        if row.status in FINAL:
            raise ConflictError(f"evaluation {evaluation_id} has already ended ({row.status})")
        conn.execute(
            update(db.items)
            .where((db.items.c.evaluation_id == evaluation_id) & db.items.c.status.in_(ACTIVE))
            .values(status="cancelled", finished_at=db.now())
        )
        add_event(conn, evaluation_id, "cancelled by its owner")
    finalize(database, evaluation_id)


def finalize(database: db.Database, evaluation_id: str) -> bool:
    """End the job if none of its episodes is queued or running; True if it ended now."""
    with database.write() as conn:
        row = conn.execute(select(db.evaluations).where(db.evaluations.c.id == evaluation_id)).first()
        if row is None or row.status in FINAL:
            return False
        left = conn.execute(
            select(func.count())
            .select_from(db.items)
            .where((db.items.c.evaluation_id == evaluation_id) & db.items.c.status.in_(ACTIVE))
        ).scalar()
        if left:
            return False
        rows = conn.execute(select(db.items).where(db.items.c.evaluation_id == evaluation_id)).all()
        summary = summarise(rows)
        cancelled = any(r.status == "cancelled" for r in rows)
        status, error = ("cancelled", None) if cancelled else ("done", row.error)
        if not cancelled and summary.scored == 0 and summary.perturbed_scored == 0:
            first = next((r.infra_error for r in rows if r.infra_error), None)
            status, error = "failed", row.error or f"no episode could be scored; the first error: {first}"
        conn.execute(
            update(db.evaluations)
            .where(db.evaluations.c.id == evaluation_id)
            .values(status=status, error=error, summary=summary.model_dump_json(), finished_at=db.now())
        )
        score = "n/a" if summary.score is None else f"{summary.score:.3f}"
        add_event(conn, evaluation_id, f"{status}: score {score}, {summary.infra_errors} infrastructure errors")
        return True


def fail(database: db.Database, evaluation_id: str, reason: str) -> None:
    """End a job as failed (its policy cannot be loaded, say): its queued episodes are cancelled."""
    with database.write() as conn:
        conn.execute(
            update(db.items)
            .where((db.items.c.evaluation_id == evaluation_id) & (db.items.c.status == "queued"))
            .values(status="cancelled", finished_at=db.now())
        )
        conn.execute(
            update(db.evaluations)
            .where((db.evaluations.c.id == evaluation_id) & db.evaluations.c.status.in_(ACTIVE))
            .values(status="failed", error=reason[:4000], finished_at=db.now())
        )
        add_event(conn, evaluation_id, f"failed: {reason}")


def requeue_from(conn, worker_id: str, reason: str, max_attempts: int) -> list[str]:
    """Episodes a lost worker was running go back to the queue, or fail after too many attempts.

    Returns the ids of the jobs touched (to finalise)."""
    rows = conn.execute(
        select(db.items).where((db.items.c.worker_id == worker_id) & (db.items.c.status == "running"))
    ).all()
    for row in rows:
        if row.attempts >= max_attempts:
            conn.execute(
                update(db.items)
                .where((db.items.c.id == row.id) & (db.items.c.status == "running"))
                .values(
                    status="failed",
                    claim=None,
                    finished_at=db.now(),
                    infra_error=f"its worker was lost {row.attempts} times ({reason})",
                )  # fmt: skip
            )
            add_event(conn, row.evaluation_id, f"episode {row.id} ({row.task_id}) failed: {reason}, "
                                               f"{row.attempts} attempts")  # fmt: skip
        else:
            conn.execute(
                update(db.items)
                .where((db.items.c.id == row.id) & (db.items.c.status == "running"))
                .values(status="queued", worker_id=None, claim=None)
            )
            add_event(conn, row.evaluation_id, f"episode {row.id} ({row.task_id}) requeued: {reason}")
    return sorted({row.evaluation_id for row in rows})
