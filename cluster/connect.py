"""Joining a Ray cluster: `connect("auto" | "local" | "HOST:PORT")`.

A cluster on one machine runs on 127.0.0.1 only. Ray advertises the machine's interface address
even when asked for 127.0.0.1 (`--node-ip-address` does not reach every code path), unless the
process and everything it starts see `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`: then every node, the
GCS and every worker take the loopback address. `loopback_only()` sets it for this process and its
children; `addresses()` reports what the cluster advertises, so a test can prove it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys

from swefarm.cluster.errors import ClusterUnavailableError, require_ray

from swefarm.settings import current

LOOPBACK = "127.0.0.1"
NAMESPACE = "swefarm"
#: Ray reads it at import: "0" makes every address Ray picks the loopback one (one machine only).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def loopback_only() -> None:
    """Make Ray in this process, and in every process it starts, use 127.0.0.1 for every address."""
    os.environ[LOOPBACK_ENV] = "0"
    if "ray" in sys.modules:  # already imported: its constant was read at import time
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False


def is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(address: str | None) -> str | None:
    """The HOST:PORT to join, or None to start a Ray instance in this process.

    `auto`: $RAY_ADDRESS, else the one Ray cluster running on this machine, else None.
    `local` (or nothing): None."""
    if address in (None, "", "local"):
        return None
    if address != "auto":
        return address
    if current().ray_address:  # $RAY_ADDRESS
        return current().ray_address
    require_ray()
    from ray._private.services import find_gcs_addresses

    running = sorted(set(find_gcs_addresses()))
    if len(running) > 1:
        raise ClusterUnavailableError(
            f"several Ray clusters run on this machine ({', '.join(running)}); name one: --ray HOST:PORT"
        )
    return running[0] if running else None


def connect(address: str | None = "auto", *, num_cpus: int | None = None, object_store_mb: int = 256) -> str:
    """Join the cluster at `address` (see `resolve`) unless this process already has; returns the GCS address.

    When nothing is to be joined, a one-node Ray starts in this process, on 127.0.0.1, with
    `num_cpus` and an object store of `object_store_mb`."""
    ray = require_ray()
    if ray.is_initialized():
        return ray.get_runtime_context().gcs_address
    target = resolve(address)
    loopback = target is None or is_loopback(target)
    if loopback:
        loopback_only()
    options = dict(namespace=NAMESPACE, logging_level=logging.WARNING, log_to_driver=False)
    if loopback:
        options["_node_ip_address"] = LOOPBACK
    if target is None:
        options.update(num_cpus=num_cpus, object_store_memory=object_store_mb * 1024 * 1024, include_dashboard=False)
    try:
        ray.init(address=target, **options)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        where = target or "a new local instance"
        raise ClusterUnavailableError(
            f"cannot join the Ray cluster at {where}: {exc}. Start one with `ray start --head` "
            "(on one machine: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ray start --head --node-ip-address 127.0.0.1), "
            "or `docker compose --profile ray up -d`, and pass its HOST:PORT"
        ) from None
    return ray.get_runtime_context().gcs_address


def addresses() -> dict:
    """What the joined cluster advertises: the GCS, every node's address, and whether all are loopback."""
    ray = require_ray()
    gcs = ray.get_runtime_context().gcs_address
    nodes = [{"node_id": n["NodeID"], "address": n["NodeManagerAddress"], "alive": n["Alive"]} for n in ray.nodes()]
    every = [gcs] + [n["address"] for n in nodes]
    return {"gcs": gcs, "nodes": nodes, "loopback": all(is_loopback(a) for a in every)}


def alive_nodes() -> list[str]:
    """Ids of the cluster's live nodes."""
    ray = require_ray()
    return [n["NodeID"] for n in ray.nodes() if n["Alive"]]
