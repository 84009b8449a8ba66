"""`swefarm bench ...`: benchmarks measured in one run on this machine (never timed tests)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from swefarm.cli import gold_cmd, zoo_cmd

app = typer.Typer(help="Benchmarks; record their figures in bench/RESULTS.md.", no_args_is_help=True)
console = Console(stderr=True)
app.command("zoo")(zoo_cmd.zoo)
app.command("gold")(gold_cmd.gold)  # the real check on a SWE-bench file (make check-real)


@app.command("sandbox")
def sandbox_bench(
    image: str = typer.Option("swefarm/base:py3.11", help="image the sandboxes start from"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
    quick: bool = typer.Option(False, help="fewer samples and 8 concurrent sandboxes instead of 32"),
) -> None:
    """Exec round trip vs docker exec, warm-pool acquire, cold start, 32 concurrent sandboxes, idle memory."""
    from swefarm.sandbox.bench import run_all
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.errors import SandboxError

    try:
        with console.status("benchmarking") as status:
            result = run_all(connect(), image, quick=quick, progress=lambda m: status.update(f"benchmarking: {m}"))
    except SandboxError as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None
    _emit(result, as_json)


@app.command("env")
def env_bench(
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the demo task)"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
    quick: bool = typer.Option(False, help="fewer samples; concurrency 1 and 8 only"),
    mini: bool = typer.Option(True, help="measure mini-swe-agent's Docker environment side by side"),
) -> None:
    """Env reset and step latency vs mini-swe-agent's, and oracle episodes per minute at concurrency 1, 8, 32."""
    from swefarm.cli.demo_task import task_for_demo
    from swefarm.envs.bench import run_all
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.errors import SandboxError

    try:
        task = task_for_demo(task_id, console)
        with console.status("benchmarking") as status:
            result = run_all(task, connect(pool_size=64), quick=quick, mini=mini,
                             progress=lambda m: status.update(f"benchmarking: {m}"))  # fmt: skip
    except (SandboxError, RuntimeError, ValueError, KeyError) as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None
    _emit(result, as_json)


@app.command("policy")
def policy_bench(
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the demo task)"),
    backends: str = typer.Option("transformers,vllm", help="comma-separated backends to compare"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
    quick: bool = typer.Option(False, help="fewer prompts, shorter turns, fewer episodes"),
) -> None:
    """Tokens/s and turns/min per backend on the same prompts; episodes per hour at concurrency 1 and 8."""
    from swefarm.cli.demo_task import task_for_demo
    from swefarm.policy.bench import run_all
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.errors import SandboxError

    try:
        task = task_for_demo(task_id, console)
        with console.status("benchmarking") as status:
            result = run_all(task, None, connect(pool_size=64), tuple(b.strip() for b in backends.split(",") if b),
                             quick=quick, progress=lambda m: status.update(f"benchmarking: {m}"))  # fmt: skip
    except (SandboxError, RuntimeError, ValueError, KeyError) as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None
    _emit(result, as_json)


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            console.print(f"{key:>28}  {value}")


# Benchmarks whose commands live in their own modules (the area's code stays with its area).
from swefarm.cli import api_bench, perturb_bench  # noqa: E402

app.command("perturb")(perturb_bench.perturb_bench)  # the generalisation gap per perturbation family
api_bench.register(app)
