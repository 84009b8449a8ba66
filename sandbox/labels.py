"""Labels on every container and image swefarm creates, so a reaper can find them."""

from __future__ import annotations

import os
import socket
import time

PREFIX = "swefarm"
KIND = f"{PREFIX}.kind"
OWNER_PID = f"{PREFIX}.owner_pid"
OWNER_START = f"{PREFIX}.owner_start"
OWNER_HOST = f"{PREFIX}.owner_host"
CREATED = f"{PREFIX}.created"

IMAGE_LABELS = {f"{PREFIX}.managed": "true"}


def process_start_time(pid: int) -> str | None:
    """Start time of a process in clock ticks since boot (guards against pid reuse)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_labels(kind: str = "sandbox") -> dict[str, str]:
    pid = os.getpid()
    return {
        KIND: kind,
        OWNER_PID: str(pid),
        OWNER_START: process_start_time(pid) or "",
        OWNER_HOST: socket.gethostname(),
        CREATED: f"{time.time():.3f}",
    }


def owner_alive(labels: dict[str, str]) -> bool:
    """Whether the process that created a container still runs (on this host)."""
    if labels.get(OWNER_HOST) != socket.gethostname():
        return True  # not ours to judge
    try:
        pid = int(labels.get(OWNER_PID, ""))
    except ValueError:
        return False
    start = process_start_time(pid)
    return start is not None and start == labels.get(OWNER_START)
