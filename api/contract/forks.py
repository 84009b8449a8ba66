"""Request and response models of forking a session: `POST /v1/sessions/{id}/fork`."""

from __future__ import annotations

from pydantic import BaseModel, Field
from swefarm.api.contract.scaffold import Strict
from swefarm.api.contract.schemas import SessionPublic

MAX_FORK = 64  # siblings one request makes at most (the token's and the worker's session limits still apply)


class ForkRequest(Strict):
    n: int = Field(1, ge=1, le=MAX_FORK, description="how many sessions to make from this one's current state")


class ForkResult(BaseModel):
    """The new sessions: each holds a copy of the episode so far (workspace, shell, transcript, step count)."""

    sessions: list[SessionPublic]
