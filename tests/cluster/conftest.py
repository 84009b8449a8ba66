"""A real Ray cluster on this machine for the cluster tests: a head and two worker nodes, all on 127.0.0.1.

Every test here proves its traffic stays on loopback (`cluster_helpers.assert_loopback`).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def ray_cluster():
    from swefarm.cluster.local import LocalCluster

    cluster = LocalCluster(workers=2, cpus_per_node=1, object_store_mb=128)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.shutdown()
