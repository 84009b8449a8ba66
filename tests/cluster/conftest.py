"""A real Ray cluster on this machine for the cluster tests: a head and two worker nodes, all on 127.0.0.1.

Every test here proves its traffic stays on loopback (`cluster_helpers.assert_loopback`). A test
that uses `ray_cluster` is the cluster's Ray driver, so it runs in a pytest process of its own
(`own_process`): the suite's process never joins a cluster, and a crash in Ray's driver fails that
test alone. The fixture also checks that the test left no thread of the cluster code running.
"""

from __future__ import annotations

import threading

import own_process
import pytest

_config = None


def pytest_configure(config):
    global _config
    _config = config
    config.addinivalue_line("markers", "own_process: runs in a pytest process of its own (a Ray driver)")


def pytest_collection_modifyitems(config, items):
    if own_process.in_child():
        return
    for item in items:
        if "ray_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.own_process)
            item.add_marker(pytest.mark.timeout(0))  # here it only waits; the child has the test's limit


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if own_process.in_child() or item.get_closest_marker("own_process") is None:
        return None
    own_process.run(item, nextitem)
    return True


def pytest_runtest_logreport(report):
    if own_process.in_child():
        own_process.record(_config, report)


@pytest.fixture
def ray_cluster():
    from swefarm.cluster.local import LocalCluster

    cluster = LocalCluster(workers=2, cpus_per_node=1, object_store_mb=128)
    cluster.start()
    try:
        yield cluster
        left = [t.name for t in threading.enumerate() if t.name.startswith("swefarm-cluster-")]
        assert not left, f"threads of the cluster code still run after the test: {left}"
    finally:
        cluster.shutdown()
