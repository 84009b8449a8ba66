"""A Ray cluster on this machine: a head and N worker nodes, every address on 127.0.0.1.

    with LocalCluster(workers=2) as cluster:    # 3 nodes; this process joins it
        ...
        cluster.kill_node(1)                    # SIGKILL a worker node's processes (a crash)

Small by default (one CPU and a 128 MB object store a node) so that it fits beside other work;
its files go to a temporary directory removed at the end. The tests and `swefarm bench ray` use it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import TYPE_CHECKING

from swefarm.cluster.connect import LOOPBACK, NAMESPACE, loopback_only
from swefarm.cluster.errors import ClusterUnavailableError, require_ray

if TYPE_CHECKING:
    from ray.cluster_utils import Cluster


class LocalCluster:
    def __init__(self, workers: int = 2, cpus_per_node: int = 1, object_store_mb: int = 128):
        self.workers, self.cpus, self.store_mb = workers, cpus_per_node, object_store_mb
        self.cluster: Cluster | None = None
        self.nodes: list = []  # the worker nodes, in the order they were added
        self.temp_dir: str | None = None

    @property
    def running(self) -> Cluster:
        """Ray's cluster object; ClusterUnavailableError before `start()` or after `shutdown()`."""
        if self.cluster is None:
            raise ClusterUnavailableError("the local Ray cluster is not running: start() it first")
        return self.cluster

    @property
    def address(self) -> str:
        return self.running.address

    def _node_args(self) -> dict:
        return dict(num_cpus=self.cpus, node_ip_address=LOOPBACK, object_store_memory=self.store_mb * 1024 * 1024)

    def start(self, timeout: float = 120.0) -> LocalCluster:
        require_ray()
        import ray
        from ray.cluster_utils import Cluster

        loopback_only()
        # Ray's socket paths live under the temp dir and must stay short (108 bytes).
        self.temp_dir = tempfile.mkdtemp(prefix="sfray-", dir="/tmp")
        head = {**self._node_args(), "include_dashboard": False, "temp_dir": self.temp_dir}
        try:
            self.cluster = self._head(Cluster, head)
            for _ in range(self.workers):
                self.add_node()
            self.cluster.wait_for_nodes(timeout=timeout)
            ray.init(address=self.address, namespace=NAMESPACE, _node_ip_address=LOOPBACK, log_to_driver=False)
        except Exception as exc:
            self.shutdown()
            raise ClusterUnavailableError(f"the local Ray cluster did not start: {exc}") from exc
        return self

    def _head(self, cluster_class, head: dict) -> Cluster:
        """The head, with Ray's "current cluster" file in this cluster's temp dir: Ray writes it to
        $RAY_TMPDIR/ray (default /tmp/ray, which may not exist), and any `ray.init()` on this machine
        without an address joins the cluster it names. Nobody else should join a test cluster."""
        saved = os.environ.get("RAY_TMPDIR")
        os.environ["RAY_TMPDIR"] = str(self.temp_dir)
        os.makedirs(os.path.join(str(self.temp_dir), "ray"), exist_ok=True)
        try:
            return cluster_class(initialize_head=True, head_node_args=head)
        finally:
            if saved is None:
                os.environ.pop("RAY_TMPDIR", None)
            else:
                os.environ["RAY_TMPDIR"] = saved

    def add_node(self):
        node = self.running.add_node(**self._node_args())
        self.nodes.append(node)
        return node

    def node_id(self, index: int) -> str:
        """The Ray node id of worker node `index`."""
        return self.nodes[index].node_id

    def kill_node(self, index: int) -> str:
        """SIGKILL every process of worker node `index` (raylet, object store, its workers); returns its id."""
        node = self.nodes[index]
        self.running.remove_node(node, allow_graceful=False)
        return node.node_id

    def wait_dead(self, node_id: str, timeout: float = 60.0) -> None:
        import ray

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(n["NodeID"] == node_id and n["Alive"] for n in ray.nodes()):
                return
            time.sleep(0.2)
        raise TimeoutError(f"node {node_id[:8]} still counts as alive after {timeout:.0f} s")

    def shutdown(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        if self.cluster is not None:
            self.cluster.shutdown()
            self.cluster = None
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.shutdown()
