"""Docker failures become swefarm exceptions whose messages say what to do."""

from __future__ import annotations

import pytest
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.engine import connect
from swefarm.sandbox.errors import EngineUnavailableError, ImageMissingError
from swefarm.sandbox.models import SandboxConfig

pytestmark = pytest.mark.docker


def test_missing_image_is_image_missing_error(docker_client):
    with pytest.raises(ImageMissingError, match="swefarm setup"):
        DockerSandbox(docker_client, "swefarm/does-not-exist:never")


def test_engine_down_is_engine_unavailable_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailableError, match="swefarm setup"):
        connect()


def test_memory_hog_is_killed_inside_the_limit_and_the_server_lives(docker_client, base_image):
    config = SandboxConfig(memory="128m", tmp_size="64m", workspace_size="64m")
    with DockerSandbox(docker_client, base_image, config) as sb:
        res = sb.run("python3 -c 'x = bytearray(512 * 1024 * 1024); print(len(x))'", timeout=60)
        assert res.exit_code in (137, 1), res  # OOM-killed (or MemoryError)
        assert "536870912" not in res.output
        assert sb.run("echo alive").output == "alive\n"
        assert sb.restarts == 0  # the kernel chose the hog, not the command server


def test_image_that_cannot_host_a_sandbox_says_what_it_needs(docker_client):
    client = docker_client
    busybox_like = "swefarm/test-nopython:latest"
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("etc/placeholder")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
    buf.seek(0)
    client.api.import_image_from_data(buf.getvalue(), repository="swefarm/test-nopython", tag="latest")
    try:
        with pytest.raises(Exception, match="needs coreutils and python3"):
            DockerSandbox(client, busybox_like)
    finally:
        client.images.remove(busybox_like, force=True)
