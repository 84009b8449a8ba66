"""Sandboxes: sealed containers that run an agent's commands fast.

The seam is the `Sandbox` protocol below; backends implement it without
inheriting from it (one backend per file: `docker_backend.py`). A
`SandboxPool` keeps started sandboxes warm so handing one out takes
milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from swefarm.sandbox.errors import (
    EngineUnavailableError,
    ImageMissingError,
    OutOfDiskError,
    OutOfMemoryError,
    SandboxClosedError,
    SandboxDiedError,
    SandboxError,
    SandboxLimitError,
    SetupError,
)
from swefarm.sandbox.models import CommandResult, SandboxConfig


@runtime_checkable
class Sandbox(Protocol):
    """What every sandbox backend offers."""

    config: SandboxConfig

    @property
    def id(self) -> str: ...

    def run(self, cmd: str, timeout: float | None = None, idle_timeout: float | None = None) -> CommandResult:
        """Run in the persistent shell session: cd, export and functions persist between calls."""

    def run_stateless(
        self,
        cmd: str,
        timeout: float | None = None,
        idle_timeout: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        max_output: int | None = None,
    ) -> CommandResult:
        """Run in a fresh shell that shares nothing with the session."""

    def read_file(self, path: str) -> bytes: ...

    def write_file(self, path: str, data: bytes | str, mode: int | None = None) -> None: ...

    def upload(self, local: str | Path, remote: str) -> None: ...

    def download(self, remote: str, local: str | Path) -> Path: ...

    def diff(self, path: str | None = None) -> str:
        """The working tree's changes against HEAD as a git diff, untracked files included."""

    def close(self) -> None: ...


__all__ = [
    "CommandResult",
    "EngineUnavailableError",
    "ImageMissingError",
    "OutOfDiskError",
    "OutOfMemoryError",
    "Sandbox",
    "SandboxClosedError",
    "SandboxConfig",
    "SandboxDiedError",
    "SandboxError",
    "SandboxLimitError",
    "SetupError",
]
