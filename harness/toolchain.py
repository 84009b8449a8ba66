"""The C toolchain layer: a base image plus a compiler and common headers (`swefarm/toolchain:py3.X`).

Environments of projects that compile C (extension modules, Cython, cffi...) start from it instead
of the bare base, so the toolchain is installed once per base, not once per environment; `swefarm
setup` makes it ahead of time where that is cheap (apt answers). Safe to call from several threads
and processes at once: one builds, the others wait for it.
"""

from __future__ import annotations

import fcntl
import tempfile
from pathlib import Path

import docker
import docker.errors
from swefarm.harness.install_script import TOOLCHAIN
from swefarm.sandbox.bases import BaseSpec, ensure_base, image_exists
from swefarm.sandbox.errors import SetupError
from swefarm.sandbox.labels import IMAGE_LABELS

from swefarm.settings import swefarm_home

#: Debian's Python has its headers in python3-dev; the registry's python:3.X-slim has them already.
TOOLCHAIN_RUN = (
    "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
    f"{TOOLCHAIN} $([ -x /usr/local/bin/python3 ] || echo python3-dev) && rm -rf /var/lib/apt/lists/*"
)


def toolchain_tag(spec: BaseSpec) -> str:
    """`swefarm/toolchain:py3.X` for the base `swefarm/base:py3.X`."""
    return spec.tag.replace("swefarm/base:", "swefarm/toolchain:", 1)


def ensure_toolchain(client: docker.DockerClient, spec: BaseSpec, log=print) -> str:
    """Make sure the toolchain image of `spec` exists (and its base); returns how it was obtained."""
    tag = toolchain_tag(spec)
    if image_exists(client, tag):
        return "cached"
    ensure_base(client, spec, log=log)
    lock_dir = swefarm_home() / "cache" / "bases"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"toolchain-{spec.python}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(client, tag):
            return "cached"
        log(f"building {tag}: a C compiler and headers on {spec.tag} (once; about a minute)")
        with tempfile.TemporaryDirectory(prefix="swefarm-toolchain-") as ctx:
            Path(ctx, "Dockerfile").write_text(f"FROM {spec.tag}\nRUN {TOOLCHAIN_RUN}\n")
            labels = dict(IMAGE_LABELS, **{"swefarm.role": "toolchain", "swefarm.python": spec.python})
            try:
                client.images.build(path=ctx, tag=tag, labels=labels, rm=True, forcerm=True, network_mode="host")
            except (docker.errors.BuildError, docker.errors.APIError) as exc:
                raise SetupError(f"cannot build {tag} (apt-get install of a C toolchain): {exc}") from None
    return "built"
