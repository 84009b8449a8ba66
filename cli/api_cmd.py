"""`swefarm serve` (the REST API, with its own workers) and `swefarm worker` (one more worker for a farm)."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

console = Console(stderr=True)


def _settings(**overrides):
    from swefarm.api.farm.settings import Settings

    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        console.print(f"[red]bad settings:[/] {exc}")
        raise typer.Exit(2) from None


def serve(
    host: str = typer.Option(None, help="address to bind (default 127.0.0.1; SWEFARM_HOST)"),
    port: int = typer.Option(None, help="port (default 8600; SWEFARM_PORT)"),
    db: str = typer.Option(None, "--db", help="SQLAlchemy URL of the state (default sqlite:///$SWEFARM_HOME/api.db)"),
    workers: int = typer.Option(None, "--workers", help="workers to start beside the API (default 1; 0 for a farm)"),
    store: str = typer.Option(None, help="the task store (default $SWEFARM_HOME/tasks.db)"),
    allow_policy: list[str] = typer.Option(None, help="a policy pattern the farm runs (repeatable; e.g. oracle)"),
    session_idle: float = typer.Option(None, help="seconds before an idle session expires (default 600)"),
) -> None:
    """Serve the REST API (tokens from SWEFARM_API_TOKENS or SWEFARM_API_TOKENS_FILE)."""
    from swefarm.api.server.serve import serve as run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings(
        host=host, port=port, database_url=db, local_workers=workers, task_store=store,
        allowed_policies=allow_policy or None, session_idle_s=session_idle,
    )  # fmt: skip
    try:
        settings.tokens()
    except ValueError as exc:
        console.print(f"[red]cannot serve:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"swefarm API on http://{settings.host}:{settings.port} (docs at /docs), "
                  f"{settings.local_workers} local worker(s), state in {settings.database_url}")  # fmt: skip
    run(settings)


def worker(
    db: str = typer.Option(None, "--db", help="SQLAlchemy URL of the farm's state (the API's)"),
    host: str = typer.Option(None, help="address of the internal endpoint (default 127.0.0.1)"),
    port: int = typer.Option(None, help="port of the internal endpoint (default: any free one)"),
    url: str = typer.Option(None, help="the URL the API reaches this worker at (default http://host:port)"),
    sessions: int = typer.Option(None, help="most live sessions (default 32)"),
    eval_slots: int = typer.Option(None, help="evaluation episodes at once (default 2)"),
    store: str = typer.Option(None, help="the task store (default $SWEFARM_HOME/tasks.db)"),
) -> None:
    """Run one farm worker: it holds sessions' sandboxes and runs evaluation episodes."""
    from swefarm.api.worker.host import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings(
        database_url=db, worker_host=host, worker_port=port, worker_url=url, worker_sessions=sessions,
        worker_eval_slots=eval_slots, task_store=store,
    )  # fmt: skip
    run_worker(settings)


farm_app = typer.Typer(help="The env farm's image, for `docker compose up` (compose.yaml).", no_args_is_help=True)


@farm_app.command("build")
def farm_build(base: str = typer.Option("swefarm/base:py3.11", help="the image to build on")) -> None:
    """Build the farm image from this checkout (tagged swefarm/farm:latest); prints its tag."""
    from swefarm.api.server.image import FarmBuildError, build_image
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.errors import SandboxError

    try:
        with console.status("building the farm image"):
            tag = build_image(connect(), base=base, log=lambda m: console.print(m))
    except (FarmBuildError, SandboxError) as exc:
        console.print(f"[red]the farm image did not build:[/] {exc}")
        raise typer.Exit(1) from None
    print(tag)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(farm_app, name="farm")
