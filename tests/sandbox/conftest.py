"""`any_sandbox`: one test of the Sandbox protocol on each backend that it applies to.

The Docker backend's run marked `docker`; the local backend's (the same command server as a
subprocess, no isolation: sandbox/local_backend.py) runs in the fast suite.
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "local"])
def any_sandbox(request, tmp_path):
    """A fresh sandbox with the default configuration, of each backend in turn; closed after the test."""
    if request.param == "docker":
        yield request.getfixturevalue("sandbox")
        return
    from swefarm.sandbox.provider import make_provider

    image = tmp_path / "local-image"
    image.mkdir()
    with make_provider("local", images={"local-test": image}).start("local-test") as sb:
        yield sb
