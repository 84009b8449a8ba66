"""`gymnasium.make(..., backend="ray")` on a real cluster: the episode runs on a node; a killed host
gives `infra_error` and leaves no container; images move between nodes through the object store."""

from __future__ import annotations

import os
import signal
import time
import uuid

import gymnasium
import pytest
from cluster_helpers import assert_loopback, leaked

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _oracle_actions(env, task, observation, info):
    from swefarm.policy.scripted import OraclePolicy

    policy = OraclePolicy(task.patch)
    policy.begin(observation, info)
    return policy


def test_a_ray_env_plays_on_a_node_and_a_killed_host_is_an_infra_error(ray_cluster, valid_calc_task, docker_client):
    from swefarm.cluster.remote_env import close_shared, shared_scheduler

    env = gymnasium.make("swe/Task-v0", task=valid_calc_task, backend="ray", ray_address=ray_cluster.address,
                         pool_size=1)  # fmt: skip
    scheduler = shared_scheduler(ray_cluster.address)
    try:
        observation, info = env.reset(seed=0)
        assert "Fix the issue" in observation and info["node_id"] in {h.node_id for h in scheduler.live_hosts()}
        policy = _oracle_actions(env, valid_calc_task, observation, info)
        terminated = truncated = False
        while not (terminated or truncated):
            observation, reward, terminated, truncated, info = env.step(policy.act(observation, info))
            assert info["timing"]["remote_step_s"] >= info["timing"]["host_step_s"] > 0
        assert terminated and reward == 1.0 and info["grade"]["resolved"]
        assert_loopback()

        observation, info = env.reset(seed=1)
        host = scheduler.hosts[info["node_id"]]
        owner = dict(host.info)
        os.kill(owner["pid"], signal.SIGKILL)  # the host actor dies mid-episode (its node lives on)
        observation, reward, terminated, truncated, info = env.step({"name": "bash", "arguments": {"command": "ls"}})
        assert truncated and not terminated and reward == 0.0
        assert "lost" in info["infra_error"]
        assert scheduler.wait_until(lambda: host.reaped is not None, timeout=240) and host.reaped
        assert leaked(docker_client, [owner]) == []  # its sandbox and its warm pool: reaped by their labels

        observation, info = env.reset(seed=2)  # a new session on a live host
        assert info["host"] != host.id
        hosts = [h.info for h in scheduler.live_hosts()]
    finally:
        env.close()
        close_shared()
    assert leaked(docker_client, hosts) == []


def test_a_ray_sampler_draws_what_a_local_one_draws_and_plays_each_task_on_a_node(ray_cluster, valid_calc_task,
                                                                                  build_variant, docker_client,
                                                                                  tmp_path):  # fmt: skip
    from swefarm.cluster.remote_env import close_shared, shared_scheduler
    from swefarm.envs.pools import wait_closed
    from swefarm.harness.pipeline import validate_task
    from swefarm.tasks.store import TaskStore

    other, outcome = build_variant("fixture__calc-3")  # a second task, on an image of its own
    assert outcome.ok, other.status_reason
    other, outcome = validate_task(docker_client, other, runs=1)
    assert outcome.ok
    store = tmp_path / "tasks.db"
    TaskStore(store).put_many([valid_calc_task, other])
    tasks = {t.instance_id: t for t in (valid_calc_task, other)}

    local = gymnasium.make("swe/Sampler-v0", dataset=str(store), seed=3, client=docker_client, pool_size=0)
    expected = [local.reset()[1]["task"]["instance_id"] for _ in range(5)]
    local.close()
    wait_closed()
    assert set(expected) == set(tasks), expected  # both drawn: the sessions change task between episodes

    env = gymnasium.make("swe/Sampler-v0", backend="ray", dataset=str(store), seed=3, ray_address=ray_cluster.address,
                         pool_size=0)  # fmt: skip
    scheduler = shared_scheduler(ray_cluster.address)
    try:
        drawn = []
        for _ in range(5):
            observation, info = env.reset()
            drawn.append(info["task"]["instance_id"])
            assert info["node_id"] in {h.node_id for h in scheduler.live_hosts()}
        assert drawn == expected
        task = tasks[drawn[-1]]
        policy = _oracle_actions(env, task, observation, info)
        terminated = truncated = False
        while not (terminated or truncated):
            observation, reward, terminated, truncated, info = env.step(policy.act(observation, info))
        assert terminated and reward == 1.0 and info["grade"]["resolved"]
        assert scheduler.free_slots() == len(scheduler.live_hosts()) * scheduler.slots - 1  # one session, no leak
        assert_loopback()
        hosts = [h.info for h in scheduler.live_hosts()]
    finally:
        env.close()
        close_shared()
    assert leaked(docker_client, hosts) == []


def test_an_image_moves_between_nodes_through_the_object_store(ray_cluster, docker_client, base_image, tmp_path):
    import io

    import ray
    from swefarm.cluster.scheduler import Scheduler
    from swefarm.sandbox.labels import IMAGE_LABELS

    tag = f"swefarm/test-ray-transfer:{uuid.uuid4().hex[:10]}"
    marker = uuid.uuid4().hex
    dockerfile = f"FROM {base_image}\nRUN echo {marker} > /marker\n".encode()
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, labels=IMAGE_LABELS, rm=True)
    scheduler = Scheduler(slots_per_host=1, pool_size=0)
    try:
        source, destination = sorted(scheduler.live_hosts(), key=lambda h: h.node_id == ray_cluster.node_id(0))[:2]
        assert source.node_id != destination.node_id
        bundle = ray.get(source.actor.export_image.remote(tag))
        assert bundle["bytes"] > 1_000_000 and len(bundle["chunks"]) >= 1
        docker_client.images.remove(tag, force=True)  # gone from the (shared) engine: only the object store has it
        assert not ray.get(destination.actor.has_image.remote(tag))
        moved = ray.get(destination.actor.import_image.remote(bundle))
        assert moved["bytes"] == bundle["bytes"]
        assert docker_client.images.get(tag).id == image.id
        out = docker_client.containers.run(tag, ["cat", "/marker"], remove=True, network_mode="none")
        assert out.decode().strip() == marker
    finally:
        scheduler.close()
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:
            pass


def test_a_host_starting_where_one_died_removes_what_it_left(ray_cluster, docker_client, base_image):
    """A node whose engine comes back: the new host's start removes containers of dead owners (labels)."""
    import socket

    from swefarm.cluster.hosts import Host
    from swefarm.cluster.scheduler import Scheduler
    from swefarm.sandbox.labels import CREATED, KIND, OWNER_HOST, OWNER_PID, OWNER_START

    def orphan(pid: int):
        labels = {KIND: "sandbox", OWNER_PID: str(pid), OWNER_START: "1", OWNER_HOST: socket.gethostname(),
                  CREATED: f"{time.time():.3f}"}  # fmt: skip
        return docker_client.containers.create(base_image, ["sleep", "60"], labels=labels, network_mode="none")

    dead = [{"pid": 2**22 - 7, "pid_start": "1", "hostname": socket.gethostname()},  # no such processes
            {"pid": 2**22 - 9, "pid_start": "1", "hostname": socket.gethostname()}]  # fmt: skip
    made = [orphan(dead[0]["pid"])]
    scheduler = Scheduler(slots_per_host=1, pool_size=0)
    try:
        # Gone at start-up (on a shared engine another process's `swefarm gc` may win that race: either way, gone).
        assert leaked(docker_client, [dead[0]]) == []
        made.append(orphan(dead[1]["pid"]))  # and what a lost host left, handed to reap() by its identity
        lost = Host(actor=None, info={"actor_id": "x" * 12, "node_id": "n" * 8, **dead[1]}, slots=1, images=set())
        assert scheduler.reap(lost) == 1
        assert leaked(docker_client, dead) == []
    finally:
        scheduler.close()
        for container in made:
            try:
                container.remove(force=True)
            except Exception:
                pass
