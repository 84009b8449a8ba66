"""swefarm's sandbox exceptions.

Foreign errors (Docker SDK, OS) are converted at the boundary into these, each
with a message a user can act on. Each inherits the builtin it resembles.

Two families, so callers can tell whose failure it is:
- `AgentCausedError`: the sandbox is fine, but what the agent's commands or code
  did stops the request (its processes fill the process limit, memory runs out,
  a tmpfs is full). Grade such a failure as the agent's, never as infrastructure.
- every other `SandboxError`: the engine, the image or swefarm failed
  (`infra_error`: never scored).
File operations also raise the builtin OSError subclasses (FileNotFoundError,
PermissionError, IsADirectoryError, ...) for what the sandbox's file system
says; those describe the sandbox's files, not the engine.
"""

from __future__ import annotations

from swefarm.errors import InfrastructureError


class SandboxError(InfrastructureError, RuntimeError):
    """Base class for every sandbox failure."""


class EngineUnavailableError(SandboxError, ConnectionError):
    """No Docker engine answers."""


class ImageMissingError(SandboxError, LookupError):
    """The requested image is not present locally."""


class OutOfDiskError(SandboxError, OSError):
    """The engine or the host ran out of disk."""


class AgentCausedError(SandboxError):
    """What the agent's commands or code did stops the request; the sandbox and the engine are fine."""


class ProcessLimitError(AgentCausedError, BlockingIOError):
    """No process can start: the agent's processes hold the sandbox's whole process limit."""


class OutOfMemoryError(AgentCausedError, MemoryError):
    """The sandbox ran out of memory (its processes and its tmpfs files), and the kernel killed processes."""


class WorkspaceFullError(AgentCausedError, OSError):
    """A tmpfs inside the sandbox (the workspace, /tmp) is full or out of inodes."""


class SandboxDiedError(SandboxError):
    """The container stopped while it was in use."""


class SandboxLimitError(SandboxError):
    """The per-process cap on live sandboxes was reached."""


class SandboxClosedError(SandboxError):
    """The sandbox was used after close()."""


class SetupError(SandboxError):
    """Setup cannot proceed; the message says what the user must do."""


def convert_docker_error(exc: Exception, action: str) -> SandboxError:
    """Turn a docker SDK / requests exception into a swefarm exception."""
    import docker.errors
    import requests.exceptions

    text = str(exc)
    low = text.lower()
    if isinstance(exc, docker.errors.ImageNotFound) or "no such image" in low:
        return ImageMissingError(
            f"{action}: image not found ({text}). Run `swefarm setup` to build the base "
            "images, or build/pull the image first."
        )
    if "no space left on device" in low:
        return OutOfDiskError(
            f"{action}: no space left on device. Free disk with `swefarm gc` and "
            "`docker system prune`, or move Docker's data-root to a larger disk."
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)) or (
        isinstance(exc, docker.errors.DockerException) and "connection" in low
    ):
        return EngineUnavailableError(
            f"{action}: the Docker engine does not answer ({text}). Run `swefarm setup` "
            "to start one, or set DOCKER_HOST."
        )
    return SandboxError(f"{action}: {text}")
