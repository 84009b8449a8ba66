"""Rollouts on a real 3-node Ray cluster (head + 2 workers on 127.0.0.1): spread, locality, node loss."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from cluster_helpers import assert_loopback, leaked

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _plan(store, task_id: str, episodes: int):
    from swefarm.policy.rollout import RolloutPlan

    return RolloutPlan(tasks=[task_id], episodes=episodes, concurrency=1, store=store, env_config={"pool_size": 1})


def test_32_episodes_spread_over_every_node_on_loopback(ray_cluster, calc_store, valid_calc_task, docker_client,
                                                         tmp_path):  # fmt: skip
    from swefarm.cluster.rollout import run
    from swefarm.cluster.scheduler import Scheduler
    from swefarm.policy.trajectory import read_jsonl

    scheduler = Scheduler(slots_per_host=2, pool_size=1)
    try:
        assert len(scheduler.live_hosts()) == 3
        assert_loopback()
        out = tmp_path / "t.jsonl"
        results = run(_plan(calc_store, valid_calc_task.instance_id, 32), "oracle", {}, scheduler, out=out)
        assert_loopback()  # and still, with 32 episodes' worth of traffic behind it
        hosts = [h.info for h in scheduler.live_hosts()]
    finally:
        scheduler.close()
    assert len(results) == 32
    assert [t.resolved for t, _ in results] == [True] * 32, [t.error or t.infra_error for t, _ in results]
    nodes = Counter(done.node_id for _, done in results)
    assert len(nodes) == 3 and {ray_cluster.node_id(0), ray_cluster.node_id(1)} <= set(nodes), nodes
    assert min(nodes.values()) >= 4, f"the episodes were not spread: {nodes}"
    assert len(list(read_jsonl(out))) == 32
    assert all(done.overhead_s >= 0 for _, done in results)
    assert leaked(docker_client, hosts) == []


def test_a_node_killed_mid_run_has_its_episodes_rerun(ray_cluster, calc_store, valid_calc_task, docker_client):
    from swefarm.cluster.rollout import run
    from swefarm.cluster.scheduler import Scheduler

    scheduler = Scheduler(slots_per_host=2, pool_size=1)
    victim = ray_cluster.node_id(1)
    hosts = [h.info for h in scheduler.live_hosts()]
    results: list = []
    finished = Counter()

    def count(trajectory, done) -> None:
        finished[done.node_id if done else None] += 1

    runner = threading.Thread(
        target=lambda: results.extend(
            run(_plan(calc_store, valid_calc_task.instance_id, 32), "oracle", {}, scheduler, on_done=count)
        )
    )
    try:
        runner.start()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # kill it once it has finished some and holds others
            host = scheduler.hosts.get(victim)
            if finished[victim] >= 2 and host is not None and host.running >= 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"node 1 never had work in flight: {finished}")
        ray_cluster.kill_node(1)
        runner.join(timeout=280)
        assert not runner.is_alive(), "the run did not finish after the node was killed"
        assert scheduler.lost and scheduler.lost[0].node_id == victim
        assert victim not in scheduler.hosts
    finally:
        scheduler.close()
    assert len(results) == 32
    assert [t.resolved for t, _ in results] == [True] * 32, [t.error or t.infra_error for t, _ in results]
    rerun = [done for _, done in results if done.lost]
    assert rerun, "no episode was re-run after its node died"
    assert all(done.node_id != victim and done.attempts == 2 for done in rerun)
    assert all("lost" in done.lost[0] for done in rerun)
    deadline = time.monotonic() + 60
    while leaked(docker_client, hosts) and time.monotonic() < deadline:
        time.sleep(0.5)  # the lost host's containers are reaped in the background
    assert leaked(docker_client, hosts) == []
