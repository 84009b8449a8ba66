"""`swefarm build`, `swefarm validate`, `swefarm grade` and `swefarm images list|gc`."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
images_app = typer.Typer(help="Show and free the disk swefarm's images use.", no_args_is_help=True)


def _store():
    from swefarm.tasks.store import TaskStore

    return TaskStore()


def _select(ids: list[str], repo: str | None, statuses: set[str] | None, force: bool):
    store = _store()
    if ids:
        try:
            tasks = [store.get(i) for i in ids]
        except KeyError as exc:
            console.print(f"[red]{exc.args[0]}[/]")
            raise typer.Exit(1) from None
    else:
        tasks = store.list(repo=repo)
    if not force and statuses is not None:
        tasks = [t for t in tasks if str(t.status) in statuses]
    return store, tasks


def _run_parallel(title: str, tasks, fn, workers: int):
    """Run fn(task) -> (task, outcome) over tasks with a progress bar; the store saves each as it ends."""
    store = _store()
    outcomes = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress, ThreadPoolExecutor(max_workers=workers) as pool:
        bar = progress.add_task(title, total=len(tasks))
        futures = {pool.submit(fn, t): t for t in tasks}
        for future in as_completed(futures):
            task, outcome = future.result()
            store.put(task)  # saved as soon as it is known: an interrupted run resumes from here
            outcomes.append(outcome)
            progress.update(bar, advance=1, description=f"{title}: {outcome.instance_id} {outcome.status}")
    return outcomes


def _report(title: str, outcomes) -> None:
    """The outcomes as a table with each reason whole (wrapped, never cut); exits 1 when any failed."""
    from rich.text import Text

    table = Table(title=title)
    table.add_column("task", no_wrap=True)
    for col in ("result", "seconds", "task layer MB", "task layer s"):
        table.add_column(col, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for o in sorted(outcomes, key=lambda o: o.instance_id):
        colour = "green" if o.ok else "red"
        layer = f"{o.layer_mb:.2f}" if o.layer_mb else ""
        layer_s = f"{o.layer_seconds:.1f}" if o.layer_seconds else ""
        table.add_row(o.instance_id, f"[{colour}]{o.status}[/]", f"{o.seconds:.1f}", layer, layer_s, Text(o.reason))
    console.print(table)
    ok = sum(o.ok for o in outcomes)
    console.print(f"{ok} of {len(outcomes)} ok")
    if ok < len(outcomes):
        console.print(f"{len(outcomes) - ok} failed: `swefarm tasks show ID` has each one's whole reason")
        raise typer.Exit(1)


def build(
    ids: list[str] = typer.Argument(None, help="instance ids (default: every task not built yet)"),
    repo: str = typer.Option(None, help="only tasks of this repository"),
    repo_path: list[str] = typer.Option([], "--repo-path", help="owner/name=PATH of a local clone or mirror"),
    overrides: Path = typer.Option(None, help="a YAML file of per-repository recipe overrides"),
    workers: int = typer.Option(2, help="builds at once"),
    force: bool = typer.Option(False, help="rebuild images that exist"),
) -> None:
    """Build environment and task images for tasks in the store."""
    from swefarm.harness.pipeline import build_task
    from swefarm.harness.repos import parse_repo_paths
    from swefarm.sandbox.engine import connect

    try:
        paths = parse_repo_paths(repo_path)
        extra = _load_overrides(overrides)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    _, tasks = _select(ids or [], repo, {"imported", "invalid"} if not ids else None, force)
    client = connect()
    outcomes = _run_parallel(
        "build", tasks, lambda t: build_task(client, t, paths, extra, force=force, log=console.print), workers
    )
    _report("build", outcomes)


def _load_overrides(path: Path | None) -> dict | None:
    if path is None:
        return None
    from swefarm.harness.overrides import load_overrides

    return load_overrides(path)


def validate(
    ids: list[str] = typer.Argument(None, help="instance ids (default: every built task)"),
    repo: str = typer.Option(None, help="only tasks of this repository"),
    runs: int = typer.Option(3, help="gold runs per task (flaky tests are those that change between them)"),
    workers: int = typer.Option(2, help="tasks validated at once"),
    force: bool = typer.Option(False, help="validate again tasks that already have a verdict"),
) -> None:
    """Validate built tasks: FAIL_TO_PASS, PASS_TO_PASS and flaky tests from real runs."""
    from swefarm.harness.outcomes import ValidationOutcome
    from swefarm.harness.pipeline import StepOutcome, validate_task
    from swefarm.sandbox.engine import connect

    _, tasks = _select(ids or [], repo, {"built"} if not ids else None, force)
    unbuilt = [t for t in tasks if not t.environment.image or (t.status_reason or "").startswith("build:")]
    tasks = [t for t in tasks if t not in unbuilt]
    skipped = [  # named but not built: reported, and the build's own reason is left as it is
        StepOutcome(
            instance_id=t.instance_id,
            ok=False,
            status="not built",
            code=ValidationOutcome.NOT_BUILT,
            reason=_not_built(t),
        )
        for t in (unbuilt if ids else [])
    ]
    client = connect() if tasks else None
    outcomes = _run_parallel("validate", tasks, lambda t: validate_task(client, t, runs=runs), workers) if tasks else []
    _report("validate", outcomes + skipped)


def _not_built(task) -> str:
    reason = (task.status_reason or "").removeprefix("build: ").split("\n--- build log tail", 1)[0].strip()
    if reason:
        fix = f"`swefarm build {task.instance_id} --force`"
        return f"its environment did not build: {reason}. Fix the recipe (--overrides), then {fix}"
    return f"not built yet: run `swefarm build {task.instance_id}` first"


def grade(
    instance_id: str = typer.Argument(..., help="the task to grade"),
    patch: Path = typer.Option(..., exists=True, dir_okay=False, help="the diff to grade ('-' not supported)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Grade a patch against a task in a fresh sealed container."""
    from swefarm.harness.grade import grade as run_grade

    _, (task,) = _select([instance_id], None, None, True)
    if not task.environment.image or (task.status_reason or "").startswith("build:"):
        console.print(f"[red]cannot grade {instance_id}:[/] {_not_built(task)}", highlight=False)
        raise typer.Exit(3)
    report = run_grade(task, patch.read_text())
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        verdict = (
            "[yellow]infra error[/]"
            if report.infra_error
            else ("[green]resolved[/]" if report.resolved else "[red]not resolved[/]")
        )
        console.print(
            f"{instance_id}: {verdict}  FAIL_TO_PASS {report.fail_to_pass_passed}/{report.fail_to_pass_total}"
            f"  PASS_TO_PASS {report.pass_to_pass_passed}/{report.pass_to_pass_total}  ({report.duration:.1f}s)"
        )
        if report.infra_error:
            console.print(report.infra_error, markup=False)
    if report.infra_error:
        raise typer.Exit(3)


@images_app.command("list")
def images_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every swefarm image with its role and size."""
    from swefarm.sandbox.engine import connect

    rows = []
    for image in connect().images.list(filters={"label": "swefarm.managed=true"}):
        labels = image.labels or {}
        rows.append(
            {
                "tag": (image.tags or [image.short_id])[0],
                "role": labels.get("swefarm.role", "?"),
                "size_mb": round(image.attrs["Size"] / 1024**2, 1),
                "created": image.attrs["Created"][:19],
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="swefarm images (sizes include shared layers)")
    for col in ("tag", "role", "size MB", "created"):
        table.add_column(col)
    for row in sorted(rows, key=lambda r: (r["role"], r["tag"])):
        table.add_row(row["tag"], row["role"], f"{row['size_mb']}", row["created"])
    console.print(table)


@images_app.command("gc")
def images_gc(
    tasks_too: bool = typer.Option(False, "--tasks", help="also remove task images (rebuilt in seconds)"),
    envs: bool = typer.Option(False, "--envs", help="also remove environment images"),
) -> None:
    """Remove dangling swefarm build layers, and task / environment images when asked."""
    from swefarm.sandbox.engine import connect

    client = connect()
    roles = {"task"} if tasks_too else set()
    roles |= {"env"} if envs else set()
    removed = 0
    for image in client.images.list(filters={"label": "swefarm.managed=true"}):
        if (image.labels or {}).get("swefarm.role") in roles:
            client.images.remove(image.id, force=True)
            removed += 1
    pruned = client.images.prune(filters={"dangling": True, "label": "swefarm.managed=true"})
    freed = (pruned.get("SpaceReclaimed") or 0) / 1024**2
    console.print(
        f"removed {removed} image(s), pruned {len(pruned.get('ImagesDeleted') or [])} dangling, {freed:.0f} MB freed"
    )


def register(app: typer.Typer) -> None:
    app.command()(build)
    app.command()(validate)
    app.command()(grade)
    app.add_typer(images_app, name="images")
