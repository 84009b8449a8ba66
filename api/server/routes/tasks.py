"""GET /v1/tasks and /v1/tasks/{id}: the agent-facing view (no patch, no tests, no test names)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from swefarm.api.contract.schemas import TaskPage, TaskPublic
from swefarm.api.server.deps import Owner, State

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", response_model=TaskPage)
def list_tasks(
    state: State,
    owner: Owner,
    repo: str | None = Query(None, max_length=300),
    status: str | None = Query(None, max_length=20),
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> TaskPage:
    return state.tasks.page(repo, status, created_after, created_before, offset, limit)


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(state: State, owner: Owner, task_id: str) -> TaskPublic:
    return TaskPublic.of(state.tasks.get(task_id))
