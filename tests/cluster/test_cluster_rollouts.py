"""Rollouts on a real 3-node Ray cluster (head + 2 workers on 127.0.0.1): spread, locality, node loss."""

from __future__ import annotations

import threading
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


@pytest.mark.timeout(900)  # 32 episodes, a node's loss and the re-runs, on a slow loaded machine too
def test_a_node_killed_mid_run_has_its_episodes_rerun(ray_cluster, calc_store, valid_calc_task, docker_client):
    from swefarm.cluster.rollout import run
    from swefarm.cluster.scheduler import Scheduler

    scheduler = Scheduler(slots_per_host=2, pool_size=1)
    victim = ray_cluster.node_id(1)
    hosts = [h.info for h in scheduler.live_hosts()]
    results: list = []

    def victim_busy() -> bool:  # it has finished some episodes, holds others, and more wait for a slot
        host = scheduler.hosts.get(victim)
        return host is not None and host.placed - host.running >= 2 and host.running >= 1 and scheduler.waiting() > 0

    runner = threading.Thread(
        target=lambda: results.extend(run(_plan(calc_store, valid_calc_task.instance_id, 32), "oracle", {}, scheduler))
    )
    try:
        runner.start()
        # The scheduler's own condition, checked at every placement and end of a job: no polling.
        assert scheduler.wait_until(victim_busy, timeout=600), "node 1 never had work in flight"
        ray_cluster.kill_node(1)
        runner.join(timeout=600)
        assert not runner.is_alive(), "the run did not finish after the node was killed"
        assert scheduler.lost and scheduler.lost[0].node_id == victim
        assert victim not in scheduler.hosts
    finally:
        scheduler.close()  # waits for the lost host's containers to be reaped through a live host
        runner.join(timeout=60)
    assert len(results) == 32
    assert [t.resolved for t, _ in results] == [True] * 32, [t.error or t.infra_error for t, _ in results]
    rerun = [done for _, done in results if done.lost]
    assert rerun, "no episode was re-run after its node died"
    assert all(done.node_id != victim and done.attempts == 2 for done in rerun)
    assert all("lost" in done.lost[0] for done in rerun)
    assert leaked(docker_client, hosts) == []
