"""Helpers for the cluster tests: proving traffic stays on loopback, and finding leaked containers.

`assert_loopback`: the GCS and every node advertise 127.0.0.1, and every TCP socket of every process
of the cluster (descendants of this test process) is bound to, and talks to, loopback only.
"""

from __future__ import annotations

import ipaddress
import os


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def is_loopback_endpoint(endpoint: str) -> bool:
    host = endpoint.rsplit(":", 1)[0].strip("[]")
    if host.startswith("::ffff:"):
        host = host[7:]
    if "%" in host:
        host = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def assert_loopback() -> int:
    """Fail unless every Ray address and every TCP socket of the cluster's processes is loopback; sockets seen."""
    from swefarm.cluster.connect import addresses

    advertised = addresses()
    assert advertised["loopback"], advertised
    assert advertised["gcs"].startswith("127.0.0.1:"), advertised
    assert all(n["address"] == "127.0.0.1" for n in advertised["nodes"]), advertised
    pids = descendants(os.getpid()) | {os.getpid()}
    seen = 0
    for local, peer, pid in tcp_sockets(pids):
        check_socket(local, peer, f"pid {pid}")
        seen += 1
    assert seen > 0, "found no socket of the cluster's processes: the check saw nothing"
    return seen


def tcp_sockets(pids: set[int]) -> list[tuple[str, str | None, int]]:
    """Every TCP socket (local endpoint, peer or None, owner pid) of the processes `pids`, as `ss -tanp`
    lists them (this network namespace; psutil reads /proc, so no iproute2 is needed)."""
    import psutil

    return [
        (f"{c.laddr.ip}:{c.laddr.port}", f"{c.raddr.ip}:{c.raddr.port}" if c.raddr else None, c.pid)
        for c in psutil.net_connections(kind="tcp")
        if c.pid in pids and c.laddr
    ]


def check_socket(local: str, peer: str | None, owner: str) -> None:
    """One socket: bound to loopback, and talking to loopback (or listening: no peer)."""
    assert is_loopback_endpoint(local), f"a cluster socket ({owner}) is bound to {local}"
    assert peer is None or is_loopback_endpoint(peer), f"a cluster socket ({owner}) on {local} talks to {peer}"


def leaked(docker_client, hosts) -> list[str]:
    """swefarm containers still owned by any of `hosts` (their identities), live or lost."""
    from swefarm.sandbox.labels import KIND, OWNER_PID

    left = []
    for info in hosts:
        labels = [KIND, f"{OWNER_PID}={info['pid']}"]
        found = docker_client.containers.list(all=True, filters={"label": labels}, ignore_removed=True)
        left += [f"{c.short_id} (host pid {info['pid']})" for c in found]
    return left
