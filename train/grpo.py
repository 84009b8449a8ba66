"""`swefarm train grpo`: TRL's GRPOTrainer, swefarm episodes as its rollouts and the env's reward as its reward.

    result = run_grpo("runs/sft/model", task_ids, out="runs/grpo", steps=8, generations=4)

Each optimizer step plays `tasks_per_step` tasks `generations` times each
(GRPO's group) with the current weights, scores them with the env's reward
spec and takes one policy-gradient step on the model's tokens. On a GPU with
vLLM installed, TRL's colocated vLLM engine samples the episodes; on the CPU,
the trainer's own model does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swefarm.train.device import training_device
from swefarm.train.trl_adapter import SwefarmRollout, swefarm_reward, task_prompts


@dataclass
class GRPOResult:
    model_dir: str
    steps: int
    log: list[dict[str, Any]] = field(default_factory=list)  # TRL's log per step: loss, reward, reward_std, ...
    rollout_file: str = ""
    seconds: float = 0.0
    batches_unchanged: bool | None = None  # with check=True: TRL's loss saw exactly the episodes' ids and masks


def grpo_config(out: Path, steps: int, generations: int, tasks_per_step: int, learning_rate: float, seed: int,
                temperature: float):  # fmt: skip
    from trl import GRPOConfig

    device = training_device()
    return GRPOConfig(
        output_dir=str(out / "trainer"),
        max_steps=steps,
        per_device_train_batch_size=generations,
        gradient_accumulation_steps=tasks_per_step,
        num_generations=generations,
        learning_rate=learning_rate,
        lr_scheduler_type="constant",
        gradient_checkpointing=False,  # it turns off the KV cache the rollouts generate with
        beta=0.0,  # no reference model: half the memory and compute, as DAPO and Dr. GRPO do
        temperature=temperature,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=seed,
        use_cpu=device.type == "cpu",
        bf16=device.bf16,
        use_vllm=device.vllm,
        vllm_mode="colocate",
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )


def run_grpo(
    model: str | None,
    tasks: list[str],
    out: str | Path,
    steps: int = 4,
    generations: int = 4,
    tasks_per_step: int = 2,
    learning_rate: float = 1e-5,
    env_config: dict[str, Any] | None = None,
    sampling: dict[str, Any] | None = None,
    store=None,
    seed: int = 0,
    train_layers: int | None = None,
    concurrency: int = 8,
    rollout: SwefarmRollout | None = None,
    check: bool = False,
    log=print,
) -> GRPOResult:
    """Train `model` (a directory, None for the default model) with GRPO on `tasks`; saved in `out`/model."""
    import time

    from swefarm.policy.models import resolve_model
    from swefarm.train.sft import freeze_below
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer

    if generations < 2:
        raise ValueError("GRPO compares episodes of one task: generations must be at least 2")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = resolve_model(model, log=log)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    sampling = dict(sampling or {})
    temperature = float(sampling.pop("temperature", 1.0))
    network = AutoModelForCausalLM.from_pretrained(path, dtype=training_device().dtype)
    if train_layers is not None:
        freeze_below(network, train_layers)
    rollout = rollout or SwefarmRollout(
        store=store,
        env_config=env_config,
        sampling=sampling,
        concurrency=concurrency,
        out=out / "rollouts.jsonl",
        seed=seed * 100_000,
    )
    seen: list[tuple] = []

    class RecordingGRPOTrainer(GRPOTrainer):
        """GRPO that keeps the rows its loss is computed on (check=True compares them with the episodes)."""

        def compute_loss(self, model, inputs, *args, **kwargs):
            seen.extend(loss_rows(inputs))
            return super().compute_loss(model, inputs, *args, **kwargs)

    trainer = (RecordingGRPOTrainer if check else GRPOTrainer)(
        model=network,
        reward_funcs=[swefarm_reward],
        args=grpo_config(out, steps, generations, tasks_per_step, learning_rate, seed, temperature),
        train_dataset=task_prompts(tasks),
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    started = time.perf_counter()
    trainer.train()
    model_dir = out / "model"
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    return GRPOResult(
        model_dir=str(model_dir),
        steps=trainer.state.global_step,
        log=history,
        rollout_file=str(rollout.out or ""),
        seconds=round(time.perf_counter() - started, 1),
        batches_unchanged=Counter(seen) == Counter(rollout.produced) if check else None,
    )


def loss_rows(inputs: dict) -> list[tuple]:
    """(prompt ids, completion ids, model-token mask) of each row TRL computes the loss on, padding removed."""
    rows = []
    for i in range(len(inputs["prompt_ids"])):
        prompt = inputs["prompt_ids"][i][inputs["prompt_mask"][i].bool()].tolist()
        keep = inputs["completion_mask"][i].bool()
        completion = inputs["completion_ids"][i][keep].tolist()
        mask = inputs["tool_mask"][i][keep].tolist() if "tool_mask" in inputs else [1] * len(completion)
        rows.append((tuple(prompt), tuple(completion), tuple(int(m) for m in mask)))
    return rows
