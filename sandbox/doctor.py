"""Health checks behind `swefarm doctor`: engine, compose, base images, disk, limits."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from swefarm.sandbox import registry
from swefarm.sandbox.bases import BASES, image_exists, makeable_pythons
from swefarm.sandbox.engine import compose_available, connect
from swefarm.sandbox.errors import EngineUnavailableError

from swefarm.settings import current, swefarm_home


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def run_checks() -> list[Check]:
    checks: list[Check] = []
    try:
        client = connect(timeout=5)
        info = client.info()
        checks.append(
            Check(
                "docker engine",
                True,
                f"{info.get('ServerVersion')} at {current().docker_host or 'unix:///var/run/docker.sock'}, "
                f"storage {info.get('Driver')}, {info.get('NCPU')} CPUs, {info.get('MemTotal', 0) / 1024**3:.1f} GiB",
            )
        )
    except EngineUnavailableError as exc:
        client, info = None, {}
        checks.append(Check("docker engine", False, str(exc)))
    checks.append(
        Check(
            "docker compose",
            compose_available(),
            "v2 plugin found" if compose_available() else "missing: run `swefarm setup`",
        )
    )
    for spec in (BASES[v] for v in makeable_pythons()):
        present = client is not None and image_exists(client, spec.tag)
        checks.append(
            Check(
                f"base {spec.tag}",
                present,
                "present" if present else f"missing: `swefarm setup --python {spec.python}`",
            )
        )
    for label, path in (
        ("disk (swefarm home)", str(swefarm_home())),
        ("disk (docker data)", info.get("DockerRootDir", "/var/lib/docker")),
    ):
        if os.path.exists(path):
            usage = shutil.disk_usage(path)
            free_gb = usage.free / 1024**3
            checks.append(
                Check(label, free_gb >= 5, f"{free_gb:.1f} GiB free of {usage.total / 1024**3:.0f} GiB at {path}")
            )
    checks.append(Check("sandbox cap", True, f"{registry.cap()} live sandboxes per process (SWEFARM_MAX_SANDBOXES)"))
    if client is not None:
        warnings = [w for w in info.get("Warnings") or [] if "limit" in w.lower()]
        checks.append(
            Check(
                "cgroup limits",
                not warnings,
                "memory, CPU and pids limits supported" if not warnings else "; ".join(warnings),
            )
        )
    return checks
