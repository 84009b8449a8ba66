"""Lifecycle on the real engine: the warm pool, the per-process cap, and cleanup after owners that die."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import docker.errors
import pytest
from swefarm.sandbox import gc, labels, registry
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.errors import SandboxLimitError
from swefarm.sandbox.pool import SandboxPool

pytestmark = pytest.mark.docker

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def exists(client, container_id: str) -> bool:
    try:
        client.containers.get(container_id)
        return True
    except docker.errors.NotFound:
        return False


def my_containers(client) -> set[str]:
    """ids of swefarm containers this test process owns."""
    found = client.containers.list(all=True, filters={"label": [labels.KIND, f"{labels.OWNER_PID}={os.getpid()}"]})
    return {c.id for c in found}


# -- pool --------------------------------------------------------------------------------------
def test_pool_hands_out_working_sandboxes_and_refills(docker_client, base_image):
    before = my_containers(docker_client)
    pool = SandboxPool(base_image, size=2, client=docker_client)
    acquired = []
    try:
        assert wait_for(lambda: pool.ready == 2, timeout=30), f"pool filled only {pool.ready}/2: {pool.last_error}"
        start = time.monotonic()
        sb = pool.acquire()
        took = time.monotonic() - start
        acquired.append(sb)
        assert took < 0.5, f"acquire from a warm pool took {took:.2f}s"
        assert sb.run("echo from-pool").output == "from-pool\n"
        assert wait_for(lambda: pool.ready == 2, timeout=30), "the pool did not refill to 2"
        # the pool's sandboxes are distinct containers
        second = pool.acquire()
        acquired.append(second)
        assert second.container.id != sb.container.id
        assert wait_for(lambda: pool.ready == 2, timeout=30), "the pool did not refill to 2"
        assert len(my_containers(docker_client) - before) == 4  # 2 handed out + 2 ready
        pool.close()
        assert pool.ready == 0
        # close() removed the idle ones; the handed-out ones are the caller's and still work
        assert my_containers(docker_client) - before == {s.container.id for s in acquired}
        assert acquired[0].run("echo still-mine").ok
    finally:
        pool.close()
        for sb in acquired:
            sb.close()
    assert my_containers(docker_client) == before
    with pytest.raises(Exception, match="closed"):
        pool.acquire()


def test_pool_of_size_zero_starts_on_demand(docker_client, base_image):
    with SandboxPool(base_image, size=0, client=docker_client) as pool:
        with pool.acquire() as sb:
            assert sb.run("echo on-demand").output == "on-demand\n"
        assert pool.ready == 0


def test_pool_reports_a_broken_image_instead_of_hanging(docker_client):
    with SandboxPool("swefarm/does-not-exist:never", size=1, client=docker_client) as pool:
        assert wait_for(lambda: pool.last_error is not None, timeout=20)
        start = time.monotonic()
        with pytest.raises(Exception, match="image not found"):
            pool.acquire(timeout=5)
        assert time.monotonic() - start < 10


# -- cap -----------------------------------------------------------------------------------------
@pytest.fixture
def restore_cap():
    old = registry.cap()
    yield
    registry.set_cap(old)


def test_cap_refuses_more_sandboxes_and_closing_frees_a_slot(docker_client, base_image, restore_cap):
    registry.set_cap(registry.live_count() + 2)
    first = DockerSandbox(docker_client, base_image)
    second = DockerSandbox(docker_client, base_image)
    try:
        before = my_containers(docker_client)
        with pytest.raises(SandboxLimitError, match="cap"):
            DockerSandbox(docker_client, base_image)
        assert my_containers(docker_client) == before  # the refused one never reached the engine
        first.close()
        third = DockerSandbox(docker_client, base_image)
        try:
            assert third.run("echo third").output == "third\n"
        finally:
            third.close()
    finally:
        first.close()
        second.close()


def test_failed_start_gives_its_slot_back(docker_client, restore_cap):
    registry.set_cap(registry.live_count() + 1)
    for _ in range(3):
        with pytest.raises(Exception, match="image not found"):
            DockerSandbox(docker_client, "swefarm/does-not-exist:never")
    assert registry.live_count() < registry.cap()


# -- owners that die -------------------------------------------------------------------------------
def owner_script(body: str) -> str:
    return textwrap.dedent(
        """
        import os, signal, sys, time
        from swefarm.sandbox.engine import connect
        from swefarm.sandbox.docker_backend import DockerSandbox
        from swefarm.sandbox.pool import SandboxPool
        client = connect()
        """
    ) + textwrap.dedent(body)


def start_owner(body: str, image: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), SWEFARM_TEST_IMAGE=image)
    return subprocess.Popen(
        [sys.executable, "-c", owner_script(body)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_ids(proc: subprocess.Popen, timeout: float = 60) -> list[str]:
    """The owner prints one JSON line with its container ids once they are up."""
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and not line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert line, f"the owner process printed no ids; stderr:\n{proc.stderr.read()}"
    return json.loads(line)


def test_gc_removes_what_a_sigkilled_owner_left(docker_client, base_image, record_container_ids):
    proc = start_owner(
        """
        boxes = [DockerSandbox(client, os.environ["SWEFARM_TEST_IMAGE"]) for _ in range(2)]
        print(__import__("json").dumps([b.container.id for b in boxes]), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        base_image,
    )
    ids = read_ids(proc)
    record_container_ids(*ids)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert len(ids) == 2
    # nothing closed them: they are still there, and gc sees them as orphans
    assert all(exists(docker_client, cid) for cid in ids)
    orphans = {c.id for c in gc.orphaned_containers(docker_client)}
    assert set(ids) <= orphans
    # containers of a live owner (this process) are not orphans
    with DockerSandbox(docker_client, base_image) as mine:
        assert mine.container.id not in {c.id for c in gc.orphaned_containers(docker_client)}
        removed = gc.collect(docker_client)
        assert {cid[:12] for cid in ids} <= set(removed)
        assert not any(exists(docker_client, cid) for cid in ids)
        assert exists(docker_client, mine.container.id)
        assert mine.run("echo survived-gc").ok


def test_sigterm_owner_removes_its_own_sandboxes(docker_client, base_image, record_container_ids):
    proc = start_owner(
        """
        boxes = [DockerSandbox(client, os.environ["SWEFARM_TEST_IMAGE"]) for _ in range(2)]
        print(__import__("json").dumps([b.container.id for b in boxes]), flush=True)
        time.sleep(120)
        """,
        base_image,
    )
    ids = read_ids(proc)
    record_container_ids(*ids)
    assert all(exists(docker_client, cid) for cid in ids)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    assert code == 128 + signal.SIGTERM, proc.stderr.read()
    assert not any(exists(docker_client, cid) for cid in ids)


def test_sigterm_owner_whose_sandboxes_came_from_a_pool_removes_them(docker_client, base_image, record_container_ids):
    # the pool starts sandboxes in its own threads, so the first one is not created on the main thread
    proc = start_owner(
        """
        pool = SandboxPool(os.environ["SWEFARM_TEST_IMAGE"], size=2, client=client)
        deadline = time.monotonic() + 60
        while pool.ready < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        held = pool.acquire()
        while pool.ready < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        ids = [held.container.id] + [b.container.id for b in list(pool._ready.queue)]
        print(__import__("json").dumps(ids), flush=True)
        time.sleep(120)
        """,
        base_image,
    )
    ids = read_ids(proc)
    record_container_ids(*ids)
    assert len(ids) == 3 and all(exists(docker_client, cid) for cid in ids)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    assert code == 128 + signal.SIGTERM, proc.stderr.read()
    assert not any(exists(docker_client, cid) for cid in ids)


def test_normal_exit_without_close_removes_sandboxes(docker_client, base_image, record_container_ids):
    proc = start_owner(
        """
        boxes = [DockerSandbox(client, os.environ["SWEFARM_TEST_IMAGE"]) for _ in range(2)]
        print(__import__("json").dumps([b.container.id for b in boxes]), flush=True)
        """,
        base_image,
    )
    ids = read_ids(proc)
    record_container_ids(*ids)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert not any(exists(docker_client, cid) for cid in ids)


def test_exit_removes_sandboxes_the_owner_dropped_without_closing(docker_client, base_image, record_container_ids):
    proc = start_owner(
        """
        import gc, json
        def use_and_forget():
            return DockerSandbox(client, os.environ["SWEFARM_TEST_IMAGE"]).container.id
        ids = [use_and_forget() for _ in range(2)]
        gc.collect()
        print(json.dumps(ids), flush=True)
        """,
        base_image,
    )
    ids = read_ids(proc)
    record_container_ids(*ids)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert not any(exists(docker_client, cid) for cid in ids)
