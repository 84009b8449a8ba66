"""`swefarm train tasks|sft|grpo`: training on swefarm with TRL (the `train` extra; `bench learn`: learn_cmd.py)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Train on swefarm tasks with TRL: SFT on a teacher's resolved episodes, then GRPO.")
console = Console(stderr=True)


def _say(message: str) -> None:
    console.print(escape(message))


def _split_ids(split: str, store: Path | None, limit: int | None) -> list[str]:
    from swefarm.tasks.store import TaskStore
    from swefarm.train.family import ensure_family, family_tasks

    ensure_family(store=store, progress=_say)
    ids = [t.instance_id for t in family_tasks(TaskStore(store), split)]
    return ids[:limit] if limit else ids


def _fail(what: str, exc: Exception) -> None:
    console.print(f"[red]{what} failed:[/] {escape(str(exc))}")
    raise typer.Exit(1) from None


@app.command("tasks")
def tasks_cmd(store: Path = typer.Option(None, "--store", help="task store (default: $SWEFARM_HOME/tasks.db)")) -> None:
    """Build and validate the minilib task family (single-file bugs; held-out modules for evaluation)."""
    from swefarm.tasks.store import TaskStore
    from swefarm.train.family import ensure_family, family_tasks

    try:
        ensure_family(store=store, progress=_say)
    except Exception as exc:
        _fail("building the family", exc)
    store_ = TaskStore(store)
    for split in ("train", "heldout"):
        ids = [t.instance_id for t in family_tasks(store_, split)]
        console.print(f"{split}: {len(ids)} tasks")
        for task_id in ids:
            print(f"{split}\t{task_id}")


@app.command("sft")
def sft_cmd(
    out: Path = typer.Option(Path("runs/sft"), "--out", help="where the model and trajectories go"),
    model: str = typer.Option(None, "--model", help="the model to fine-tune (default: SmolLM2-135M-Instruct)"),
    trajectories: Path = typer.Option(
        None, "--trajectories", help="a JSONL of trajectories to learn from (default: play the teacher)"
    ),
    tasks: int = typer.Option(None, "--tasks", help="how many of the family's training tasks (default: all)"),
    # the defaults are the recipe of bench/RESULTS.md's learning run (held-out well-formed calls 0.00 -> 1.00)
    episodes: int = typer.Option(3, "--episodes", min=1, help="teacher episodes per task"),
    epochs: float = typer.Option(1.5, "--epochs"),
    lr: float = typer.Option(5e-5, "--lr"),
    batch: int = typer.Option(2, "--batch", min=1, help="episodes per optimiser step"),
    train_layers: int = typer.Option(0, "--train-layers", help="train only the top N layers (0: all)"),
    store: Path = typer.Option(None, "--store"),
) -> None:
    """Rejection-sampling fine-tuning (TRL SFTTrainer) on the resolved episodes of the teacher (or of a file)."""
    from swefarm.policy.trajectory import read_jsonl, write_jsonl
    from swefarm.train import scaffold
    from swefarm.train.episodes import EpisodeSpec, play_many
    from swefarm.train.sft import run_sft
    from swefarm.train.teacher import TeacherFactory

    out.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            if trajectories is not None:
                played = list(read_jsonl(trajectories))
            else:
                ids = _split_ids("train", store, tasks)
                specs = [
                    EpisodeSpec(t, seed=k, episode=k, env_config=scaffold.env_config())
                    for t in ids
                    for k in range(episodes)
                ]
                with console.status(f"playing the teacher: {len(specs)} episodes"):
                    played = play_many(specs, TeacherFactory(model, look_first=False), store=store, concurrency=4)
                write_jsonl(played, out / "teacher.jsonl")
            result = run_sft(
                played, out, model=model, epochs=epochs, learning_rate=lr, batch_size=batch,
                train_layers=train_layers or None, log=_say,
            )  # fmt: skip
    except Exception as exc:
        _fail("SFT", exc)
    console.print(
        f"fine-tuned on {result.examples} episodes in {result.steps} steps ({result.seconds:.0f} s): {result.model_dir}"
    )
    print(json.dumps({"model": result.model_dir, "examples": result.examples, "loss": result.losses}))


@app.command("grpo")
def grpo_cmd(
    model: str = typer.Option(None, "--model", help="the model to start from (e.g. runs/sft/model)"),
    out: Path = typer.Option(Path("runs/grpo"), "--out"),
    tasks: int = typer.Option(None, "--tasks", help="how many of the family's training tasks (default: all)"),
    steps: int = typer.Option(4, "--steps", min=1),
    generations: int = typer.Option(4, "--generations", min=2, help="episodes per task per step (GRPO's group)"),
    tasks_per_step: int = typer.Option(2, "--tasks-per-step", min=1),
    lr: float = typer.Option(2e-6, "--lr"),
    train_layers: int = typer.Option(8, "--train-layers", help="train only the top N layers (0: all)"),
    store: Path = typer.Option(None, "--store"),
) -> None:
    """GRPO (TRL GRPOTrainer) with swefarm episodes as rollouts and the env's reward."""
    from swefarm.train import scaffold
    from swefarm.train.grpo import run_grpo

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            ids = _split_ids("train", store, tasks)
            result = run_grpo(model, ids, out, steps=steps, generations=generations, tasks_per_step=tasks_per_step,
                              learning_rate=lr, env_config=scaffold.env_config(), sampling=dict(scaffold.SAMPLING),
                              store=store, train_layers=train_layers or None, log=_say)  # fmt: skip
    except Exception as exc:
        _fail("GRPO", exc)
    console.print(f"{result.steps} GRPO steps in {result.seconds:.0f} s: {result.model_dir}")
    print(json.dumps({"model": result.model_dir, "log": result.log}))
