"""`swefarm optimize`: the scaffold self-optimisation loop, driven over the REST API."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def _load_config(path: Path) -> dict:
    import json

    import yaml

    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold a mapping of scaffold fields")
    return data


def _tasks(spec: str, repo: str | None, limit: int | None):
    from swefarm.optimize import Tasks

    if spec in ("all", "train", "test") or spec.startswith("split:"):
        return Tasks(split=spec.removeprefix("split:"), repo=repo, limit=limit)
    return Tasks(ids=[t.strip() for t in spec.split(",") if t.strip()], limit=limit)


def _show(directory: Path) -> None:
    from swefarm.optimize import Memory
    from swefarm.optimize.chart import bars, svg, table

    memory = Memory(directory)
    if not memory.entries:
        console.print(f"[red]no optimisation history in {directory}[/]")
        raise typer.Exit(1)
    out = Console()
    out.print(table(memory.entries))
    out.print(bars(memory.entries))
    chart = svg(memory.entries, directory / "history.svg")
    best = memory.best()
    if best is None:
        out.print(f"no scored round yet; memory {directory / 'memory.md'}; chart {chart}")
        return
    out.print(f"best: {best.scaffold} score {best.score:.3f}; memory {directory / 'memory.md'}; chart {chart}")


def optimize(
    scaffold: str = typer.Option(None, help="a scaffold on the farm (name), or a YAML/JSON file of scaffold fields"),
    name: str = typer.Option(None, help="the name to register a scaffold file under (default: the file's stem)"),
    policy: str = typer.Option(None, help="the policy every evaluation runs, e.g. openai:http://127.0.0.1:8000/v1"),
    tasks: str = typer.Option("all", help="task ids (comma-separated), or a split: all | train | test"),
    repo: str = typer.Option(None, help="only tasks of this repository (with a split)"),
    limit: int = typer.Option(None, help="at most this many tasks"),
    rounds: int = typer.Option(5, min=0, help="proposals to evaluate after the baseline"),
    operators: list[str] = typer.Option(None, help="mutation operators or groups (prompt, tools, limits); repeatable"),
    proposer: str = typer.Option("mutate", help="mutate (built-in operators), or openai:URL[#model] (a model)"),
    perturbation: str = typer.Option(None, help="also evaluate under this perturbation (reports the gap)"),
    repeats: int = typer.Option(1, min=1, help="episodes per task per evaluation"),
    seed: int = typer.Option(0, help="seeds the operators and the episodes"),
    api: str = typer.Option(None, help="the farm's URL (default $SWEFARM_API_URL, else http://127.0.0.1:8600)"),
    local: bool = typer.Option(False, help="start a farm on this machine for the run (and stop it after)"),
    out: Path = typer.Option(None, help="where history.json, memory.md, best.yaml and the chart go"),
    show: Path = typer.Option(None, help="only show the table and chart of a finished run's directory"),
) -> None:
    """Evaluate a scaffold, then each round propose a change, evaluate it, keep or revert; remember why.

    The token comes from SWEFARM_API_TOKEN (with --local, a fresh one)."""
    from swefarm.api.client import SwefarmClient
    from swefarm.api.contract.errors import ApiError
    from swefarm.optimize import Memory, ModelProposer, MutationProposer
    from swefarm.optimize import optimize as run_loop

    if show is not None:
        return _show(show)
    if not scaffold or not policy:
        raise typer.BadParameter("--scaffold and --policy are needed (or --show DIR)")
    path = Path(scaffold)
    config = _load_config(path) if path.suffix in (".yaml", ".yml", ".json") and path.exists() else None
    scaffold_name = name or (path.stem if config is not None else scaffold)
    out = out or Path(f"optimize-{scaffold_name}")
    try:
        mutate = MutationProposer(operators, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if proposer.startswith("openai:"):
        url, _, model = proposer.removeprefix("openai:").partition("#")
        chosen = ModelProposer(url, model or None, fallback=mutate)
    elif proposer == "mutate":
        chosen = mutate
    else:
        raise typer.BadParameter("--proposer is mutate or openai:URL[#model]")
    farm = None
    if local:
        from swefarm.api.farm.settings import DEFAULT_POLICIES
        from swefarm.api.local import LocalFarm

        allowed = list(dict.fromkeys([*DEFAULT_POLICIES, policy]))
        farm = LocalFarm(out / "farm", allowed_policies=allowed).start()
        client = farm.client()
    else:
        client = SwefarmClient(api)  # the token: $SWEFARM_API_TOKEN, read by the process settings

    def report(rnd) -> None:
        e = rnd.entry
        score = "n/a" if e.score is None else f"{e.score:.3f}"
        console.print(f"round {e.round}: {e.decision:<8} {score:>6}  {e.scaffold}  {e.change[:90]}")

    try:
        result = run_loop(
            client, scaffold_name, config, policy, _tasks(tasks, repo, limit), rounds, chosen, Memory(out),
            perturbation=perturbation, repeats=repeats, seed=seed, report=report,
        )  # fmt: skip
    except ApiError as exc:
        console.print(f"[red]the farm refused:[/] {exc.detail}")
        raise typer.Exit(1) from None
    finally:
        client.close()
        if farm is not None:
            farm.stop()
    _show(out)
    if not result.rounds:
        console.print("no round ran")


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
