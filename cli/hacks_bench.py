"""`swefarm bench hacks`: the hostile grading suite through the env and through `swefarm grade`, and what
the defences cost (the implementation is envs/bench_hacks.py; this is the command)."""

from __future__ import annotations

import contextlib
import json
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(stderr=True)


def hacks_bench(
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the demo task)"),
    attacks: str = typer.Option(None, "--attacks", help="comma-separated attack names (default: every one)"),
    runs: int = typer.Option(5, "--runs", min=1, help="gold gradings timed with and without the defences"),
    timing_only: bool = typer.Option(False, "--timing-only", help="time grading only; play no attack"),
    as_json: bool = typer.Option(False, "--json", help="print the summary (and every attack) as JSON on stdout"),
) -> None:
    """Play every attack on grading through the env and through `swefarm grade`: none may resolve or end in
    infra_error. Time grading the gold patch with and without the defences."""
    from swefarm.cli.demo_task import task_for_demo
    from swefarm.envs.bench_hacks import grade_timing, run_attacks, summarize
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.errors import SandboxError

    try:
        task = task_for_demo(task_id, console)
    except (KeyError, ValueError, SandboxError) as exc:
        console.print(f"[red]cannot run the benchmark:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    client = connect()
    names = [n.strip() for n in attacks.split(",") if n.strip()] if attacks else None

    def make_env(grade_timeout: float):
        return SWEEnv(task, client=client, grade_timeout_s=grade_timeout, pool_size=1)

    with console.status("benchmarking") as status, contextlib.redirect_stdout(sys.stderr):
        progress = lambda message: status.update(f"benchmarking: {escape(message)}")  # noqa: E731
        rows = [] if timing_only else run_attacks(task, client, make_env, names, progress=progress)
        timing = grade_timing(task, client, runs=runs, progress=progress)
    summary = summarize(rows, timing)
    summary["task"] = task.instance_id
    if as_json:
        print(json.dumps({**summary, "played": [row.__dict__ for row in rows]}, indent=2))
    else:
        _table(rows, summary)
    if summary["resolved"] or summary["infra_error"]:
        raise typer.Exit(1)


def _table(rows, summary: dict) -> None:
    table = Table(title=f"hostile grading on {summary['task']}")
    for column in ("attack", "via", "class", "outcome", "seconds"):
        table.add_column(column)
    for row in rows:
        outcome = "RESOLVED" if row.resolved else row.infra_error and "INFRA ERROR" or ", ".join(row.signals) or "0"
        style = "" if row.ok else "red"
        table.add_row(row.attack, row.via, row.klass, outcome, f"{row.seconds:.1f}", style=style)
    console.print(table)
    for key, value in summary.items():
        if key not in ("unexpected",):
            console.print(f"{key:>30}  {value}")
    for line in summary["unexpected"]:
        console.print(f"[red]unexpected:[/] {escape(line)}")
