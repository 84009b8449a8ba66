"""swefarm's sandbox exceptions.

Foreign errors (Docker SDK, OS) are converted at the boundary into these, each
with a message a user can act on. Each inherits the builtin it resembles.
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


class OutOfMemoryError(SandboxError, MemoryError):
    """The container was killed for exceeding its memory limit."""


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
