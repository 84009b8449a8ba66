"""The farm's Docker image: built from this checkout (or the installed package) on the base image.

The build context holds the project's sources, `deploy/farm.Dockerfile` and, as
`deploy/farm-ca.crt`, the host's CA bundle: behind a TLS-inspecting proxy pip in the build must
trust what the host trusts (`SWEFARM_CA_BUNDLE` names another bundle; `none` adds none).
The image carries the model stack (`torch` "cpu" by default, "cuda" or "none"): for "cpu", a CPU torch wheel
of the pinned version that the host's pip finds offline (its `find-links` directories) goes into the context as
`deploy/wheels/`, so a machine without PyTorch's own index still builds it.
The tag carries a hash of the context, so an unchanged checkout is never rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker

from swefarm.settings import current

ROOT = Path(__file__).resolve().parents[2]  # api/server/image.py -> the checkout
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
REPOSITORY = "swefarm/farm"
TORCH_BUILDS = ("cpu", "cuda", "none")


def torch_version() -> str:
    """The torch version the image pins (the Dockerfile's TORCH_VERSION argument)."""
    text = (ROOT / "deploy" / "farm.Dockerfile").read_text()
    found = re.search(r"^ARG TORCH_VERSION=(\S+)", text, re.M)
    if not found:
        raise FarmBuildError("deploy/farm.Dockerfile declares no TORCH_VERSION argument")
    return found.group(1)


def _find_links() -> list[Path]:
    """The local directories the host's pip takes wheels from (PIP_FIND_LINKS, then pip's configuration)."""
    values = os.environ.get("PIP_FIND_LINKS", "").split()
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith("find-links"):
            values += value.strip().strip("'\"").split()
    return [Path(v.removeprefix("file://")) for v in values if v and "://" not in v.removeprefix("file://")]


def local_torch_wheel(version: str, python: str = "cp311") -> Path | None:
    """A CPU torch wheel of `version` for the image's Python that the host's pip has on disk, if any."""
    for directory in _find_links():
        for wheel in sorted(directory.glob(f"torch-{version}+cpu-{python}-{python}-*x86_64.whl")):
            return wheel
    return None


def _package_folders() -> list[str]:
    """The folders pyproject.toml installs as swefarm.<folder> (and `swefarm` itself)."""
    import tomllib

    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return sorted(set(mapping.values()))


def _context(target: Path, torch: str = "none", python: str = "cp311") -> None:
    for name in _package_folders():
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    (target / "deploy").mkdir()
    for name in ("farm.Dockerfile", "farm-requirements.txt", "policy-requirements.txt"):
        shutil.copy2(ROOT / "deploy" / name, target / "deploy" / name)
    wheel = local_torch_wheel(torch_version(), python) if torch == "cpu" else None
    if wheel is not None:
        (target / "deploy" / "wheels").mkdir()
        try:
            os.link(wheel, target / "deploy" / "wheels" / wheel.name)  # no copy of 200 MB where a link does
        except OSError:
            shutil.copy2(wheel, target / "deploy" / "wheels" / wheel.name)
    bundle = current().ca_bundle
    if bundle != "none" and Path(bundle).is_file():
        shutil.copy2(bundle, target / "deploy" / "farm-ca.crt")


def _digest(context: Path, base: str, torch: str) -> str:
    h = hashlib.sha256(f"{base}\0{torch}".encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(context)).encode() + b"\0")
        if path.suffix == ".whl":  # a wheel is known by its name (and size): no need to hash 200 MB
            h.update(str(path.stat().st_size).encode())
        else:
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def build_image(
    client: docker.DockerClient,
    base: str = "swefarm/base:py3.11",
    log: Callable[[str], None] = lambda m: None,
    torch: str = "cpu",
) -> str:
    """Build (or find) the farm image for this checkout; returns its tag, also tagged `swefarm/farm:latest`.

    `torch`: "cpu" (the default: the farm runs the default model on any machine), "cuda" or "none"."""
    from swefarm.sandbox.bases import image_exists

    if torch not in TORCH_BUILDS:
        raise FarmBuildError(f"the farm image's torch is one of {', '.join(TORCH_BUILDS)}, not {torch!r}")
    if not (ROOT / "pyproject.toml").exists():
        raise FarmBuildError(f"no swefarm checkout at {ROOT} to build the farm image from")
    python = "cp" + "".join(base.rsplit(":py", 1)[-1].split(".")[:2]) if ":py" in base else "cp311"
    with tempfile.TemporaryDirectory(prefix="swefarm-farm-") as tmp:
        context = Path(tmp)
        _context(context, torch, python)
        tag = f"{REPOSITORY}:{_digest(context, base, torch)}"
        if image_exists(client, tag):
            log(f"{tag} (cached)")
        else:
            wheels = sorted(p.name for p in (context / "deploy" / "wheels").glob("*.whl"))
            log(f"building {tag} on {base} (torch: {torch}{'; from ' + ', '.join(wheels) if wheels else ''})")
            _build(client, context, tag, base, torch)
            _prune(client, keep=tag)
    client.images.get(tag).tag(REPOSITORY, "latest")
    return tag


def _prune(client: docker.DockerClient, keep: str) -> None:
    """Remove the farm images of earlier checkouts (their layers below the sources are shared); skip those in use."""
    for image in client.images.list(name=REPOSITORY):
        if keep in image.tags:
            continue
        for old in image.tags:
            if old != f"{REPOSITORY}:latest":
                try:
                    client.images.remove(old)
                except docker.errors.APIError:
                    pass  # a container still runs it


class FarmBuildError(RuntimeError):
    """The farm image did not build; the message ends with the build log's tail."""


def _build(client: docker.DockerClient, context: Path, tag: str, base: str, torch: str) -> None:
    from swefarm.sandbox.labels import IMAGE_LABELS

    log: list[str] = []
    try:
        stream = client.api.build(
            path=str(context), dockerfile="deploy/farm.Dockerfile", tag=tag, rm=True, forcerm=True, decode=True,
            labels=IMAGE_LABELS, network_mode="host", buildargs={"BASE_IMAGE": base, "TORCH": torch},
        )  # fmt: skip
        for chunk in stream:
            log.append(chunk.get("stream", ""))
            if "error" in chunk:
                raise FarmBuildError(f"building {tag} failed: {chunk['error'].strip()}\n{''.join(log)[-3000:]}")
    except docker.errors.APIError as exc:
        raise FarmBuildError(f"building {tag} failed: {exc}\n{''.join(log)[-3000:]}") from None
