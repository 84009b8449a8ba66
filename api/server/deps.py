"""The app's shared state and the `Annotated` dependencies routes take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from swefarm.api.farm.db import Database
from swefarm.api.farm.settings import Settings
from swefarm.api.server.auth import Authenticator, authenticated_owner
from swefarm.api.server.directory import WorkerDirectory
from swefarm.api.server.metrics import Metrics
from swefarm.api.server.tasks import TaskCatalog


@dataclass
class AppState:
    settings: Settings
    database: Database
    auth: Authenticator
    tasks: TaskCatalog
    workers: WorkerDirectory
    metrics: Metrics


def _state(request: Request) -> AppState:
    return request.app.state.farm


State = Annotated[AppState, Depends(_state)]
Owner = Annotated[str, Depends(authenticated_owner)]  # 401 without a known bearer token
