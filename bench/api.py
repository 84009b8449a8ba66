"""The REST load test behind `swefarm bench api`: many concurrent sessions over loopback, and the same
steps in-process, side by side.

- in-process: `env.step` of a bash `true` (a structured call) on SWEEnv, at concurrency 1 and N
  (one thread per env, as a trainer's vector env would run them).
- REST: the same step through `POST /v1/sessions/{id}/step` (client -> API -> worker -> env), at
  concurrency 1 and N sessions, each session with its own HTTP client in its own thread.
- every session must start, step and close without an error; the figures are p50 and p95.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from swefarm.bench.stats import percentile_ms

TRUE_CALL = {"name": "bash", "arguments": {"command": "true"}}


def _figures(prefix: str, steps: list[float]) -> dict:
    return {f"{prefix}_step_p50_ms": percentile_ms(steps, 50), f"{prefix}_step_p95_ms": percentile_ms(steps, 95)}


def _parallel(n: int, work: Callable[[int], None]) -> list[str]:
    errors: list[str] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=600)
            work(i)
        except Exception as exc:
            errors.append(f"{i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def in_process(task, client, concurrency: int, steps: int) -> dict:
    from swefarm.envs.pools import wait_closed
    from swefarm.envs.swe_env import SWEEnv

    samples: list[float] = []
    envs = [SWEEnv(task, client=client, pool_size=2, max_steps=10**6) for _ in range(concurrency)]
    try:
        for env in envs:
            env.reset()

        def work(i: int) -> None:
            for _ in range(steps):
                start = time.perf_counter()
                envs[i].step(TRUE_CALL)
                samples.append(time.perf_counter() - start)

        errors = _parallel(concurrency, work)
    finally:
        for env in envs:
            env.close()
        wait_closed()
    return {**_figures(f"in_process_c{concurrency}", samples), f"in_process_c{concurrency}_errors": errors}


def over_rest(farm_url: str, token: str, task_id: str, concurrency: int, steps: int) -> dict:
    from swefarm.api.client import SwefarmClient

    step_s: list[float] = []
    start_s: list[float] = []
    ok = [0]

    def work(i: int) -> None:
        with SwefarmClient(farm_url, token) as client:
            start = time.perf_counter()
            session = client.start_session(task_id, config={"max_steps": 500}).session
            start_s.append(time.perf_counter() - start)
            try:
                for _ in range(steps):
                    start = time.perf_counter()
                    result = client.step(session.id, TRUE_CALL, messages_from=10**6)
                    step_s.append(time.perf_counter() - start)
                    if result.truncated or result.terminated:
                        raise RuntimeError(f"the session ended early: {result.info.get('infra_error')}")
            finally:
                client.close_session(session.id)
            ok[0] += 1

    wall = time.perf_counter()
    errors = _parallel(concurrency, work)
    key = f"rest_c{concurrency}"
    return {
        f"{key}_sessions": concurrency,
        f"{key}_sessions_ok": ok[0],
        f"{key}_errors": errors[:10],
        f"{key}_wall_s": round(time.perf_counter() - wall, 2),
        f"{key}_session_start_p50_ms": percentile_ms(start_s, 50),
        f"{key}_session_start_p95_ms": percentile_ms(start_s, 95),
        **_figures(key, step_s),
    }


def run_all(task, docker_client, farm_url: str, token: str, sessions: int = 32, steps: int = 20,
            progress: Callable[[str], None] = lambda m: None) -> dict:  # fmt: skip
    """Every figure of the benchmark in one dict (see the module docstring)."""
    result: dict = {"task": task.instance_id, "sessions": sessions, "steps_per_session": steps}
    progress("in-process, one env")
    result.update(in_process(task, docker_client, 1, min(steps * 5, 400)))
    progress("REST, one session")
    result.update(over_rest(farm_url, token, task.instance_id, 1, min(steps * 5, 400)))
    progress(f"in-process, {sessions} envs at once")
    result.update(in_process(task, docker_client, sessions, steps))
    progress(f"REST, {sessions} sessions at once")
    result.update(over_rest(farm_url, token, task.instance_id, sessions, steps))
    for c in (1, sessions):
        rest, local = result.get(f"rest_c{c}_step_p50_ms"), result.get(f"in_process_c{c}_step_p50_ms")
        if rest and local:
            result[f"rest_overhead_c{c}_p50_ms"] = round(rest - local, 3)
    return result
