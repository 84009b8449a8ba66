"""/v1/evaluations: run a scaffold with a policy on tasks as a background job; progress, results, trajectories."""

from __future__ import annotations

from fnmatch import fnmatchcase

from fastapi import APIRouter, Path, Query
from swefarm.api.contract.errors import ForbiddenError, InvalidRequestError
from swefarm.api.contract.schemas import EvaluationCreate, EvaluationPublic, ItemPublic, Trajectory
from swefarm.api.farm import evaluations, perturbation
from swefarm.api.server import scaffolds
from swefarm.api.server.deps import Owner, State

router = APIRouter(prefix="/v1/evaluations", tags=["evaluations"])
EvaluationId = Path(max_length=40)


def check_policy(spec: str, allowed: list[str]) -> None:
    from swefarm.policy.factory import KINDS

    kind = spec.split(":", 1)[0]
    if kind not in KINDS:
        raise InvalidRequestError(f"unknown policy {spec!r}; kinds: {', '.join(KINDS)}")
    if not any(fnmatchcase(spec, pattern) for pattern in allowed):
        raise ForbiddenError(
            f"policy {spec!r} is not allowed on this farm (allowed: {', '.join(allowed)}); "
            "its operator can add it to SWEFARM_ALLOWED_POLICIES"
        )


@router.post("", response_model=EvaluationPublic, status_code=202)
def create(state: State, owner: Owner, body: EvaluationCreate) -> EvaluationPublic:
    """Queue the job; workers run its episodes. Poll GET /v1/evaluations/{id} for progress."""
    settings = state.settings
    check_policy(body.policy, settings.allowed_policies)
    ref, config = scaffolds.resolve(state.database, owner, body, settings)
    spec = body.perturbation if body.perturbation is not None else config.perturbation
    perturbation.require(spec)
    task_ids = state.tasks.select(body.tasks, body.split, body.repo, body.limit, body.test_fraction)
    episodes = len(task_ids) * body.repeats * (2 if spec is not None else 1)
    if episodes > settings.max_evaluation_episodes:
        raise InvalidRequestError(
            f"the job has {episodes} episodes; this farm runs at most {settings.max_evaluation_episodes} per job"
        )
    with state.database.write() as conn:
        evaluation_id = evaluations.create(
            conn, owner, scaffold=ref, config=config.model_dump(exclude={"perturbation"}), policy=body.policy,
            policy_options=body.policy_options, perturbation=spec, seed=body.seed,
            keep_trajectories=body.keep_trajectories, task_ids=task_ids, repeats=body.repeats,
        )  # fmt: skip
    state.metrics.evaluations_created.inc()
    return evaluations.public(state.database, owner, evaluation_id)


@router.get("", response_model=list[EvaluationPublic])
def list_evaluations(state: State, owner: Owner, limit: int = Query(50, ge=1, le=500)) -> list[EvaluationPublic]:
    return evaluations.listing(state.database, owner, limit)


@router.get("/{evaluation_id}", response_model=EvaluationPublic)
def get(state: State, owner: Owner, evaluation_id: str = EvaluationId) -> EvaluationPublic:
    return evaluations.public(state.database, owner, evaluation_id)


@router.get("/{evaluation_id}/results", response_model=list[ItemPublic])
def results(state: State, owner: Owner, evaluation_id: str = EvaluationId) -> list[ItemPublic]:
    """Every episode: task, variant, status, reward, reward components, timings, infrastructure error."""
    return evaluations.results(state.database, owner, evaluation_id)


@router.get("/{evaluation_id}/trajectories/{item_id}", response_model=Trajectory)
def trajectory(
    state: State, owner: Owner, evaluation_id: str = EvaluationId, item_id: int = Path(ge=1, le=2**62)
) -> Trajectory:
    return Trajectory.model_validate(evaluations.trajectory(state.database, owner, evaluation_id, item_id))


@router.delete("/{evaluation_id}", response_model=EvaluationPublic)
def cancel(state: State, owner: Owner, evaluation_id: str = EvaluationId) -> EvaluationPublic:
    evaluations.cancel(state.database, owner, evaluation_id)
    return evaluations.public(state.database, owner, evaluation_id)
