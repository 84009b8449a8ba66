"""The sandbox benchmark behind `swefarm bench sandbox`: one run, one machine, side by side."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import docker
from swefarm.bench.stats import p50_ms, speedup, time_calls
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.pool import SandboxPool


def exec_latency(client: docker.DockerClient, image: str, n: int) -> dict:
    """`true` through the sandbox's agent vs. the SDK's exec_run, on the same container."""
    with DockerSandbox(client, image) as sb:
        sb.run("true")
        ours = time_calls(lambda: sb.run("true"), n)
        stateless = time_calls(lambda: sb.run_stateless("true"), max(n // 4, 5))
        theirs = time_calls(lambda: sb.container.exec_run(["true"], user=str(sb.config.uid)), max(n // 10, 10))
    return {
        "exec_p50_ms": p50_ms(ours),
        "exec_stateless_p50_ms": p50_ms(stateless),
        "docker_exec_p50_ms": p50_ms(theirs),
        "exec_speedup": speedup(theirs, ours),
    }


def acquire_latency(client: docker.DockerClient, image: str, n: int, size: int = 4) -> dict:
    """A fresh sandbox from a warm pool (the pool refilled before each hand-out)."""
    samples = []
    with SandboxPool(image, size=size, client=client) as pool:
        for _ in range(n):
            pool.wait_ready()
            start = time.perf_counter()
            sb = pool.acquire()
            sb.run("true")
            samples.append(time.perf_counter() - start)
            sb.close()
    return {"acquire_p50_ms": p50_ms(samples), "acquire_max_ms": round(max(samples) * 1000, 3)}


def cold_start(client: docker.DockerClient, image: str, n: int) -> dict:
    """`containers.run` to the first command's answer."""

    def once():
        with DockerSandbox(client, image) as sb:
            sb.run("true")

    return {"cold_start_p50_ms": p50_ms(time_calls(once, n))}


def concurrent(client: docker.DockerClient, image: str, count: int, commands: int) -> dict:
    """`count` sandboxes, each running a loop of commands, all at once."""
    config = SandboxConfig(cpus=0.5, memory="512m")
    sandboxes: list[DockerSandbox] = []
    ok = [False] * count
    errors: list[str] = []
    try:

        def start_one() -> None:
            sandboxes.append(DockerSandbox(client, image, config))

        starters = [threading.Thread(target=start_one) for _ in range(count)]
        for group in range(0, count, 8):
            for t in starters[group : group + 8]:
                t.start()
            for t in starters[group : group + 8]:
                t.join()
        rss = idle_memory(sandboxes[0]) if sandboxes else {}

        def loop(i: int, sb: DockerSandbox) -> None:
            try:
                for k in range(commands):
                    res = sb.run(f"echo {i}-{k} && python3 -c 'print(sum(range(1000)))'")
                    if not (res.ok and res.output.split() == [f"{i}-{k}", "499500"]):
                        raise AssertionError(res.output)
                ok[i] = True
            except Exception as exc:
                errors.append(f"{i}: {exc}")

        start = time.perf_counter()
        workers = [threading.Thread(target=loop, args=(i, sb)) for i, sb in enumerate(sandboxes)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        wall = time.perf_counter() - start
    finally:
        for sb in sandboxes:
            sb.close()
    return {
        "concurrent_total": count,
        "concurrent_ok": sum(ok),
        "concurrent_commands_each": commands,
        "concurrent_wall_s": round(wall, 2),
        "concurrent_errors": errors[:5],
        **rss,
    }


def idle_memory(sb: DockerSandbox) -> dict:
    """Resident memory of an idle sandbox: its processes' RSS and its cgroup's usage."""
    rss_kb = 0
    for row in sb.container.top(ps_args="-o pid")["Processes"] or []:
        status = Path(f"/proc/{row[0]}/status")
        if status.exists():  # the engine runs on this host
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
    stats = sb.container.stats(stream=False)["memory_stats"]
    usage = stats.get("usage", 0) - stats.get("stats", {}).get("inactive_file", 0)
    return {"idle_rss_mb": round(rss_kb / 1024, 1), "idle_cgroup_mb": round(usage / 1024**2, 1)}


def run_all(client: docker.DockerClient, image: str, quick: bool = False, progress=lambda msg: None) -> dict:
    n = 50 if quick else 300
    result: dict = {"image": image}
    progress("exec latency")
    result.update(exec_latency(client, image, n))
    progress("warm-pool acquire")
    result.update(acquire_latency(client, image, 5 if quick else 20))
    progress("cold start")
    result.update(cold_start(client, image, 3 if quick else 10))
    progress("32 concurrent sandboxes")
    result.update(concurrent(client, image, 8 if quick else 32, 5 if quick else 20))
    return result
