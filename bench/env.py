"""The env benchmark behind `swefarm bench env`: ours and mini-swe-agent's, side by side in one run.

- reset: `env.reset()` until the first observation (and, to compare like with
  like, until the first command's result), in the steady state of
  training (the episode before took longer than a container start, so the
  warm pool is full: the benchmark waits for it between resets); the cold
  figure (no pool) is reported too.
- step: `env.step()` of a bash `true`, as raw model text through the
  tool-call parser and as a structured call.
- mini-swe-agent: its DockerEnvironment on the same task image, its reset =
  construction until the first command's result, its step = `execute("true")`.
- oracle episodes per minute at several concurrencies through the asyncio
  runner, grading included (the grader runs the task's tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from swefarm.bench.stats import p50_ms, per_minute, time_calls
from swefarm.envs.aio import EpisodeRunner
from swefarm.envs.pools import wait_closed
from swefarm.envs.swe_env import SWEEnv
from swefarm.policy.episode import play
from swefarm.policy.scripted import OraclePolicy
from swefarm.tasks.models import Task

TRUE_CALL = {"name": "bash", "arguments": {"command": "true"}}
TRUE_TEXT = '<tool_call>\n{"name": "bash", "arguments": {"command": "true"}}\n</tool_call>'


def reset_and_step(task: Task, client, resets: int, steps: int) -> dict:
    """Our env's reset and step latency (warm pool), and the cold reset for comparison."""
    env = SWEEnv(task, client=client, pool_size=2, max_steps=1_000_000)
    try:
        env.warm()
        reset_s, first_s = [], []
        for _ in range(resets):
            env.warm()  # the steady state: the pool refilled while the last episode ran
            start = time.perf_counter()
            env.reset()
            reset_s.append(time.perf_counter() - start)
            env.step(TRUE_CALL)
            first_s.append(time.perf_counter() - start)
        env.reset()
        text_s, call_s = [], []
        for _ in range(steps):  # interleaved, so both see the same machine
            text_s += time_calls(lambda: env.step(TRUE_TEXT), 1)
            call_s += time_calls(lambda: env.step(TRUE_CALL), 1)
    finally:
        env.close()
    cold = SWEEnv(task, client=client, pool_size=0)
    try:
        cold_s = time_calls(cold.reset, max(resets // 4, 3))
    finally:
        cold.close()
    wait_closed()
    return {
        "reset_p50_ms": p50_ms(reset_s),
        "reset_to_first_result_p50_ms": p50_ms(first_s),
        "reset_cold_p50_ms": p50_ms(cold_s),
        "step_p50_ms": p50_ms(text_s),
        "step_structured_p50_ms": p50_ms(call_s),
    }


def oracle_throughput(task: Task, client, concurrency: int, episodes: int) -> dict:
    """Oracle episodes (reset, edit, submit, grade) per minute with `concurrency` live at once."""
    runner = EpisodeRunner(max_concurrency=concurrency, client=client)
    rewards: list[float] = []

    async def one(i: int) -> None:
        async with runner.env(task, pool_size=min(concurrency, 8)) as env:
            # the episode plays on the runner's threads (one slot per live env), through the one episode loop
            episode = await env.run(play, OraclePolicy(task.patch), seed=i)
        infra = episode.error or episode.info.get("infra_error")
        rewards.append(float("nan") if infra else episode.reward)

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(episodes)))

    start = time.perf_counter()
    try:
        asyncio.run(main())
    finally:
        runner.close()
        wait_closed()
    seconds = time.perf_counter() - start
    return {
        "episodes": episodes,
        "seconds": round(seconds, 2),
        "episodes_per_min": per_minute(episodes, seconds),
        "resolved": sum(r == 1.0 for r in rewards),
    }


def run_all(
    task: Task, client, quick: bool = False, mini: bool = True, progress: Callable[[str], None] = lambda m: None
) -> dict:
    from swefarm.harness.images import REPO_IN_IMAGE, task_image

    resets, steps = (10, 50) if quick else (30, 300)
    progress("our env: reset and step")
    result: dict = {"task": task.instance_id, **reset_and_step(task, client, resets, steps)}
    if mini:
        from swefarm.bench.mini import measure_mini_swe_agent

        progress("mini-swe-agent's Docker environment on the same image")
        image = task_image(task)
        theirs = measure_mini_swe_agent(image, resets=max(resets // 3, 5), steps=steps // 3, cwd=REPO_IN_IMAGE)
        result.update(
            mini_swe_agent_version=theirs["version"],
            mini_reset_p50_ms=theirs["reset_p50_ms"],
            mini_step_p50_ms=theirs["step_p50_ms"],
            # like for like: theirs is measured from construction to the first command's result
            reset_speedup=round(theirs["reset_p50_ms"] / result["reset_to_first_result_p50_ms"], 1),
            step_speedup=round(theirs["step_p50_ms"] / result["step_p50_ms"], 1),
        )
    for concurrency in (1, 8) if quick else (1, 8, 32):
        progress(f"oracle episodes at concurrency {concurrency}")
        episodes = max(4, 2 * concurrency) if quick else max(8, 2 * concurrency)
        result[f"oracle_c{concurrency}"] = oracle_throughput(task, client, concurrency, episodes)
    return result
