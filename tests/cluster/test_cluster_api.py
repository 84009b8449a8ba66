"""`swefarm serve --ray ADDRESS` on a real 3-node cluster: REST sessions and an evaluation job placed on
the nodes' sandbox hosts; a node killed mid-job has its episodes re-run, its session ends with
`infra_error`, nothing is lost from the database and no container is left."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest
from cluster_helpers import assert_loopback, leaked

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def wait_for(predicate, timeout: float = 180.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return value


def _play_oracle(env, task):
    from swefarm.policy.scripted import OraclePolicy

    observation, info = env.reset(seed=0)
    policy = OraclePolicy(task.patch)
    policy.begin(observation, info)
    terminated = truncated = False
    while not (terminated or truncated):
        observation, reward, terminated, truncated, info = env.step(policy.act(observation, info))
    return reward, info


@pytest.mark.timeout(900)  # a farm on 3 nodes, 12 episodes, a node's loss and the re-runs
def test_serve_on_ray_sessions_and_evaluations_survive_a_node_kill(ray_cluster, calc_store, valid_calc_task,
                                                                   docker_client, tmp_path):  # fmt: skip
    from swefarm.api.local import LocalFarm

    task_id = valid_calc_task.instance_id
    settings = dict(ray_host_slots=2, pool_size=1, monitor_interval_s=0.5, allowed_policies=["oracle", "empty"])
    farm = LocalFarm(tmp_path / "farm", workers=0, task_store=str(calc_store), ray_address=ray_cluster.address,
                     **settings)  # fmt: skip
    farm.start()
    hosts: list[dict] = []
    try:
        client = farm.client()
        wait_for(lambda: client.health()["workers_alive"] == 3, what="a sandbox host on each of the 3 nodes")
        listing = client.workers()
        hosts = [{"pid": w.pid} for w in listing]
        victim, victim_pid = next((w.id, w.pid) for w in listing if w.host.endswith(ray_cluster.node_id(1)[:12]))

        env = client.make_env(task_id)  # a whole episode over REST, played on a node
        reward, info = _play_oracle(env, valid_calc_task)
        assert reward == 1.0 and info["grade"]["resolved"] and "tests" not in info["grade"]
        env.close()
        assert_loopback()

        opened = [client.start_session(task_id) for _ in range(3)]  # least-loaded placement: one per host
        by_host = {s.session.worker_id: s.session.id for s in opened}
        assert set(by_host) == {w.id for w in listing}, by_host

        job = client.evaluate("oracle", tasks=[task_id], repeats=12)
        db = sqlite3.connect(tmp_path / "farm" / "api.db")

        def victim_busy() -> bool:
            done_there = db.execute(
                "SELECT count(*) FROM eval_items WHERE evaluation_id=? AND worker_id=?", (job.id, victim)
            ).fetchone()[0]
            running = db.execute(
                "SELECT count(*) FROM eval_items WHERE evaluation_id=? AND status='running'", (job.id,)
            ).fetchone()[0]
            return done_there >= 1 and running >= 3

        wait_for(victim_busy, timeout=400, what="episodes done on node 1 and more in flight")
        ray_cluster.kill_node(1)
        wait_for(lambda: not os.path.exists(f"/proc/{victim_pid}/stat"), what="the killed node's host to exit")
        # The next step answers the loss as an infra error, whether the step finds it or the monitor's
        # sweep (every 0.5 s here) failed the session first.
        step = client.step(by_host[victim], {"name": "bash", "arguments": {"command": "ls"}})
        assert step.truncated and not step.terminated and "lost mid-episode" in step.info["infra_error"]
        lost_session = client.session(by_host[victim])
        assert lost_session.status == "failed", (lost_session.status, lost_session.error)
        finished = client.wait(job.id, timeout=280)
        assert finished.status == "done", finished.events
        assert finished.summary.scored == 12 and finished.summary.score == 1.0 and finished.summary.infra_errors == 0
        assert any("re-run elsewhere" in e for e in finished.events), finished.events
        rows = db.execute(
            "SELECT status, worker_id, attempts FROM eval_items WHERE evaluation_id=?", (job.id,)
        ).fetchall()
        assert len(rows) == 12 and all(status == "done" for status, _, _ in rows)  # nothing lost from the database
        assert any(attempts == 2 and worker != victim for _, worker, attempts in rows)
        assert {w.id: w.status for w in client.workers()}[victim] == "dead"
        for session_id in by_host.values():
            client.close_session(session_id)
        client.close()
    finally:
        farm.stop()
    # The farm's stop waits for the lost host's containers to be removed (through a live host) and each
    # live host removes its own as it ends: nothing is left by the time the server has exited.
    assert farm.proc is not None and farm.proc.returncode != -signal.SIGKILL, "the farm did not stop on SIGTERM"
    assert leaked(docker_client, hosts) == [], farm.log_tail()
