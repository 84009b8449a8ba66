"""`swefarm bench ray`: a local multi-node Ray cluster against one node, with a node killed mid-run."""

from __future__ import annotations

import contextlib
import json
import sys

import typer
from rich.console import Console

console = Console(stderr=True)


def bench_ray(
    nodes: int = typer.Option(3, min=2, help="nodes of the local cluster (a head and nodes-1 workers), on 127.0.0.1"),
    episodes: int = typer.Option(24, min=2, help="oracle episodes per pass"),
    slots: int = typer.Option(2, min=1, help="episodes at once per node"),
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the demo task)"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
) -> None:
    """Episodes per minute on N nodes vs one, node-kill recovery, leaks, scheduling and remote step latency."""
    from swefarm.cli.demo_task import task_for_demo
    from swefarm.cluster.bench import run_all
    from swefarm.cluster.errors import ClusterError
    from swefarm.sandbox.errors import SandboxError

    try:
        task = task_for_demo(task_id, console)
        # Ray prints what it hears of dead nodes (the one this benchmark kills) on stdout: keep stdout for the JSON
        with console.status("benchmarking") as status, contextlib.redirect_stdout(sys.stderr):
            result = run_all(task, nodes=nodes, episodes=episodes, slots=slots,
                             progress=lambda m: status.update(f"benchmarking: {m}"))  # fmt: skip
    except (ClusterError, SandboxError, RuntimeError, ValueError, KeyError) as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            console.print(f"{key:>30}  {value}")
    if result["episodes_ok"] != result["episodes"] or not result["node_kill_recovered"] or result["leaked_containers"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ray")(bench_ray)
