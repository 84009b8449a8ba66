"""/v1/sessions: create an episode (id and first observation), step it, reset it, close it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from starlette.responses import Response
from swefarm.api.contract.schemas import (
    ResetRequest,
    SessionCreate,
    SessionPublic,
    SessionStarted,
    StepRequest,
    StepResult,
)
from swefarm.api.server import sessions
from swefarm.api.server.deps import Owner, State

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = str


@router.post("", response_model=SessionStarted, status_code=201)
async def create(state: State, owner: Owner, body: SessionCreate) -> SessionStarted:
    """Start an episode on a task with a scaffold (registered or inline) and a perturbation."""
    return await sessions.start(state, owner, body)


@router.get("", response_model=list[SessionPublic])
def list_sessions(
    state: State,
    owner: Owner,
    status: Literal["starting", "active", "ended", "closed", "expired", "failed"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[SessionPublic]:
    return sessions.listing(state, owner, status, limit)


@router.get("/{session_id}", response_model=SessionPublic)
def get(state: State, owner: Owner, session_id: SessionId) -> SessionPublic:
    return sessions.get(state, owner, session_id)


@router.post("/{session_id}/step", response_model=StepResult)
async def step(state: State, owner: Owner, session_id: SessionId, body: StepRequest) -> StepResult | Response:
    """`env.step(action)`: observation, reward, terminated, truncated, info."""
    return await sessions.step(state, owner, session_id, body)


@router.post("/{session_id}/reset", response_model=SessionStarted)
async def reset(state: State, owner: Owner, session_id: SessionId, body: ResetRequest) -> SessionStarted:
    """A new episode in the same session (same task, scaffold and sandbox pool)."""
    return await sessions.reset(state, owner, session_id, body)


@router.delete("/{session_id}", response_model=SessionPublic)
async def close(state: State, owner: Owner, session_id: SessionId) -> SessionPublic:
    """End the session and release its sandbox."""
    return await sessions.close(state, owner, session_id)
