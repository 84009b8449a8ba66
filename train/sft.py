"""Rejection-sampling fine-tuning on TRL: keep the resolved episodes, train the model on its (teacher's) turns.

    result = run_sft(trajectories, out="runs/sft", epochs=2)

The dataset is the trajectories themselves, untouched: `input_ids` is an
episode's `token_ids` and `assistant_masks` its `loss_mask`, so TRL's
`SFTTrainer` computes the loss on the model's turns only (never on tool output
or the chat template) and sees the very ids the episode was played with. Only
resolved, graded, token-exact episodes are kept (rejection sampling):
`infra_error` and failed rollouts are dropped, never taught as failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from swefarm.policy.trajectory import Trajectory
from swefarm.train.device import training_device
from swefarm.train.episodes import trainable


@dataclass
class SFTResult:
    model_dir: str
    examples: int
    losses: list[float] = field(default_factory=list)  # the training loss at every logged step
    steps: int = 0
    seconds: float = 0.0
    rows_unchanged: bool = False  # TRL's prepared rows hold the episodes' ids, and labels exactly on their loss mask


def sft_examples(trajectories: list[Trajectory], resolved_only: bool = True) -> list[dict]:
    """The rows TRL trains on: one per kept episode, ids and mask exactly as the episode recorded them."""
    rows = []
    for t in trajectories:
        if not trainable(t) or (resolved_only and not t.resolved) or not any(t.loss_mask):
            continue
        rows.append({"input_ids": list(t.token_ids), "assistant_masks": list(t.loss_mask)})
    return rows


def run_sft(
    trajectories: list[Trajectory],
    out: str | Path,
    model: str | None = None,
    epochs: float = 2.0,
    learning_rate: float = 5e-5,
    batch_size: int = 4,
    max_steps: int = -1,
    seed: int = 0,
    train_layers: int | None = None,
    log=print,
) -> SFTResult:
    """Fine-tune `model` (default: the default small model) with TRL's SFTTrainer; saved in `out`/model."""
    import time

    from datasets import Dataset
    from swefarm.policy.models import resolve_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = sft_examples(trajectories)
    if not rows:
        raise ValueError("no resolved, graded, token-exact episode to fine-tune on (play the teacher first)")
    path = resolve_model(model, log=log)
    device = training_device()
    out = Path(out)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = SFTConfig(
        output_dir=str(out / "trainer"),
        num_train_epochs=epochs,
        max_steps=max_steps,
        per_device_train_batch_size=1,
        gradient_accumulation_steps=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=seed,
        gradient_checkpointing=False,  # small models: recomputing activations costs more than it saves
        max_length=None,  # the episode as played: truncating would cut the model's own turns
        use_cpu=device.type == "cpu",
        bf16=device.bf16,
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )
    started = time.perf_counter()
    network = AutoModelForCausalLM.from_pretrained(path, dtype=device.dtype)
    if train_layers is not None:
        freeze_below(network, train_layers)
    trainer = SFTTrainer(
        model=network,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    unchanged = rows_unchanged(trainer.train_dataset, rows)
    trainer.train()
    model_dir = out / "model"
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return SFTResult(
        model_dir=str(model_dir),
        examples=len(rows),
        losses=losses,
        steps=trainer.state.global_step,
        seconds=round(time.perf_counter() - started, 1),
        rows_unchanged=unchanged,
    )


def rows_unchanged(prepared, rows: list[dict]) -> bool:
    """Whether the dataset TRL prepared holds each episode's ids as played, with labels on its loss mask only."""
    if len(prepared) != len(rows):
        return False
    for got, want in zip(prepared, rows, strict=True):
        if list(got["input_ids"]) != want["input_ids"]:
            return False
        labels = got.get("labels")
        if labels is not None and [label != -100 for label in labels] != [bool(m) for m in want["assistant_masks"]]:
            return False
    return True


def freeze_below(model, train_layers: int) -> int:
    """Train only the top `train_layers` decoder layers and the final norm (a CPU budget); returns trainable params.

    Gradients then stop at the lowest trained layer, so the backward pass costs a fraction of a full one.
    """
    layers = model.get_decoder().layers
    if not 1 <= train_layers <= len(layers):
        raise ValueError(f"train_layers must be between 1 and {len(layers)}")
    for parameter in model.parameters():
        parameter.requires_grad = False
    for module in [*layers[len(layers) - train_layers :], model.get_decoder().norm]:
        for parameter in module.parameters():
            parameter.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
