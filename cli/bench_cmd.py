"""`swefarm bench ...`: benchmarks measured in one run on this machine (never timed tests)."""

from __future__ import annotations

import json

import typer
from rich.console import Console

app = typer.Typer(help="Benchmarks; record their figures in bench/RESULTS.md.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("sandbox")
def sandbox_bench(
    image: str = typer.Option("swefarm/base:py3.11", help="image the sandboxes start from"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
    quick: bool = typer.Option(False, help="fewer samples and 8 concurrent sandboxes instead of 32"),
) -> None:
    """Exec round trip vs docker exec, warm-pool acquire, cold start, 32 concurrent sandboxes, idle memory."""
    from sandbox.bench import run_all
    from sandbox.engine import connect
    from sandbox.errors import SandboxError

    try:
        with console.status("benchmarking") as status:
            result = run_all(connect(), image, quick=quick, progress=lambda m: status.update(f"benchmarking: {m}"))
    except SandboxError as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            console.print(f"{key:>28}  {value}")
