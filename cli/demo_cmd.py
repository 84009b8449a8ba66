"""`swefarm demo`: the main job end to end on embedded defaults.

For now: a warm pool on the base image, a sandbox handed out, a small git
project created and edited inside it, its diff taken, and the numbers shown.
"""

from __future__ import annotations

import statistics
import time

import typer
from rich.console import Console
from rich.table import Table

console = Console()

DEMO_STEPS = [
    ("python and git", "python3 --version && git --version"),
    ("who am I", "id -un && id -u"),
    ("a project", "mkdir -p demo && cd demo && git init -q && printf 'def add(a, b):\\n    return a - b\\n' > calc.py"),
    ("commit", "git add -A && git -c user.name=demo -c user.email=demo@x.invalid commit -qm init && git log --oneline"),
    ("state persists", "pwd && export ANSWER=42 && echo ANSWER=$ANSWER"),
    ("the bug", "python3 -c 'import calc; print(calc.add(2, 3))'"),
    ("fix it", "sed -i 's/a - b/a + b/' calc.py && python3 -c 'import calc; print(calc.add(2, 3))'"),
    ("no network", "python3 -c 'import socket; socket.create_connection((\"pypi.org\", 443), 2)' 2>&1 | tail -1"),
    ("read-only root", "touch /usr/x 2>&1 | tail -1"),
    ("a timeout", "echo started; sleep 30"),
]


def demo(image: str = typer.Option("swefarm/base:py3.11", help="image to run the sandbox from")) -> None:
    """Start a sandbox from a warm pool, run commands in it, and show the numbers."""
    from sandbox.engine import connect
    from sandbox.errors import SandboxError
    from sandbox.pool import SandboxPool

    try:
        client = connect()
        with console.status("starting a warm pool of 2 sandboxes"):
            t0 = time.perf_counter()
            pool = SandboxPool(image, size=2, client=client)
            pool.wait_ready()
            warm_s = time.perf_counter() - t0
        with pool:
            t0 = time.perf_counter()
            sb = pool.acquire()
            sb.run("true")
            acquire_ms = (time.perf_counter() - t0) * 1000
            with sb:
                _run_steps(sb)
                diff = sb.diff("demo")
                console.rule("diff of the working tree")
                console.print(diff, markup=False, highlight=False)
                lat = []
                for _ in range(200):
                    t = time.perf_counter()
                    sb.run("true")
                    lat.append(time.perf_counter() - t)
                t = time.perf_counter()
                sb.container.exec_run(["true"])
                docker_exec_ms = (time.perf_counter() - t) * 1000
    except SandboxError as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        raise typer.Exit(1) from None
    table = Table(title="numbers")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("pool of 2 warm (cold starts)", f"{warm_s:.2f} s")
    table.add_row("sandbox from the warm pool, first command answered", f"{acquire_ms:.2f} ms")
    table.add_row("command round trip (p50 of 200 `true`)", f"{statistics.median(lat) * 1000:.2f} ms")
    table.add_row("one `docker exec` of `true`, for comparison", f"{docker_exec_ms:.1f} ms")
    console.print(table)


def _run_steps(sb) -> None:
    for title, cmd in DEMO_STEPS:
        res = sb.run(cmd, timeout=2)
        status = "[yellow]timed out[/]" if res.timed_out else f"exit {res.exit_code}"
        console.print(f"[bold cyan]$ {cmd}[/]  [dim]({title}: {status}, {res.duration * 1000:.1f} ms)[/]")
        console.print(res.output.rstrip(), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(demo)
