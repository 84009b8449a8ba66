"""`docker compose --profile ray up`: a Ray head and two Ray worker containers (each with the host's
engine socket) make a local multi-node cluster on 127.0.0.1; episodes run in sandboxes their hosts
start; `docker compose down` leaves no container. The project has a name of its own (never `swefarm`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cluster_helpers import check_socket, descendants, leaked, tcp_sockets

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
REPORT = "swefarm-report: "  # the driver's report line, among whatever else Ray prints

DRIVER = """
import json, sys, time
REPORT = "swefarm-report: "
from swefarm.cluster.connect import addresses, alive_nodes, connect
from swefarm.cluster.rollout import run
from swefarm.cluster.scheduler import Scheduler
from swefarm.policy.rollout import RolloutPlan

connect(sys.argv[1])
deadline = time.monotonic() + 240
while len(alive_nodes()) < 3 and time.monotonic() < deadline:  # the workers' raylets take a while to join
    time.sleep(0.5)
with Scheduler(slots_per_host=1, pool_size=0) as scheduler:
    hosts = [h.info for h in scheduler.live_hosts()]
    plan = RolloutPlan(tasks=[sys.argv[2]], episodes=3, store=sys.argv[3], env_config={"pool_size": 0})
    pairs = run(plan, "oracle", {}, scheduler)
print(REPORT + json.dumps({"addresses": addresses(), "hosts": hosts,
                  "episodes": [{"resolved": t.resolved, "node": d.node_id, "error": t.error} for t, d in pairs]}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compose(env: dict, project: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", "-p", project, "--profile", "ray", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def _container_pids(docker_client, project: str) -> set[int]:
    """Every process of the project's containers (`docker top`: exec'd ones too), host pids."""
    pids = set()
    for container in docker_client.containers.list(filters={"label": f"com.docker.compose.project={project}"}):
        top = container.top()
        column = top["Titles"].index("PID")
        for row in top["Processes"]:
            pids |= {int(row[column])} | descendants(int(row[column]))
    return pids


# a cold farm image (its dependencies, Ray among them) takes about 8 minutes to build on a 2-core machine
@pytest.mark.timeout(1200)
def test_the_compose_ray_profile_is_a_local_multi_node_cluster(docker_client, calc_store, valid_calc_task, tmp_path):
    from swefarm.api.server.image import build_image

    tag = build_image(docker_client)
    port = _free_port()
    project = f"sfray-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SWEFARM_HOME": str(tmp_path), "SWEFARM_API_TOKENS": uuid.uuid4().hex,
           "SWEFARM_FARM_IMAGE": tag, "SWEFARM_RAY_PORT": str(port), "SWEFARM_RAY_CPUS": "1",
           "SWEFARM_RAY_STORE_BYTES": str(100 * 2**20), "SWEFARM_RAY_STORE_MB": "100"}  # fmt: skip
    seen: set[int] = set()
    try:
        up = _compose(env, project, "up", "-d", "--wait", "ray-head", "ray-worker")
        assert up.returncode == 0, up.stderr[-3000:]
        # Ray wants the driver on the cluster's exact Python: it runs in the head's container (as the API would)
        store = tmp_path / "tasks.db"
        shutil.copy(calc_store, store)
        head = docker_client.containers.list(filters={"label": [f"com.docker.compose.project={project}",
                                                                "com.docker.compose.service=ray-head"]})[0]  # fmt: skip
        command = ["docker", "exec", head.id, "python3", "-c", DRIVER, f"127.0.0.1:{port}",
                   valid_calc_task.instance_id, str(store)]  # fmt: skip
        driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sockets_checked = 0
        deadline = time.monotonic() + 420  # a loaded machine: the nodes join, then three episodes
        while driver.poll() is None and time.monotonic() < deadline:
            seen |= _container_pids(docker_client, project)
            for local, peer, pid in tcp_sockets(seen):
                check_socket(local, peer, f"pid {pid} of {project}")
                sockets_checked += 1
            time.sleep(0.5)
        stdout, stderr = driver.communicate(timeout=60)
        assert driver.returncode == 0, stderr[-3000:]
        # Ray may print its own lines (a raylet's stack at exit) on the driver's stdout, after the report too
        reports = [line.removeprefix(REPORT) for line in stdout.splitlines() if line.startswith(REPORT)]
        assert reports, stdout[-3000:] + stderr[-3000:]
        report = json.loads(reports[-1])
        assert report["addresses"]["loopback"] and len(report["addresses"]["nodes"]) == 3, report["addresses"]
        assert len(report["hosts"]) == 3 and sockets_checked > 0, stderr[-4000:]
        assert all(e["resolved"] for e in report["episodes"]), report["episodes"]
        assert len({e["node"] for e in report["episodes"]}) == 3  # one episode per node: spread
    finally:
        down = _compose(env, project, "down", "--timeout", "30")
    assert down.returncode == 0, down.stderr[-2000:]
    left = docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    assert left == []
    assert leaked(docker_client, [{"pid": pid} for pid in seen]) == []
