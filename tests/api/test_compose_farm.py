"""`docker compose up` on this machine: the API and a worker from the farm image, a session stepped to a
resolved oracle episode over REST, a small evaluation job, then `docker compose down` with no sandbox left."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from api_helpers import sandboxes_of, wait_for
from swefarm.api.client import SwefarmClient
from swefarm.policy.episode import play
from swefarm.policy.scripted import OraclePolicy

pytestmark = [pytest.mark.docker, pytest.mark.farm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TASK = "fixture__calc-2"


@pytest.fixture(scope="module")
def farm_image(docker_client):
    from swefarm.api.server.image import build_image
    from swefarm.sandbox.engine import ensure_compose

    ensure_compose(log=lambda m: None)  # CI's machine may lack the plugin: `swefarm setup` installs it the same way
    return build_image(docker_client)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def compose(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_compose_up_serves_sessions_and_evaluations_and_down_leaves_nothing(
    farm_image, docker_client, valid_calc_task, tmp_path
):
    from swefarm.tasks.store import TaskStore

    home = tmp_path / "farm-home"
    TaskStore(home / "tasks.db").put(valid_calc_task)
    token = "compose-test-token-" + os.urandom(8).hex()
    port = free_port()
    env = {
        "COMPOSE_PROJECT_NAME": f"swefarm-test-{os.getpid()}",
        "SWEFARM_HOME": str(home), "SWEFARM_API_TOKENS": token, "SWEFARM_PORT": str(port),
        "SWEFARM_WORKERS": "1", "SWEFARM_WORKER_EVAL_SLOTS": "1", "SWEFARM_ALLOWED_POLICIES": "oracle,empty",
        "SWEFARM_FARM_IMAGE": farm_image,
    }  # fmt: skip
    missing = compose({k: v for k, v in env.items() if k != "SWEFARM_API_TOKENS"}, "config", "--quiet")
    assert missing.returncode != 0 and "SWEFARM_API_TOKENS" in missing.stderr  # a required setting, said so
    up = compose(env, "up", "-d", "--wait", "--no-build")
    pids: list[int] = []
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        with SwefarmClient(f"http://127.0.0.1:{port}", token) as client:
            wait_for(lambda: client.health()["workers_alive"] >= 1, what="a worker to register")
            pids = [w.pid for w in client.workers() if w.status == "alive"]
            env_ = client.make_env(TASK)
            env_.reset()
            assert sandboxes_of(docker_client, pids)  # the session's sandbox, on the host's engine, labelled
            episode = play(env_, OraclePolicy(valid_calc_task.patch))  # a new episode in the same session
            env_.close()
            assert episode.terminated and episode.reward == 1.0
            job = client.wait(client.evaluate("oracle", tasks=[TASK], repeats=2).id, timeout=600, poll_s=0.5)
            assert job.status == "done" and job.summary.score == 1.0 and job.done == 2
            with pytest.raises(Exception, match="invalid bearer token"):
                SwefarmClient(f"http://127.0.0.1:{port}", "wrong-token-0000000000").tasks()
    finally:
        down = compose(env, "down", "--timeout", "90")
    assert down.returncode == 0, down.stdout + down.stderr
    assert pids, "no worker registered"
    left = sandboxes_of(docker_client, pids)
    for container in left:
        container.remove(force=True)
    assert not left, f"compose down left sandboxes: {[c.short_id for c in left]}"
    project = docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={env['COMPOSE_PROJECT_NAME']}"}
    )
    assert not project
