"""`swefarm bench learn`: evaluate, fine-tune on the teacher's resolved episodes (TRL SFT), reinforce (TRL GRPO),
evaluate again, on held-out tasks of the minilib family that training never sees.

    result = run_learn(LearnPlan(), out="runs/learn", progress=print)
    result["well_formed_calls_after"], result["resolve_rate_after"], ...

It sits in `bench`, above what it measures: every phase is a public piece of
`swefarm.train` (`ensure_family`, `evaluate`, the teacher through `play_many`,
`run_sft`, `run_grpo`). `LearnPlan.quick()` is the CI-sized run: a handful of
steps that check the trajectories reach TRL unchanged and that the loss moves.
The chart of a run is `bench.learn_chart.write_curve`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from swefarm.policy.trajectory import read_jsonl, write_jsonl
from swefarm.train import scaffold


@dataclass
class LearnPlan:
    heldout_tasks: int | None = None  # None: every held-out task of the family
    train_tasks: int | None = None
    episodes: int = 1  # per held-out task and seed
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    teacher_episodes: int = 3  # per training task (they vary the wording of the teacher's thoughts)
    sft_epochs: float = 1.5
    sft_lr: float = 5e-5
    sft_batch: int = 2
    sft_max_steps: int = -1
    grpo_steps: int = 2
    grpo_generations: int = 4
    grpo_tasks_per_step: int = 1
    grpo_lr: float = 1e-5
    train_layers: int | None = None  # the top layers trained (a CPU budget); None trains every weight
    max_new_tokens: int = scaffold.SAMPLING["max_new_tokens"]
    temperature: float = scaffold.SAMPLING["temperature"]
    eval_backend: str = "auto"  # who plays the evaluations: "vllm" | "transformers" | "auto" (resolve_backend)
    concurrency: int = 8
    seed: int = 0
    modules: list[str] | None = None  # build and use only these modules of the family (None: all of it)
    env: dict[str, Any] = field(default_factory=scaffold.env_config)

    @classmethod
    def quick(cls) -> LearnPlan:
        return cls(
            heldout_tasks=1,
            train_tasks=2,
            episodes=1,
            seeds=[0],
            teacher_episodes=1,
            sft_max_steps=3,
            sft_batch=1,
            grpo_steps=1,
            grpo_generations=2,
            grpo_tasks_per_step=1,
            train_layers=2,
            max_new_tokens=48,
            eval_backend="transformers",  # one episode: starting a vLLM server would cost more than it saves
            concurrency=2,
            modules=["vowels", "series"],  # one training module, one held-out: three tasks to build
            env=scaffold.env_config(max_steps=2, reward={"weights": {"resolved": 1.0, "tokens": -0.001}}),
        )


def run_learn(plan: LearnPlan, out: str | Path, store=None, progress=print) -> dict[str, Any]:
    """The whole run; writes its trajectories, models and `result.json` under `out` and returns the result."""
    from swefarm.train.evaluate import eval_specs, evaluate, report, resolve_backend
    from swefarm.train.family import ensure_family, family_tasks
    from swefarm.train.grpo import GRPOResult, run_grpo
    from swefarm.train.sft import SFTResult, run_sft
    from swefarm.train.teacher import TeacherFactory
    from swefarm.train.trl_adapter import SwefarmRollout

    started = time.perf_counter()
    backend = resolve_backend(plan.eval_backend)  # a bad or missing backend fails before any work
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    progress("building and validating the task family (once)")
    ensure_family(store=store, modules=plan.modules, progress=progress)
    from swefarm.tasks.store import TaskStore

    tasks = TaskStore(store)
    heldout = [t.instance_id for t in family_tasks(tasks, "heldout", plan.modules)][: plan.heldout_tasks]
    training = [t.instance_id for t in family_tasks(tasks, "train", plan.modules)][: plan.train_tasks]
    if not heldout or not training:
        raise ValueError(f"the family has {len(training)} training and {len(heldout)} held-out tasks here: need both")
    sampling = {"temperature": plan.temperature, "max_new_tokens": plan.max_new_tokens}
    common = {"env_config": plan.env, "sampling": sampling, "store": store, "concurrency": plan.concurrency,
              "backend": backend}  # fmt: skip

    def evaluated(model, name):
        done = out / f"{name}.jsonl"
        specs = eval_specs(heldout, plan.episodes, plan.seeds, plan.env)
        if done.exists():  # a run that stopped later resumes here
            played = list(read_jsonl(done))
            if len(played) == len(specs):
                progress(f"{name}: reusing {done}")
                return report(played, specs, list(plan.seeds), plan.episodes)
        progress(f"{name}: {len(specs)} episodes of {model or 'the base model'} on {len(heldout)} held-out tasks "
                 f"({backend})")  # fmt: skip
        count = iter(range(1, len(specs) + 1))
        result = evaluate(model, heldout, plan.episodes, plan.seeds, **common, on_done=lambda t: progress(
            f"  {name} [{next(count)}/{len(specs)}] {t.task}: reward {t.reward}, {len(t.turns)} turns"
        ))  # fmt: skip
        write_jsonl(result.trajectories, done.with_suffix(".tmp"))
        done.with_suffix(".tmp").replace(done)
        return result

    before = evaluated(None, "eval_before")

    progress(f"playing the teacher on {len(training)} training tasks")
    from swefarm.train.episodes import EpisodeSpec, play_many

    teacher = TeacherFactory(sampling=sampling, seed=plan.seed, look_first=False)
    specs = [
        EpisodeSpec(task, seed=plan.seed + 100 * i + k, episode=k, env_config=plan.env)
        for i, task in enumerate(training)
        for k in range(plan.teacher_episodes)
    ]
    if (out / "teacher.jsonl").exists():
        taught = list(read_jsonl(out / "teacher.jsonl"))
    else:
        taught = play_many(specs, teacher, store=store, concurrency=min(plan.concurrency, 4))
        write_jsonl(taught, out / "teacher.jsonl")
    sft = _phase(out / "sft" / "result.json", SFTResult, lambda: run_sft(
        taught,
        out / "sft",
        epochs=plan.sft_epochs,
        learning_rate=plan.sft_lr,
        batch_size=plan.sft_batch,
        max_steps=plan.sft_max_steps,
        seed=plan.seed,
        train_layers=plan.train_layers,
        log=progress,
    ), progress, f"SFT (TRL) on {sum(t.resolved for t in taught)} resolved teacher episodes")  # fmt: skip
    rollout = SwefarmRollout(store=store, env_config=plan.env, sampling=sampling, concurrency=plan.concurrency,
                             out=out / "grpo" / "rollouts.jsonl", seed=plan.seed * 100_000)  # fmt: skip
    grpo = _phase(out / "grpo" / "result.json", GRPOResult, lambda: run_grpo(
        sft.model_dir,
        training,
        out / "grpo",
        steps=plan.grpo_steps,
        generations=plan.grpo_generations,
        tasks_per_step=plan.grpo_tasks_per_step,
        learning_rate=plan.grpo_lr,
        sampling=sampling,
        store=store,
        seed=plan.seed,
        train_layers=plan.train_layers,
        rollout=rollout,
        check=True,
        log=progress,
    ), progress, f"GRPO (TRL) for {plan.grpo_steps} steps from the SFT model")  # fmt: skip
    train_minutes = (sft.seconds + grpo.seconds) / 60
    after = evaluated(grpo.model_dir, "eval_after")
    result = {
        "well_formed_calls_before": before.well_formed_calls,
        "well_formed_calls_after": after.well_formed_calls,
        "resolve_rate_before": before.resolve_rate,
        "resolve_rate_after": after.resolve_rate,
        "heldout_tasks": len(heldout),
        "episodes_per_eval": before.episodes,
        "seeds": plan.seeds,
        "train_minutes": round(train_minutes, 2),
        "pass_at_k_before": before.pass_at_k,
        "pass_at_k_after": after.pass_at_k,
        "resolve_rate_by_seed_before": before.by_seed,
        "resolve_rate_by_seed_after": after.by_seed,
        "seed_spread_before": before.seed_spread,
        "seed_spread_after": after.seed_spread,
        "samples_per_task": before.samples_per_task,
        "model_turns_before": before.turns,
        "model_turns_after": after.turns,
        "masked_episodes": before.infra_errors + before.rollout_errors + after.infra_errors + after.rollout_errors,
        "train_tasks": len(training),
        "teacher_episodes": len(taught),
        "teacher_resolved": sum(t.resolved for t in taught),
        "sft_examples": sft.examples,
        "sft_steps": sft.steps,
        "sft_loss": [round(x, 4) for x in sft.losses],
        "sft_rows_unchanged": sft.rows_unchanged,
        "grpo_steps": grpo.steps,
        "grpo_log": [{k: v for k, v in entry.items() if k in _GRPO_KEYS} for entry in grpo.log],
        "grpo_batches_unchanged": grpo.batches_unchanged,
        "loss_moved": _moved(sft.losses),
        "device": _device(),
        "eval_backend": backend,
        "total_minutes": round((time.perf_counter() - started) / 60, 2),
        "plan": asdict(plan),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return result


_GRPO_KEYS = ("loss", "reward", "reward_std", "step", "completions/mean_length", "frac_reward_zero_std")


def _moved(losses: list[float]) -> bool:
    return len(losses) >= 2 and any(abs(x - losses[0]) > 1e-6 for x in losses[1:])


def _device() -> str:
    from swefarm.train.device import training_device

    device = training_device()
    return f"{device.type}{' + vLLM' if device.vllm else ''}"


def _phase(done: Path, kind, run, progress, what: str):
    """Run a training phase once: its result is saved beside its model, and a later run reuses both."""
    if done.exists():
        progress(f"{what}: reusing {done.parent}")
        return kind(**json.loads(done.read_text()))
    progress(what)
    result = run()
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(asdict(result)))
    return result
