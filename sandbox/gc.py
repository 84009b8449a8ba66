"""Reaping what crashed owners left behind: containers whose creating process is gone."""

from __future__ import annotations

import docker
import docker.errors
from swefarm.sandbox.labels import KIND, owner_alive


def orphaned_containers(client: docker.DockerClient, everything: bool = False) -> list:
    """swefarm containers whose owner process is dead (or all of them with everything=True)."""
    found = client.containers.list(all=True, filters={"label": KIND})
    return [c for c in found if everything or not owner_alive(c.labels)]


def collect(client: docker.DockerClient, everything: bool = False) -> list[str]:
    """Force-remove orphaned swefarm containers; returns the short ids removed."""
    removed = []
    for container in orphaned_containers(client, everything):
        try:
            container.remove(force=True)
            removed.append(container.short_id)
        except docker.errors.NotFound:
            removed.append(container.short_id)
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise
    return removed
