"""`swefarm bench learn`: SFT then GRPO with TRL, before and after on held-out tasks (the `train` extra)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def _say(message: str) -> None:
    console.print(escape(message))


def learn(
    quick: bool = typer.Option(False, "--quick", help="a few minutes: a handful of steps (CI)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
    out: Path = typer.Option(Path("bench/out/learn"), "--out", help="trajectories, models and result.json"),
    store: Path = typer.Option(None, "--store", help="task store (default: $SWEFARM_HOME/tasks.db)"),
    chart: Path = typer.Option(None, "--chart", help="write the learning curve here (.svg)"),
    heldout: int = typer.Option(None, "--heldout", help="held-out tasks to evaluate on (default: all)"),
    episodes: int = typer.Option(None, "--episodes", help="episodes per held-out task and seed"),
    grpo_steps: int = typer.Option(None, "--grpo-steps"),
    teacher_episodes: int = typer.Option(None, "--teacher-episodes", help="teacher episodes per training task"),
    sft_epochs: float = typer.Option(None, "--sft-epochs"),
    eval_backend: str = typer.Option(
        None, "--eval-backend", help="auto (vLLM where installed, else transformers) | vllm | transformers"
    ),
) -> None:
    """Before/after on held-out tasks: well-formed calls, resolve rate per seed, pass@k; SFT then GRPO with TRL."""
    from swefarm.bench.learn import LearnPlan, run_learn
    from swefarm.bench.learn_chart import write_curve

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    plan = LearnPlan.quick() if quick else LearnPlan()
    options = {"heldout_tasks": heldout, "episodes": episodes, "grpo_steps": grpo_steps,
               "teacher_episodes": teacher_episodes, "sft_epochs": sft_epochs,
               "eval_backend": eval_backend}  # fmt: skip
    for name, value in options.items():
        if value is not None:
            setattr(plan, name, value)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # trainers print; the JSON on stdout stays clean
            result = run_learn(plan, out, store=store, progress=_say)
    except Exception as exc:
        console.print(f"[red]the learning benchmark failed:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    if chart is not None:
        write_curve(result, chart)
        console.print(f"chart: {chart}")
    keys = ("well_formed_calls_before", "well_formed_calls_after", "resolve_rate_before", "resolve_rate_after")
    console.print("  ".join(f"{k}={result[k]}" for k in keys) + f"  train_minutes={result['train_minutes']}")
    if as_json:
        print(json.dumps(result, indent=2))
