"""The local backend (no isolation, fast tests only): chosen only by name, its workspace and processes its own
to remove, and the provider registry. The Sandbox methods themselves run on both backends (`any_sandbox`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from swefarm.sandbox.errors import ImageMissingError, SandboxDiedError, SandboxError
from swefarm.sandbox.fork import ForkError
from swefarm.sandbox.local_backend import LocalSandbox
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.pool import SandboxPool
from swefarm.sandbox.provider import PROVIDERS, as_provider, make_provider


def gone(*pids: int, wait_s: float = 5.0) -> bool:
    """Whether every pid has ended (a SIGKILL takes effect within moments)."""
    deadline = time.monotonic() + wait_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not any(alive(pid) for pid in pids)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def image(tmp_path):
    root = tmp_path / "image"
    (root / "opt/repo/pkg").mkdir(parents=True)
    (root / "opt/repo/pkg/mod.py").write_text("VALUE = 1\n")
    return root


def test_it_refuses_to_start_unless_chosen_by_name(image):
    with pytest.raises(SandboxError, match="isolates nothing"):
        LocalSandbox("img", image)
    assert as_provider(make_provider("local", images={"img": image})).name == "local"
    with pytest.raises(ValueError, match="unknown sandbox provider 'lokal'; choose one of docker, local"):
        make_provider("lokal")
    assert set(PROVIDERS) == {"docker", "local"}


def test_the_workspace_is_seeded_from_the_image_directory_and_removed_at_close(image):
    provider = make_provider("local", images={"img": image})
    with pytest.raises(ImageMissingError, match="no local image other"):
        provider.start("other")
    sb = provider.start("img", SandboxConfig(seed_workspace_from="/opt/repo", env={"MARK": "from-config"}))
    workdir = Path(sb.config.workdir)
    assert sb.run("cat pkg/mod.py; echo $MARK").output == "VALUE = 1\nfrom-config\n"
    sb.write_file("pkg/mod.py", "VALUE = 2\n")
    assert (image / "opt/repo/pkg/mod.py").read_text() == "VALUE = 1\n"  # the image is never written
    with pytest.raises(ForkError, match="Docker"):
        sb.fork(1)
    sb.close()
    sb.close()
    assert not workdir.exists()


def test_kill_agent_processes_and_close_end_what_the_commands_started(image):
    sb = make_provider("local", images={"img": image}).start("img")
    try:
        started = "sleep 300 & setsid sleep 301 & (setsid sh -c 'sleep 302 & echo $! > daemon.pid' &); sleep 0.3"
        assert sb.run(started).ok
        pid = int(sb.read_file("daemon.pid"))  # forked twice, in its own session: adopted by the server
        assert alive(pid)
        assert sb.kill_agent_processes() >= 2
        assert gone(pid)
        assert sb.run("echo fresh shell").output == "fresh shell\n"
        assert sb.run("setsid sh -c 'sleep 303 & echo $! > late.pid' & sleep 0.3").ok
        pid = int(sb.read_file("late.pid"))
        server = sb._channel.proc.pid
    finally:
        sb.close()
    assert gone(pid, server)


def test_a_pool_on_the_local_provider(image):
    provider = make_provider("local", images={"img": image})
    with SandboxPool("img", size=2, provider=provider) as pool:
        pool.wait_ready(timeout=30)
        a, b = pool.acquire(), pool.acquire()
        try:
            assert a.config.workdir != b.config.workdir
            assert a.run("echo $$").output != b.run("echo $$").output  # two servers, two shells
        finally:
            a.close()
            b.close()


def test_a_dead_server_is_the_infrastructures_failure_and_close_still_ends_its_commands(image):
    with make_provider("local", images={"img": image}).start("img") as sb:
        assert sb.run("sleep 304 & echo $! > orphan.pid").ok
        pid = int(sb.read_file("orphan.pid"))
        os.kill(sb._channel.proc.pid, 9)
        with pytest.raises(SandboxDiedError, match="died"):
            sb.run("echo never")
        assert alive(pid)  # the shell's child outlived the server
    assert gone(pid)
