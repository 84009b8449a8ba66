"""`swefarm bench gold DATA`: build every instance of a SWE-bench-format file and grade its gold patch on
the dataset's own test lists (and the empty patch, which must never resolve)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def gold(
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="a SWE-bench-format JSONL file"),
    mirrors: Path = typer.Option(None, help="a folder of local mirrors (owner+name/repo or owner__name)"),
    home: Path = typer.Option(None, help="SWEFARM_HOME for the check (default: $SWEFARM_HOME/gold-check)"),
    source: str = typer.Option("swe-bench", help="the dataset's name in provenance (swe-bench* uses its specs)"),
    only: list[str] = typer.Option([], "--only", help="only these instances or repositories (repeatable)"),
    jobs: int = typer.Option(2, help="instances checked at once"),
    force: bool = typer.Option(False, help="check again instances that already have a result"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON on stdout"),
) -> None:
    """Gold resolved on the dataset's own lists, per instance and in total (exit 1 if any is not)."""
    from swefarm.settings import VARIABLES, swefarm_home

    home = (home or swefarm_home() / "gold-check").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ[VARIABLES["home"]] = str(home)  # this process's home: the store, build failures and clones
    from swefarm.harness.gold_check import check_gold
    from swefarm.tasks.store import TaskStore

    def done(r) -> None:
        state = (f"gold {'RESOLVED' if r.gold_resolved else 'not resolved'} (F2P {r.fail_to_pass}, P2P "
                 f"{r.pass_to_pass}), empty {'RESOLVED' if r.empty_resolved else 'not resolved'}"
                 if r.built else f"not built [{r.failure_class}] {r.reason[:300]}")  # fmt: skip
        console.print(f"{r.instance_id}: {state} ({r.seconds:.0f}s)", markup=False, highlight=False)

    console.print(f"checking {data} into {home}", markup=False)
    report = check_gold(data, TaskStore(home / "tasks.db"), mirrors, source=source, jobs=jobs, only=only,
                        force=force, on_done=done, log=lambda m: console.print(m, markup=False))  # fmt: skip
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _table(report)
    t = report["totals"]
    if t["gold_resolved"] < t["instances"] or t["empty_resolved"]:
        raise typer.Exit(1)


def _table(report: dict) -> None:
    table = Table(title="gold patches on the dataset's own lists")
    for col in ("instance", "built", "python / step", "gold", "F2P", "P2P", "empty", "why not"):
        table.add_column(col)
    for r in report["instances"]:
        why = r["reason"][:120] if not r["built"] else "; ".join(r["not_passing"][:3]) or r["infra_error"][:120]
        table.add_row(r["instance_id"], "yes" if r["built"] else f"no [{r['failure_class']}]",
                      f"{r['python']} {r['install_step']}".strip(), _mark(r["gold_resolved"]), r["fail_to_pass"],
                      r["pass_to_pass"], _mark(r["empty_resolved"]), why)  # fmt: skip
    console.print(table)
    console.print(json.dumps(report["totals"], indent=2), markup=False)


def _mark(value) -> str:
    return "-" if value is None else "resolved" if value else "no"
