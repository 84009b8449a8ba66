"""`swefarm run --ray ADDRESS` from the command line, on a real 3-node cluster on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import _descendants, assert_loopback, leaked

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
        seen |= _descendants(os.getpid())
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-3000:]
    trajectories = list(read_jsonl(out / "trajectories.jsonl"))
    assert len(trajectories) == 6 and all(t.resolved for t in trajectories), [t.error for t in trajectories]
    assert "6 episodes" in stderr
    assert_loopback()
    assert leaked(docker_client, [{"pid": pid} for pid in seen]) == []
