"""`swefarm run --ray ADDRESS` from the command line, on a real 3-node cluster on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cluster_helpers import assert_loopback, descendants, leaked

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_swefarm_run_plays_its_episodes_on_the_cluster(ray_cluster, calc_store, valid_calc_task, docker_client,
                                                       tmp_path):  # fmt: skip
    from swefarm.policy.trajectory import read_jsonl

    out = tmp_path / "run"
    command = [str(Path(sys.executable).with_name("swefarm")), "run", valid_calc_task.instance_id, "--policy", "oracle",
               "--episodes", "6", "--concurrency", "1", "--store", str(calc_store), "--out", str(out),
               "--no-parquet", "--ray", ray_cluster.address]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()  # every process of the cluster while the run lasts: its hosts among them
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        seen |= descendants(os.getpid())
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-3000:]
    trajectories = list(read_jsonl(out / "trajectories.jsonl"))
    assert len(trajectories) == 6 and all(t.resolved for t in trajectories), [t.error for t in trajectories]
    assert "6 episodes" in stderr
    assert_loopback()
    assert leaked(docker_client, [{"pid": pid} for pid in seen]) == []


def test_bench_ray_prints_the_issues_figures(calc_store, valid_calc_task, tmp_path):
    import json
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(calc_store, home / "tasks.db")
    command = [str(Path(sys.executable).with_name("swefarm")), "bench", "ray", "--nodes", "2", "--episodes", "4",
               "--task", valid_calc_task.instance_id, "--json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=480,
                          env={**os.environ, "SWEFARM_HOME": str(home)})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)  # stdout is the JSON alone
    assert list(figures)[:10] == ["nodes", "nodes_used", "episodes", "episodes_ok", "episodes_per_min",
                                  "single_node_episodes_per_min", "node_kill_recovered", "leaked_containers",
                                  "schedule_overhead_ms_p50", "remote_step_p50_ms"]  # fmt: skip
    assert figures["nodes"] == figures["nodes_used"] == 2 and figures["episodes_ok"] == figures["episodes"] == 4
    assert figures["node_kill_recovered"] is True and figures["leaked_containers"] == 0
    assert figures["episodes_per_min"] > 0 and figures["remote_step_p50_ms"] > 0
    assert figures["image_transfer"] and all(t["moved_mb"] > 1 for t in figures["image_transfer"])
