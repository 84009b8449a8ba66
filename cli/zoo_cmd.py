"""`swefarm bench zoo`: mine a window of every repository in the zoo manifest and report the figures."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
#: The manifest checked in beside bench/RESULTS.md (a source checkout).
DEFAULT_MANIFEST = Path(__file__).resolve().parents[1] / "bench" / "zoo.yaml"  # installed with swefarm.bench
#: The JavaScript/TypeScript zoo (`--lang js`).
JS_MANIFEST = DEFAULT_MANIFEST.with_name("zoo_js.yaml")


def zoo(
    manifest: Path = typer.Option(None, exists=True, dir_okay=False, help="the zoo manifest (YAML; default by --lang)"),
    lang: str = typer.Option("python", "--lang", help="python (bench/zoo.yaml) | js (bench/zoo_js.yaml)"),
    mirrors: Path = typer.Option(None, help="a folder of local mirrors (owner+name/repo or owner__name)"),
    home: Path = typer.Option(None, help="SWEFARM_HOME for the run (default: $SWEFARM_HOME/zoo)"),
    only: list[str] = typer.Option([], "--only", help="only these repositories (owner/name; repeatable)"),
    jobs: int = typer.Option(2, help="repositories mined at once"),
    runs: int = typer.Option(2, help="gold runs per task in validation"),
    timeout: float = typer.Option(3600, help="seconds one repository may take"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON on stdout"),
) -> None:
    """Mine each zoo window with `swefarm mine git`: candidates, tasks, environments, valid tasks, failure classes."""
    from swefarm.bench.zoo import load_manifest, run_zoo

    from swefarm.settings import swefarm_home

    language = {"js": "javascript", "ts": "javascript"}.get(lang, lang)
    manifest = manifest or (JS_MANIFEST if language == "javascript" else DEFAULT_MANIFEST)
    try:
        entries = [e for e in load_manifest(manifest) if e.language == language]
    except (OSError, ValueError) as exc:
        console.print(f"[red]{exc}[/]", markup=False)
        raise typer.Exit(2) from None
    if only:
        unknown = set(only) - {e.repo for e in entries}
        if unknown:
            console.print(f"[red]not in {manifest}: {', '.join(sorted(unknown))}[/]")
            raise typer.Exit(2)
        entries = [e for e in entries if e.repo in only]
    home = (home or swefarm_home() / "zoo").expanduser().resolve()
    console.print(f"mining {len(entries)} repositories, {jobs} at a time, into {home}")

    def done(r) -> None:
        envs = {True: "env ok", False: "env FAILED", None: "no tasks"}[r.env_build_ok]
        state = "error" if r.error else envs
        console.print(
            f"{r.repo}: {r.candidates} candidates, {r.tasks} tasks, envs {r.envs_built}/{r.envs_attempted}, "
            f"{r.valid} valid ({state}, {r.seconds:.0f}s) {r.failures or ''} {r.error[:200]}",
            markup=False,
        )

    report = run_zoo(entries, home, mirrors, jobs=jobs, runs=runs, timeout=timeout, on_done=done, log=console.print)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _table(report)


def _table(report: dict) -> None:
    table = Table(title="repository zoo")
    for col in ("repository", "window", "cand.", "tasks", "envs", "valid", "yield %", "failures"):
        table.add_column(col)
    for r in report["repos"]:
        fails = ", ".join(f"{k} {v}" for k, v in r["failures"].items())
        table.add_row(r["repo"], r["window"], str(r["candidates"]), str(r["tasks"]),
                      f"{r['envs_built']}/{r['envs_attempted']}", str(r["valid"]), f"{r['yield_pct']}",
                      (fails + (" " + r["error"][:80] if r["error"] else "")).strip())  # fmt: skip
    console.print(table)
    console.print(json.dumps(report["totals"], indent=2), markup=False)
