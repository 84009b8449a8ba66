"""The app's shared state and the `Annotated` dependencies routes take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from swefarm.api.auth import Authenticator
from swefarm.api.db import Database
from swefarm.api.metrics import Metrics
from swefarm.api.settings import Settings
from swefarm.api.tasks import TaskCatalog
from swefarm.api.workers import WorkerDirectory


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


def _owner(request: Request) -> str:
    return request.state.owner  # set by AuthMiddleware on every protected path


State = Annotated[AppState, Depends(_state)]
Owner = Annotated[str, Depends(_owner)]
