"""The fork benchmark behind `swefarm bench fork`: `env.fork(1)` and `env.fork(8)` next to a cold reset.

The parent is mid-episode: the gold patch applied through the shell, `git status` run (which
rewrites the index), a new file, a `cd` and an exported variable. Each fork takes its siblings
from the env's warm pool, which the benchmark lets refill, and the last fork's siblings be removed,
before the next fork (the steady state of a trainer that forks once per group; both happen in the
background, and a refill costs what a cold sandbox start costs). `identical` checks one fork of 8
the way a user would: the workspace tree's hash (every entry's kind, mode, path, link target and bytes), `pwd`, and the
exported environment of every sibling equal the parent's. The cold reset is `reset()` with no
pool (a container started and the repository copied in), measured in the same run.

A fork's wall time on a shared machine is mostly waiting for a CPU, so two yardsticks come with
it: the CPU time the parent's and the siblings' containers spent on the fork (their cgroups'
accounts), and `one_process_p50_ms`, one `true` started in a sandbox, measured in the same run.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swefarm.bench.stats import p50_ms, time_calls
from swefarm.envs.pools import close_later, wait_closed
from swefarm.envs.swe_env import SWEEnv
from swefarm.sandbox.fork import snapshot
from swefarm.tasks.models import Task

TREE = (
    "{ find . -printf '%y %m %p -> %l\\n' | LC_ALL=C sort; "
    "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum"
)
SHELL = "pwd; env | grep -v '^_=' | LC_ALL=C sort | sha256sum"


def _mid_episode(env: Any, task: Task) -> None:
    box = env._sandbox
    box.write_file("/tmp/gold.patch", task.patch)
    work = shlex.quote(box.config.workdir)
    res = box.run(f"cd {work} && git apply /tmp/gold.patch && git status --short >/dev/null && echo notes > NOTES.md")
    if res.exit_code != 0:
        raise RuntimeError(f"the benchmark's episode could not apply the gold patch: {res.output[-500:]}")
    box.run("mkdir -p scratch && cd scratch && export STAGE=forked")


def _state(sandbox) -> tuple[str, str]:
    return sandbox.run_stateless(TREE, cwd=sandbox.config.workdir).output, sandbox.run(SHELL).output


def _cpu_ns(container_id: str) -> int | None:
    """CPU time a container used so far (its cgroup's account, v1 or v2), or None where it cannot be read."""
    for path, scale in (
        (f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage", 1),
        (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat", 1000),
        (f"/sys/fs/cgroup/docker/{container_id}/cpu.stat", 1000),
    ):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if scale == 1:
            return int(text)
        fields = dict(line.split() for line in text.splitlines())
        return int(fields["usage_usec"]) * scale
    return None


def _cpu_total(boxes: list) -> int | None:
    """CPU time all these containers used so far, or None where any cannot be read."""
    total = 0
    for box in boxes:
        used = _cpu_ns(box.container.id)
        if used is None:
            return None
        total += used
    return total


def _timed_fork(env: Any, n: int, samples: int, cpu: list, keep: list | None = None) -> list[float]:
    """Wall seconds of each `env.fork(n)`; appends to `cpu` the CPU seconds the containers spent on it."""
    out = []
    for i in range(samples):
        # The steady state of a trainer that forks once per group: the pool refilled and the last fork's
        # siblings removed (both in the background) before the next fork, so neither runs beside it.
        env._sandboxes.pool.wait_ready(timeout=600)
        wait_closed()
        ready = list(env._sandboxes.pool._ready.queue)[:n] + [env._sandbox]  # the siblings to be, and the parent
        before = _cpu_total(ready)
        start = time.perf_counter()
        siblings = env.fork(n)
        out.append(time.perf_counter() - start)
        after = _cpu_total(ready)
        if before is not None and after is not None:
            cpu.append((after - before) / 1e9)
        if keep is not None and i == 0:
            keep.extend(siblings)
            continue
        for sibling in siblings:
            close_later(sibling._sandbox)
            sibling._sandbox = None
            sibling.close()
    return out


def run_all(task: Task, client, quick: bool = False, progress: Callable[[str], None] = print) -> dict:
    samples1, samples8, cold_n = (5, 3, 3) if quick else (15, 7, 5)
    env: Any = SWEEnv(task, client=client, pool_size=8, max_steps=1_000_000)
    kept: list = []
    try:
        progress("warming the pool")
        env.warm(timeout=600)
        env.reset()
        _mid_episode(env, task)
        workdir = shlex.quote(env._sandbox.config.workdir)
        size = env._sandbox.run_stateless(f"du -sk {workdir}").output.split()[0]
        delta = snapshot(env._sandbox).delta_bytes
        progress(f"fork of 1, {samples1} times")
        cpu1: list[float] = []
        cpu8: list[float] = []
        stateless = time_calls(lambda: env._sandbox.run_stateless("true"), 15)
        fork1 = _timed_fork(env, 1, samples1, cpu1)
        progress(f"fork of 8, {samples8} times")
        fork8 = _timed_fork(env, 8, samples8, cpu8, keep=kept)
        want = _state(env._sandbox)
        identical = len(kept) == 8 and all(_state(s._sandbox) == want for s in kept)
    finally:
        for sibling in kept:
            sibling.close()
        env.close()
    progress(f"cold reset, {cold_n} times")
    cold = SWEEnv(task, client=client, pool_size=0)
    try:
        cold_s = time_calls(cold.reset, cold_n)
    finally:
        cold.close()
    wait_closed()
    return {
        "task": task.instance_id,
        "workspace_mb": round(int(size) / 1024, 1),
        "delta_kb": round(delta / 1024, 1),
        "fork1_p50_ms": p50_ms(fork1),
        "fork8_p50_ms": p50_ms(fork8),
        "reset_cold_p50_ms": p50_ms(cold_s),
        "identical": identical,
        "fork1_cpu_p50_ms": p50_ms(cpu1) if cpu1 else None,
        "fork8_cpu_p50_ms": p50_ms(cpu8) if cpu8 else None,
        "one_process_p50_ms": p50_ms(stateless),
        "samples": {"fork1": len(fork1), "fork8": len(fork8), "reset_cold": len(cold_s)},
        "load_average": round(os.getloadavg()[0], 1),
    }
