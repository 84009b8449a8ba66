"""`docker compose up` on this machine with nothing exported: the API and a worker from the farm image, a
session created, stepped and submitted with curl, an evaluation of the default model on the CPU, then
`docker compose ps/logs/down` from fresh shells with no sandbox left."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from api_helpers import sandboxes_of, wait_for
from swefarm.api.client import SwefarmClient

# e2e: the farm image's build (minutes on 2 cores when its layers are not cached), `up`, curl, the default
# model on the CPU and `down`; 40 minutes covers a cold build on a loaded machine.
pytestmark = [pytest.mark.docker, pytest.mark.farm, pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(2400)]

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


def curl(port: int, token: str, method: str, path: str, body: dict | None = None) -> dict:
    """What an operator types: curl with the bearer token, a JSON body; the answer as JSON."""
    args = ["curl", "-sS", "--fail-with-body", "-X", method, f"http://127.0.0.1:{port}{path}",
            "-H", f"Authorization: Bearer {token}"]  # fmt: skip
    if body is not None:
        args += ["-H", "content-type: application/json", "--data-binary", json.dumps(body)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"curl {method} {path}: {done.stdout} {done.stderr}"
    return json.loads(done.stdout)


def test_compose_honours_exported_settings():
    """Exported variables (or a .env file) win over the defaults."""
    env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "SWEFARM_HOME": "/srv/farm",
           "SWEFARM_API_TOKENS": "an-operator-token-0123456789"}  # fmt: skip
    done = subprocess.run(["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    api = json.loads(done.stdout)["services"]["api"]
    assert api["environment"]["SWEFARM_HOME"] == "/srv/farm"
    assert api["environment"]["SWEFARM_API_TOKENS"] == "an-operator-token-0123456789"
    assert api["environment"]["SWEFARM_DATABASE_URL"] == "sqlite:////srv/farm/api.db"
    assert {(v["source"], v["target"]) for v in api["volumes"]} >= {("/srv/farm", "/srv/farm")}


def test_compose_up_with_nothing_exported_serves_curl_and_the_default_model_then_down_leaves_nothing(
    farm_image, docker_client, valid_calc_task, tmp_path
):
    """The operator's first hour: no variable exported (isolation only through a .env file in the project
    directory), `up -d --wait` healthy, a token generated into ~/.swefarm/api-token and the log says where,
    a session created, stepped and submitted with curl resolved, an evaluation of the default model (the
    transformers backend on the CPU, in the farm image), then ps/logs/down from fresh shells, with no
    sandbox left behind."""
    from swefarm.policy.models import default_model_dir
    from swefarm.tasks.store import TaskStore

    user_home = tmp_path / "operator"
    home = user_home / ".swefarm"  # the default SWEFARM_HOME of an operator whose $HOME is user_home
    TaskStore(home / "tasks.db").put(valid_calc_task)
    # what `make demo` left in ~/.swefarm: the default model, converted once by `swefarm setup` (linked, not copied)
    model = default_model_dir(log=lambda m: None)
    shutil.copytree(model, home / "models" / model.name, copy_function=os.link)
    project = tmp_path / "project"
    project.mkdir()
    port = free_port()
    name = f"swefarm-test-{os.getpid()}"
    (project / ".env").write_text(
        f"COMPOSE_PROJECT_NAME={name}\nSWEFARM_PORT={port}\nSWEFARM_WORKERS=1\nSWEFARM_FARM_IMAGE={farm_image}\n"
    )
    shell = {"PATH": os.environ["PATH"], "HOME": str(user_home)}  # a new login shell: nothing exported
    if os.environ.get("DOCKER_HOST"):
        shell["DOCKER_HOST"] = os.environ["DOCKER_HOST"]

    def compose_(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "--project-directory", str(project), *args],
            env=shell, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    up = compose_("up", "-d", "--wait", "--no-build")
    pids: list[int] = []
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        token_file = home / "api-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32
        logs = compose_("logs", "api")
        assert logs.returncode == 0 and str(token_file) in logs.stdout + logs.stderr  # the log says where
        assert token not in logs.stdout + logs.stderr  # and never the token itself

        ps = compose_("ps", "--format", "json")
        assert ps.returncode == 0, ps.stderr
        services = {json.loads(line)["Service"] for line in ps.stdout.splitlines() if line.strip()}
        assert services == {"api", "worker"}

        with SwefarmClient(f"http://127.0.0.1:{port}", token) as client:
            wait_for(lambda: client.health()["workers_alive"] >= 1, what="a worker to register")
            pids = [w.pid for w in client.workers() if w.status == "alive"]
        with pytest.raises(Exception, match="invalid bearer token"):
            SwefarmClient(f"http://127.0.0.1:{port}", "wrong-token-0000000000").tasks()

        started = curl(port, token, "POST", "/v1/sessions", {"task_id": TASK})
        session = started["session"]["id"]
        assert "calc" in started["observation"] or started["observation"]
        apply = f"cd /testbed && git apply - <<'SWEFARM_EOF'\n{valid_calc_task.patch}\nSWEFARM_EOF"
        stepped = curl(port, token, "POST", f"/v1/sessions/{session}/step",
                       {"action": {"name": "bash", "arguments": {"command": apply}}})  # fmt: skip
        assert not stepped["terminated"] and "error" not in stepped["observation"].lower(), stepped["observation"]
        submitted = curl(port, token, "POST", f"/v1/sessions/{session}/step",
                         {"action": {"name": "submit", "arguments": {}}})  # fmt: skip
        assert submitted["terminated"] and submitted["reward"] == 1.0, submitted
        curl(port, token, "DELETE", f"/v1/sessions/{session}")

        # the default model, right after `up`: the image carries torch (CPU) and the packaged model
        with SwefarmClient(f"http://127.0.0.1:{port}", token) as client:
            job = client.evaluate(
                "transformers", tasks=[TASK], config={"max_steps": 1}, policy_options={"max_new_tokens": 32}
            )
            job = client.wait(job.id, timeout=1800, poll_s=2)  # one short episode; minutes on a loaded machine
            results = client.results(job.id)
        assert job.status == "done", (job.status, job.error)
        assert results and all(r.status == "done" and r.infra_error is None for r in results), results
        assert all(r.reward is not None for r in results)
    finally:
        down = compose_("down", "--timeout", "90")
    assert down.returncode == 0, down.stdout + down.stderr
    assert pids, "no worker registered"
    left = sandboxes_of(docker_client, pids)
    for container in left:
        container.remove(force=True)
    assert not left, f"compose down left sandboxes: {[c.short_id for c in left]}"
    assert not docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={name}"})
