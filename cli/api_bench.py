"""`swefarm bench api`: the REST load test (32 concurrent sessions on loopback by default)."""

from __future__ import annotations

import json

import typer
from rich.console import Console

console = Console(stderr=True)


def bench_api(
    sessions: int = typer.Option(32, min=1, help="concurrent sessions over REST (and envs in-process)"),
    steps: int = typer.Option(20, min=1, help="steps per session (5x that at concurrency 1)"),
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the demo task)"),
    api: str = typer.Option(None, help="an existing farm's URL (token in SWEFARM_API_TOKEN); default: a local one"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
) -> None:
    """p50/p95 step latency through REST next to the same steps in-process; every session must succeed."""
    import os
    import tempfile

    from swefarm.api.bench import run_all
    from swefarm.api.localfarm import LocalFarm
    from swefarm.cli.demo_task import task_for_demo
    from swefarm.sandbox.engine import connect

    task = task_for_demo(task_id, console)
    docker_client = connect(pool_size=2 * sessions + 8)
    with tempfile.TemporaryDirectory(prefix="swefarm-bench-api-") as home:
        farm = None
        if api is None:
            farm = LocalFarm(home, workers=1, worker_sessions=max(sessions, 2), pool_size=2).start()
            url, token = farm.url, farm.token
        else:
            url, token = api, os.environ.get("SWEFARM_API_TOKEN", "")
        try:
            with console.status("benchmarking") as status:
                result = run_all(task, docker_client, url, token, sessions, steps,
                                 progress=lambda m: status.update(f"benchmarking: {m}"))  # fmt: skip
        finally:
            if farm is not None:
                farm.stop()
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            console.print(f"{key:>36}  {value}")
    if result[f"rest_c{sessions}_sessions_ok"] != sessions:
        console.print(f"[red]{sessions - result[f'rest_c{sessions}_sessions_ok']} sessions failed[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("api")(bench_api)
