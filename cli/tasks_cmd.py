"""`swefarm tasks ...`: import, list, show and export the tasks in the store ($SWEFARM_HOME/tasks.db)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

# imported from the defining modules: tests/tasks/ can shadow the package name `tasks` on sys.path
from swefarm.tasks.importers import FORMATS, TaskFormatError
from swefarm.tasks.models import Task, TaskStatus, format_created_at
from swefarm.tasks.store import TaskNotFoundError, TaskStore

app = typer.Typer(help="The task store: import datasets, list, show and export tasks.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

RepoOpt = typer.Option(None, "--repo", help="only tasks of this repo, e.g. 'pydicom/pydicom'")
StatusOpt = typer.Option(None, "--status", help=f"only tasks in this status: {', '.join(s.value for s in TaskStatus)}")
SinceOpt = typer.Option(None, "--since", help="only tasks created on or after this date (ISO, e.g. 2022-01-31)")
UntilOpt = typer.Option(
    None, "--until", help="only tasks created on or before this date (ISO; a day includes all of it)"
)
LimitOpt = typer.Option(None, "--limit", min=1, help="at most this many tasks")
QUALITY_CHOICES = ("ok", "flagged", "unjudged", "thin", "leaks_fix", "not_a_statement")
QualityOpt = typer.Option(
    None,
    "--quality",
    help="only tasks whose problem statement is: ok (no flag), flagged (any flag), unjudged, or has the flag "
    "thin, leaks_fix or not_a_statement",
)


def fail(message: str) -> typer.Exit:
    """Print a red error and return the exit to raise."""
    err.print(f"[red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(1)


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="JSONL (or JSON list) file of task records"),
    source: str = typer.Option(None, "--source", help="dataset name kept in provenance, e.g. swe-bench-lite"),
    fmt: str = typer.Option("auto", "--format", help=f"record format: {'|'.join(FORMATS)}"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="skip malformed records (counted) instead of stopping"),
) -> None:
    """Import a SWE-bench, SWE-Gym, SWE-rebench or swefarm file; importing it again adds nothing twice."""
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not file.is_file():
        raise fail(f"no such file: {file}")
    store = TaskStore()
    try:
        with err.status(f"importing {file.name}"):
            report = store.import_jsonl(file, source=source, fmt=fmt, skip_bad=skip_bad)
    except TaskFormatError as exc:
        raise fail(f"{exc}\n(use --skip-bad to skip malformed records)") from None
    for message in report.errors[:10]:
        err.print(f"[yellow]skipped[/] {escape(message)}", highlight=False)
    out.print(
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.skipped} skipped -> {store.path}",
        markup=False,
        highlight=False,
    )


@app.command("list")
def list_cmd(
    repo: str = RepoOpt,
    status: str = StatusOpt,
    since: str = SinceOpt,
    until: str = UntilOpt,
    limit: int = LimitOpt,
    quality: str = QualityOpt,
) -> None:
    """A table of the stored tasks, oldest first."""
    if quality and quality not in QUALITY_CHOICES:
        raise fail(f"unknown quality {quality!r}; choose one of {', '.join(QUALITY_CHOICES)}")
    store = TaskStore()
    filters = _filters(repo, status, since, until)
    if quality:
        matching = [t for t in store.iter(**filters) if quality_matches(t, quality)]
        tasks, total = matching[:limit] if limit else matching, len(matching)
    else:
        tasks, total = store.list(**filters, limit=limit), store.count(**filters)
    table = Table(title=f"{len(tasks)} of {total} matching tasks ({store.count()} stored)")
    for name in ("instance_id", "repo", "created", "status", "#F2P", "#P2P", "statement"):
        numeric = name.startswith("#")
        table.add_column(name, justify="right" if numeric else "left", overflow="fold", no_wrap=name != "repo")
    for t in tasks:
        created = t.created_at.date().isoformat() if t.created_at else "-"
        judged = "-" if t.quality is None else (", ".join(t.quality.flags) or "ok")
        cells = (t.instance_id, t.repo, created, t.status.value, str(len(t.FAIL_TO_PASS)), str(len(t.PASS_TO_PASS)))
        table.add_row(*(Text(c) for c in (*cells, judged)))
    out.print(table)


def quality_matches(task: Task, wanted: str) -> bool:
    """Whether `task`'s statement verdict is `wanted`: ok, flagged, unjudged, or carries that flag."""
    if task.quality is None:
        return wanted == "unjudged"
    if wanted in ("ok", "flagged"):
        return task.quality.ok == (wanted == "ok")
    return wanted in task.quality.flags


@app.command("show")
def show_cmd(
    instance_id: str = typer.Argument(..., help="the task's instance_id"),
    as_json: bool = typer.Option(False, "--json", help="print the full record as JSON"),
) -> None:
    """One task: its fields, environment, provenance, the problem statement (trimmed) and patch sizes."""
    try:
        task = TaskStore().get(instance_id)
    except TaskNotFoundError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(task.model_dump_json(indent=2))
        return
    out.print(_summary(task))
    statement = task.problem_statement.strip()
    trimmed = statement[:1200] + (f"\n... ({len(statement) - 1200} more characters)" if len(statement) > 1200 else "")
    out.rule("problem statement")
    out.print(trimmed, markup=False, highlight=False)


@app.command("export")
def export_cmd(
    file: Path = typer.Argument(..., help="JSONL file to write"),
    fmt: str = typer.Option("swefarm", "--format", help="swefarm (full records) | swebench (SWE-bench instances)"),
    repo: str = RepoOpt,
    status: str = StatusOpt,
    since: str = SinceOpt,
    until: str = UntilOpt,
    limit: int = LimitOpt,
) -> None:
    """Write the stored tasks (filtered) as JSONL."""
    if fmt not in ("swefarm", "swebench"):
        raise fail(f"unknown export format {fmt!r}; choose swefarm or swebench")
    if not file.parent.is_dir():
        raise fail(f"no such directory: {file.parent}")
    n = TaskStore().export_jsonl(file, fmt, **_filters(repo, status, since, until), limit=limit)
    out.print(f"{n} tasks written to {file} ({fmt})", markup=False, highlight=False)


def _filters(repo: str | None, status: str | None, since: str | None, until: str | None) -> dict:
    if status and status not in {s.value for s in TaskStatus}:
        raise fail(f"unknown status {status!r}; choose one of {', '.join(s.value for s in TaskStatus)}")
    return {"repo": repo, "status": status, "created_after": _date(since), "created_before": _date(until, after=True)}


def _date(text: str | None, after: bool = False) -> datetime | None:
    """An ISO date or time; with `after`, a bare date means the start of the next day (the store's
    upper bound is exclusive, so `--until 2022-01-31` keeps the whole 31st)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"not an ISO date: {text!r} (e.g. 2022-01-31 or 2022-01-31T12:00:00Z)") from None
    if after and len(text.strip()) == 10:
        when += timedelta(days=1)
    return when


def _summary(task: Task) -> Table:
    table = Table(show_header=False, box=None, title=escape(task.instance_id), title_justify="left")
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    status = task.status.value + (f" ({task.status_reason})" if task.status_reason else "")
    rows = {
        "repo": task.repo,
        "status": status,
        "base_commit": task.base_commit,
        "env setup commit": task.environment_setup_commit or "-",
        "version": task.version or "-",
        "created": format_created_at(task.created_at) or "-",
        "FAIL_TO_PASS": _tests(task.FAIL_TO_PASS),
        "PASS_TO_PASS": _tests(task.PASS_TO_PASS),
        "patch": _size(task.patch),
        "test_patch": _size(task.test_patch) + f", files: {', '.join(task.test_files()) or '-'}",
        "hints": f"{len(task.hints_text)} characters",
        "statement quality": _quality(task),
        "other fields": ", ".join(task.extra) or "-",
    }
    for section, model in (("environment", task.environment), ("provenance", task.provenance)):
        for key, value in model.model_dump(mode="json", exclude_defaults=True).items():
            rows[f"{section}.{key}"] = _short(value)
    for key, value in rows.items():
        table.add_row(key, Text(value))
    return table


def _quality(task: Task) -> str:
    if task.quality is None:
        return "not judged"
    verdict = ", ".join(task.quality.flags) or "ok"
    return verdict + (f" ({'; '.join(task.quality.notes)})" if task.quality.notes else "")


def _tests(names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (f", ... ({len(names)} in all)" if len(names) > 3 else "")
    return shown or "(none)"


def _size(diff: str) -> str:
    lines = diff.splitlines()
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
    return f"{len(diff)} bytes, +{added} -{removed} lines"


def _short(value: object, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + " ..."
