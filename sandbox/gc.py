"""Reaping what crashed owners left behind: containers whose creating process is gone."""

from __future__ import annotations

import docker
import docker.errors
from swefarm.sandbox.labels import KIND, OWNER_HOST, OWNER_PID, OWNER_START, owner_alive


def orphaned_containers(client: docker.DockerClient, everything: bool = False) -> list:
    """swefarm containers whose owner process is dead (or all of them with everything=True)."""
    # another process (its own close, another gc) may remove one between the listing and its inspection
    found = client.containers.list(all=True, filters={"label": KIND}, ignore_removed=True)
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


def reap_owner(client: docker.DockerClient, host: str, pid: int, pid_start: str,
               owner_ending: bool = False) -> tuple[int, int]:  # fmt: skip
    """Force-remove the containers one dead owner (its host name, pid and start time) left on this engine.

    Returns (removed, waiting): `waiting` counts those whose owner still runs (a process can outlive
    its parent's death by a moment) and those the engine would not remove yet: ask again later.
    `owner_ending`: the owner itself asks, as it ends (its containers go although it still runs)."""
    labels = [KIND, f"{OWNER_PID}={pid}", f"{OWNER_HOST}={host}"]
    found = client.containers.list(all=True, filters={"label": labels}, ignore_removed=True)
    removed = waiting = 0
    for container in found:
        if container.labels.get(OWNER_START) != pid_start:
            continue  # the pid was reused: another owner's
        if not owner_ending and owner_alive(container.labels):
            waiting += 1
            continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            removed += 1
        except docker.errors.APIError:  # a removal already in progress, or the engine refused for now
            waiting += 1
    return removed, waiting
