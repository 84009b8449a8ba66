"""`python -m swefarm.cluster.node --address HOST:PORT`: a Ray worker node that joins a head on this
machine over 127.0.0.1 only, and runs until SIGTERM (the compose `ray` profile's workers).

`ray start --address` refuses to add a node while Ray is kept on loopback
(`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`), and without that it resolves 127.0.0.1 to the machine's
interface address. So the node is started the way Ray's own `cluster_utils` starts the extra nodes
of a one-machine cluster: a `ray._private.node.Node` with every port picked by the OS. The head is
an ordinary `ray start --head --node-ip-address 127.0.0.1` under the same variable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from swefarm.cluster.connect import LOOPBACK, is_loopback, loopback_only


def start_worker(address: str, num_cpus: int, object_store_mb: int):
    """Start a worker node joined to the head at `address` (loopback); returns Ray's Node (kill_all_processes)."""
    if not is_loopback(address):
        raise SystemExit(f"{address} is not a loopback address: on several machines use `ray start --address`")
    loopback_only()
    import ray
    from ray._private.node import Node
    from ray._private.parameter import RayParams

    params = RayParams(
        node_ip_address=LOOPBACK, gcs_address=address, num_cpus=num_cpus, num_gpus=0,
        object_store_memory=object_store_mb * 1024 * 1024, min_worker_port=0, max_worker_port=0,
        node_manager_port=0,
        include_log_monitor=False,  # type: ignore[arg-type]  # Ray annotates it str | None and reads a bool
    )  # fmt: skip
    params.dashboard_agent_listen_port = None  # several nodes on one machine: no fixed port
    with ray._private.client_mode_hook.disable_client_hook():
        return Node(params, head=False, shutdown_at_exit=True, spawn_reaper=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the head's GCS address, e.g. 127.0.0.1:6379")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--object-store-mb", type=int, default=256)
    args = parser.parse_args(argv)
    node = start_worker(args.address, args.num_cpus, args.object_store_mb)
    print(f"ray worker node {node.node_id} joined {args.address} on {LOOPBACK}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    node.kill_all_processes(check_alive=False, allow_graceful=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
