"""Where sandboxes come from: the `SandboxProvider` seam, and the providers chosen by name.

A provider starts sandboxes of an image (and says whether it has the image); pools, the env,
grading and validation ask it instead of building a backend's sandbox themselves. Providers
implement the protocol without inheriting from it, one per backend file:

    docker   sandbox/docker_backend.py (`DockerProvider`): sealed containers; the default, and the
             only one that isolates anything
    local    sandbox/local_backend.py (`LocalProvider`): the same command server as a subprocess on
             this machine, for fast tests only; NO isolation, so it is used only when named

    provider = make_provider("docker")            # or make_provider("local", root=...), explicitly
    with provider.start(image, config) as sb: ...
    provider = as_provider(client)                # what functions that used to take a Docker client take
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from swefarm.sandbox import Sandbox
from swefarm.sandbox.models import SandboxConfig

#: provider name -> "module:class"; only these names are accepted.
PROVIDERS = {
    "docker": "swefarm.sandbox.docker_backend:DockerProvider",
    "local": "swefarm.sandbox.local_backend:LocalProvider",
}
DEFAULT = "docker"


@runtime_checkable
class SandboxProvider(Protocol):
    """What makes sandboxes: started from an image with a config; pools are built on `start`."""

    name: str

    def start(self, image: str, config: SandboxConfig | None = None) -> Sandbox:
        """A started sandbox of `image` (the caller closes it)."""

    def image_exists(self, image: str) -> bool:
        """Whether `image` is here to start sandboxes from."""

    def image_id(self, image: str) -> str:
        """What identifies the image's content (a changed image gets a new one); the name when unknown."""


def check_name(name: str) -> str:
    """`name` if it is a provider's, else ValueError naming the known ones."""
    if name not in PROVIDERS:
        raise ValueError(f"unknown sandbox provider {name!r}; choose one of {', '.join(PROVIDERS)}")
    return name


def make_provider(name: str = DEFAULT, **options: Any) -> SandboxProvider:
    """The provider called `name`, made with `options` (docker: `client`; local: `images`, `root`)."""
    module, _, cls = PROVIDERS[check_name(name)].partition(":")
    return getattr(import_module(module), cls)(**options)


def as_provider(client: Any = None) -> SandboxProvider:
    """A provider from what callers hand over: a provider as it is, a Docker client (or None: connect) as Docker's."""
    if isinstance(client, SandboxProvider):
        return client
    return make_provider("docker", client=client)
