"""The farm's Docker image: built from this checkout (or the installed package) on the base image.

The build context holds the project's sources, `deploy/farm.Dockerfile` and, as
`deploy/farm-ca.crt`, the host's CA bundle: behind a TLS-inspecting proxy pip in the build must
trust what the host trusts (`SWEFARM_CA_BUNDLE` names another bundle; `none` adds none).
The tag carries a hash of the context, so an unchanged checkout is never rebuilt.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker

from swefarm.settings import current

ROOT = Path(__file__).resolve().parents[2]  # api/server/image.py -> the checkout
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
REPOSITORY = "swefarm/farm"


def _package_folders() -> list[str]:
    """The folders pyproject.toml installs as swefarm.<folder> (and `swefarm` itself)."""
    import tomllib

    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return sorted(set(mapping.values()))


def _context(target: Path) -> None:
    for name in _package_folders():
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    (target / "deploy").mkdir()
    for name in ("farm.Dockerfile", "farm-requirements.txt"):
        shutil.copy2(ROOT / "deploy" / name, target / "deploy" / name)
    bundle = current().ca_bundle
    if bundle != "none" and Path(bundle).is_file():
        shutil.copy2(bundle, target / "deploy" / "farm-ca.crt")


def _digest(context: Path, base: str) -> str:
    h = hashlib.sha256(base.encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def build_image(
    client: docker.DockerClient, base: str = "swefarm/base:py3.11", log: Callable[[str], None] = lambda m: None
) -> str:
    """Build (or find) the farm image for this checkout; returns its tag, also tagged `swefarm/farm:latest`."""
    from swefarm.sandbox.bases import image_exists

    if not (ROOT / "pyproject.toml").exists():
        raise FarmBuildError(f"no swefarm checkout at {ROOT} to build the farm image from")
    with tempfile.TemporaryDirectory(prefix="swefarm-farm-") as tmp:
        context = Path(tmp)
        _context(context)
        tag = f"{REPOSITORY}:{_digest(context, base)}"
        if image_exists(client, tag):
            log(f"{tag} (cached)")
        else:
            log(f"building {tag} on {base}")
            _build(client, context, tag, base)
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


def _build(client: docker.DockerClient, context: Path, tag: str, base: str) -> None:
    from swefarm.sandbox.labels import IMAGE_LABELS

    log: list[str] = []
    try:
        stream = client.api.build(
            path=str(context), dockerfile="deploy/farm.Dockerfile", tag=tag, rm=True, forcerm=True, decode=True,
            labels=IMAGE_LABELS, network_mode="host", buildargs={"BASE_IMAGE": base},
        )  # fmt: skip
        for chunk in stream:
            log.append(chunk.get("stream", ""))
            if "error" in chunk:
                raise FarmBuildError(f"building {tag} failed: {chunk['error'].strip()}\n{''.join(log)[-3000:]}")
    except docker.errors.APIError as exc:
        raise FarmBuildError(f"building {tag} failed: {exc}\n{''.join(log)[-3000:]}") from None
