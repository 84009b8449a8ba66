"""Sandboxes: sealed containers that run an agent's commands fast.

The seam is the `Sandbox` protocol below; backends implement it without
inheriting from it (one backend per file: `docker_backend.py`, and
`local_backend.py` for fast tests, which isolates nothing). A provider
(`sandbox.provider`, chosen by name) starts them; a `SandboxPool` keeps
started sandboxes warm so handing one out takes milliseconds.

Trust: the agent's commands and everything they start run as `config.uid`;
the command server that answers the host runs apart from them (root with only
the capabilities it needs) and they cannot signal, trace or write to it, so
what the host reads is the server's own account: exit codes and timeouts of
`run_stateless`, file contents, the output the commands printed. The session
shell's exit codes (`run`) are reported by the shell, which is the agent's.
`run_stateless(..., user="root")` runs a command the agent's processes cannot
touch either (root without any capability), and `kill_agent_processes()` ends
everything the agent started, before its work is read. `seal()` hands files to
root, read-only to the agent's uid (grading seals the tests and what the runner
reads before it runs them).

Whose failure: `errors.AgentCausedError` (`ProcessLimitError`,
`OutOfMemoryError`, `WorkspaceFullError`) means what the agent did stops the
request: grade it as the agent's. File operations raise builtin OSErrors for
what the sandbox's files are. Any other `SandboxError` is the infrastructure's.
Any str is accepted in commands and files (`sandbox.text`): nothing the agent
writes turns into an infrastructure error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from swefarm.sandbox.errors import (
    AgentCausedError,
    EngineUnavailableError,
    ImageMissingError,
    OutOfDiskError,
    OutOfMemoryError,
    ProcessLimitError,
    SandboxClosedError,
    SandboxDiedError,
    SandboxError,
    SandboxLimitError,
    SetupError,
    WorkspaceFullError,
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
        user: str = "agent",
    ) -> CommandResult:
        """Run in a fresh shell that shares nothing with the session, as the agent or `user="root"`."""

    def kill_agent_processes(self) -> int:
        """SIGKILL every process the agent's commands started, until none is left; how many were killed."""

    def seal(self, root: str, entries: list[tuple[str, str]]) -> dict:
        """Hand paths under `root` to root so the agent's uid cannot change them (grading, before tests run):
        (relative path, "tree" | "file" | "sticky" | "placeholder"); {"changed": n, "skipped": [...]}."""

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes: ...

    def write_file(self, path: str, data: bytes | str, mode: int | None = None) -> None: ...

    def upload(self, local: str | Path, remote: str) -> None: ...

    def download(self, remote: str, local: str | Path) -> Path: ...

    def diff(self, path: str | None = None) -> str:
        """The working tree's changes against HEAD as a git diff, untracked files included."""

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc: object) -> None:
        """Close it."""


__all__ = [
    "AgentCausedError",
    "CommandResult",
    "EngineUnavailableError",
    "ImageMissingError",
    "OutOfDiskError",
    "OutOfMemoryError",
    "ProcessLimitError",
    "Sandbox",
    "SandboxClosedError",
    "SandboxConfig",
    "SandboxDiedError",
    "SandboxError",
    "SandboxLimitError",
    "SetupError",
    "WorkspaceFullError",
]
