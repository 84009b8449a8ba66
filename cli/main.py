"""`swefarm`: one command, sub-commands per area. Each area's commands live in their own module."""

from __future__ import annotations

import sys

import typer
from swefarm.cli import (
    api_cmd,
    bench_cmd,
    demo_cmd,
    harness_cmd,
    mine_cmd,
    optimize_cmd,
    run_cmd,
    sandbox_cmd,
    tasks_cmd,
    train_cmd,
)


class SwefarmApp(typer.Typer):
    """The command, with one rule for the failures a user fixes outside swefarm: no Docker engine (or another
    infrastructure failure that reaches the top) prints one line that says what to do, never a traceback."""

    def __call__(self, *args, **kwargs):
        from swefarm.errors import InfrastructureError

        try:
            return super().__call__(*args, **kwargs)
        except InfrastructureError as exc:
            sys.stderr.write(f"swefarm: {type(exc).__name__}: {' '.join(str(exc).split())}\n")
            sys.exit(1)


app = SwefarmApp(help="swefarm: real GitHub PRs as sandboxed Gymnasium environments.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"swefarm {version('swefarm')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """swefarm: real GitHub PRs as sandboxed Gymnasium environments."""
    from swefarm.sandbox import registry

    # Commands start sandboxes from worker threads, which cannot install it themselves: a SIGTERM
    # (Ctrl-C is KeyboardInterrupt, handled at exit) must still remove every sandbox this process holds.
    registry.install_sigterm_handler()


sandbox_cmd.register(app)
demo_cmd.register(app)
harness_cmd.register(app)
run_cmd.register(app)
api_cmd.register(app)
optimize_cmd.register(app)
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(mine_cmd.app, name="mine")
app.add_typer(train_cmd.app, name="train")

if __name__ == "__main__":
    app()
