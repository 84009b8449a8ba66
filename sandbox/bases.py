"""Base images: OS + Python + git + a non-root user.

Pulled as the official `python:3.X-slim` when a registry answers quickly,
otherwise built from scratch with debootstrap from the Debian mirror apt uses.
Nothing that exists is rebuilt; rootfs tarballs are cached under
$SWEFARM_HOME/cache/bases so a lost image re-imports in seconds.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from swefarm.sandbox.engine import apt_install
from swefarm.sandbox.errors import SetupError
from swefarm.sandbox.labels import IMAGE_LABELS

from swefarm.settings import swefarm_home

SANDBOX_UID = 1000
SANDBOX_USER = "swefarm"


Version = tuple[int, int]


@dataclass(frozen=True)
class BaseSpec:
    python: str  # "3.11"
    release: str | None  # the Debian release that ships this Python (debootstrap), None: registry only

    @property
    def tag(self) -> str:
        return f"swefarm/base:py{self.python}"

    @property
    def pull_ref(self) -> str:
        return f"python:{self.python}-slim"

    @property
    def version(self) -> Version:
        major, minor = self.python.split(".")
        return int(major), int(minor)


#: Every Python a base can be made for: the single list of bases (recipes choose among these).
#: Debian releases give 3.9 (bullseye), 3.11 (bookworm) and 3.13 (trixie) through debootstrap
#: anywhere apt's mirror answers; the others come only from a registry (`python:3.X-slim`).
DEBIAN_RELEASES = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
BASES = {f"3.{minor}": BaseSpec(f"3.{minor}", DEBIAN_RELEASES.get(f"3.{minor}")) for minor in range(6, 15)}
DEFAULT_PYTHON = "3.11"


@functools.cache
def makeable_pythons() -> tuple[str, ...]:
    """The Pythons whose base this machine can make: the Debian ones, and every one when a registry answers.

    Asked once per process (the registry probe takes up to 2 s when nothing answers).
    """
    if registry_answers():
        return tuple(BASES)
    return tuple(v for v, spec in BASES.items() if spec.release)


def makeable_versions() -> tuple[Version, ...]:
    """`makeable_pythons()` as (major, minor) tuples, oldest first."""
    return tuple(sorted(BASES[v].version for v in makeable_pythons()))


def choose_base(best: Version, bases: tuple[Version, ...], allows=None) -> Version:
    """The base for a project whose best Python is `best`: the newest base not above it that the
    project allows (`allows(version) -> bool`), else the oldest allowed one above it, else the nearest
    (on a tie the older: a newer Python may not run old code)."""
    ok = [b for b in bases if allows is None or allows(b)]
    if below := [b for b in ok if b <= best]:
        return max(below)
    if above := [b for b in ok if b > best]:
        return min(above)
    return min(bases, key=lambda b: (abs(b[1] - best[1]), b))


def base_for(python: str, bases: tuple[Version, ...] | None = None) -> BaseSpec:
    """The base for a Python version: itself where it can be made here, else by `choose_base`."""
    try:
        major, minor = (int(x) for x in python.split(".")[:2])
    except ValueError:
        raise SetupError(f"not a Python version: {python!r} (expected e.g. 3.11)") from None
    if major != 3:
        raise SetupError(f"no base image for Python {python}: swefarm has {', '.join(BASES)}")
    bases = bases if bases is not None else makeable_versions()
    if (major, minor) in bases:
        return BASES[f"{major}.{minor}"]
    chosen = choose_base((major, minor), bases)
    return BASES[f"{chosen[0]}.{chosen[1]}"]


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def registry_answers(host: str = "registry-1.docker.io", timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_base(client: docker.DockerClient, spec: BaseSpec, log=print) -> str:
    """Make sure `spec.tag` exists; returns how it was obtained. Safe to call from several
    threads and processes at once: one builds, the others wait for it."""
    if image_exists(client, spec.tag):
        return "cached"
    with open(cache_dir() / f"{spec.release or spec.python}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(client, spec.tag):
            return "cached"
        return _obtain(client, spec, log)


def _obtain(client: docker.DockerClient, spec: BaseSpec, log) -> str:
    tarball = cache_dir() / f"{spec.release or spec.python}.tar"
    if tarball.exists():
        log(f"importing cached rootfs {tarball}")
        _import(client, tarball, spec)
        return "imported from cache"
    if registry_answers() and _try_pull(client, spec, log):
        return "pulled"
    if spec.release is None:
        raise SetupError(
            f"cannot make {spec.tag}: no registry answers and Debian ships no Python {spec.python} "
            f"(debootstrap gives {', '.join(v for v, b in BASES.items() if b.release)})"
        )
    _build_with_debootstrap(client, spec, tarball, log)
    return "built"


def cache_dir() -> Path:
    """Where base rootfs tarballs and build locks are kept."""
    path = swefarm_home() / "cache" / "bases"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _try_pull(client: docker.DockerClient, spec: BaseSpec, log) -> bool:
    log(f"pulling {spec.pull_ref}")
    try:
        client.images.pull(spec.pull_ref)
    except docker.errors.APIError as exc:
        log(f"pull failed ({exc}); building from scratch instead")
        return False
    dockerfile = (
        f"FROM {spec.pull_ref}\n"
        "RUN apt-get update -q && apt-get install -y -q --no-install-recommends git "
        "&& rm -rf /var/lib/apt/lists/*\n"
        f"RUN useradd -m -u {SANDBOX_UID} -s /bin/bash {SANDBOX_USER}\n"
    )
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "Dockerfile").write_text(dockerfile)
        client.images.build(path=ctx, tag=spec.tag, labels=dict(IMAGE_LABELS, **{"swefarm.role": "base"}), rm=True)
    return True


def apt_mirror() -> str:
    """The Debian mirror apt already uses (deb822 or one-line sources)."""
    for path in _source_files():
        if not path.exists():
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"^\s*(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M):
            uri = match.group(1)
            if "security" not in uri and "debian" in uri:
                return uri
    return "http://deb.debian.org/debian"


def _source_files() -> list[Path]:
    files = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
    files += sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    return files + sorted(Path("/etc/apt/sources.list.d").glob("*.list"))


def _build_with_debootstrap(client: docker.DockerClient, spec: BaseSpec, tarball: Path, log) -> None:
    assert spec.release is not None, "only bases with a Debian release are built with debootstrap"
    hint = f"Run `sudo swefarm setup`, or `docker pull {spec.pull_ref}` where a registry is reachable."
    labels = {"swefarm.python": spec.python}
    build_rootfs(spec.tag, spec.release, ["python3", "python3-venv", "git", "ca-certificates"], tarball, log, hint)
    import_rootfs(client, tarball, spec.tag, labels)


def build_rootfs(tag: str, release: str, packages: list[str], tarball: Path, log, hint: str = "", customise=None):
    """A Debian `release` rootfs (debootstrap minbase with `packages`, the sandbox user, slimmed) as `tarball`.

    `customise(root)` runs on the tree before it is packed (a base's own additions). Root only."""
    if os.geteuid() != 0:
        raise SetupError(f"cannot build {tag}: no registry answers and debootstrap needs root. {hint}".strip())
    free = shutil.disk_usage(str(cache_dir())).free
    if free < 2 * 1024**3:
        raise SetupError(f"cannot build {tag}: only {free // 1024**2} MiB free; free 2 GiB and retry.")
    apt_install("debootstrap", log=log)
    mirror = apt_mirror()
    log(f"building {tag} with debootstrap ({release} from {mirror}); about a minute")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="swefarm-rootfs-") as root:
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", release, root, mirror]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SetupError(f"debootstrap {release} failed:\n{(done.stdout + done.stderr)[-2000:]}")
        subprocess.run(
            ["chroot", root, "useradd", "-m", "-u", str(SANDBOX_UID), "-s", "/bin/bash", SANDBOX_USER],
            check=True,
            capture_output=True,
        )
        if customise is not None:
            customise(Path(root))
        _slim(Path(root))
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", root, "-cf", str(partial), "."], check=True)
        partial.rename(tarball)
    log(f"built the rootfs of {tag} in {time.monotonic() - start:.0f}s")


def _slim(root: Path) -> None:
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        path = root / rel
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)


def _import(client: docker.DockerClient, tarball: Path, spec: BaseSpec) -> None:
    import_rootfs(client, tarball, spec.tag, {"swefarm.python": spec.python})


def import_rootfs(client: docker.DockerClient, tarball: Path, tag: str, labels: dict[str, str]) -> None:
    """Import a rootfs tarball as the base image `tag`, labelled as swefarm's (`labels` added)."""
    labels = dict(IMAGE_LABELS, **{"swefarm.role": "base"}, **labels)
    changes = [f'LABEL {k}="{v}"' for k, v in labels.items()]
    changes += ['ENV PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"', 'CMD ["bash"]']
    repository, _, name = tag.rpartition(":")
    with open(tarball, "rb") as data:
        client.api.import_image_from_data(data, repository=repository, tag=name, changes=changes)
