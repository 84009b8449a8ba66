"""`swefarm bench perturb`: the same tasks unperturbed and under each perturbation family, and the gap.

Every family plays the same tasks with the same seeds (episode k of task t uses
seed + 1000 t + k), on one env per task wrapped differently per family, so the
rows differ only by the perturbation. The families take turns episode by
episode, and which one goes first rotates (the first episode on an image pays
for its cold page cache), so neither drift in the machine's load nor a cold
start falls on one family. A family may also be a combination ("system+tools",
or "all").
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)

DEFAULT_FAMILIES = "system,tools,user,layout,responses,all"


def perturb_bench(
    policy: str = typer.Option("oracle", "--policy", help="oracle | empty | transformers[:MODEL] | openai:URL | ..."),
    tasks: list[str] = typer.Option(
        None,
        "--tasks",
        help="valid task ids (repeat, or comma-separate); default: the store's valid tasks with "
        "--store, else the demo task",
    ),  # fmt: skip
    store: Path = typer.Option(None, "--store", help="task store (default: $SWEFARM_HOME/tasks.db)"),
    families: str = typer.Option(DEFAULT_FAMILIES, "--families", help="families or a+b combinations, comma-separated"),
    episodes: int = typer.Option(1, "--episodes", min=1, help="episodes per task and family"),
    seed: int = typer.Option(0, "--seed", help="base seed: episode k of task t uses seed + 1000 t + k"),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="steps per episode (default: the env's, 50)"),
    max_new_tokens: int = typer.Option(None, "--max-new-tokens", min=1, help="model policies: tokens per turn"),
    as_json: bool = typer.Option(False, "--json", help="print the summary and every episode as JSON on stdout"),
    chart: Path = typer.Option(None, "--chart", help="write the chart here (.svg, or .html for a page)"),
) -> None:
    """Success rate, steps and wall-clock per perturbation family, and the gap to unperturbed."""
    from swefarm.perturb import PerturbationError
    from swefarm.perturb.report import summarize, table, to_json, write_chart

    try:
        plan = _families(families)
        chosen = _tasks(tasks, store)
    except (PerturbationError, ValueError, KeyError) as exc:
        console.print(f"[red]cannot run the benchmark:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    options = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    with contextlib.redirect_stdout(sys.stderr):  # a backend's own messages must not spoil the JSON on stdout
        rows = _play(policy, options, chosen, plan, episodes, seed, max_steps)
    summary = summarize(rows)
    console.print(table(summary, title=f"Generalisation gap: {policy} on {len(chosen)} task(s), {episodes} each"))
    for row in [r for r in rows if r.error or r.infra_error][:5]:
        console.print(f"[yellow]{row.family} {row.task} #{row.episode}:[/] {escape(row.error or row.infra_error)}")
    if chart is not None:
        console.print(f"chart: {write_chart(summary, chart, title=f'Generalisation gap: {policy}')}")
    if as_json:
        meta = {"policy": policy, "tasks": [t.instance_id for t in chosen], "episodes_per_task": episodes, "seed": seed}
        print(json.dumps(to_json(summary, rows, meta), indent=2))


def _families(text: str) -> list[tuple[str, str | None]]:
    """(label, spec) per family to run, the unperturbed baseline first; each spec is checked now."""
    from swefarm.perturb import PerturbConfig

    plan: list[tuple[str, str | None]] = [("none", None)]
    for label in (part.strip() for part in text.split(",")):
        if label and label != "none" and label not in dict(plan):
            spec = label.replace("+", ",")
            PerturbConfig.load(spec).build()
            plan.append((label, spec))
    return plan


def _tasks(ids: list[str] | None, store: Path | None):
    from swefarm.cli.demo_task import task_for_demo
    from swefarm.tasks.models import TaskStatus
    from swefarm.tasks.store import TaskStore

    wanted = [i.strip() for part in ids or [] for i in part.split(",") if i.strip()]
    if not wanted and store is None:
        return [task_for_demo(None, console)]
    db = TaskStore(store) if store else TaskStore()
    chosen = [db.get(i) for i in wanted] if wanted else db.list(status=TaskStatus.VALID)
    invalid = [t.instance_id for t in chosen if t.status != TaskStatus.VALID]
    if invalid or not chosen:
        raise ValueError(f"not valid: {', '.join(invalid)}" if invalid else "no valid task in the store")
    return chosen


def _play(policy: str, options: dict, tasks: list, plan, episodes: int, seed: int, max_steps: int | None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from swefarm.envs.pools import wait_closed
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.perturb.report import EpisodeRow
    from swefarm.policy.factory import load_policy
    from swefarm.policy.scripted import play
    from swefarm.sandbox.engine import connect

    from swefarm import perturb

    client = connect()
    overrides = {"max_steps": max_steps} if max_steps else {}
    envs = {t.instance_id: SWEEnv(t, client=client, pool_size=1, **overrides) for t in tasks}
    limit = next(iter(envs.values())).config.max_steps + 5
    with console.status(f"loading policy {policy}"):
        factory = load_policy(policy, **options)
    rows: list[EpisodeRow] = []
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    try:
        with console.status("starting the sandboxes"):
            for env in envs.values():
                env.warm()  # so the first family measured does not pay for the pool's start
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("episodes", total=len(plan) * len(tasks) * episodes)
            for t, task in enumerate(tasks):
                wrapped = [(label, perturb.wrap(envs[task.instance_id], spec)) for label, spec in plan]
                for k in range(episodes):
                    start = (t + k) % len(wrapped)  # each family goes first as often as the others
                    for label, env in wrapped[start:] + wrapped[:start]:
                        progress.update(bar, description=f"{label}: {task.instance_id} #{k}")
                        rows.append(_episode(env, factory, task, label, k, seed + 1000 * t + k, limit, play))
                        progress.advance(bar)
    finally:
        factory.close()
        for env in envs.values():
            env.close()
        wait_closed()
    return rows


def _episode(env, factory, task, label: str, k: int, seed: int, limit: int, play):
    from swefarm.perturb.report import EpisodeRow, count_calls

    row = EpisodeRow(family=label, task=task.instance_id, episode=k, seed=seed, resolved=False, reward=0.0,
                     steps=0, wall_s=0.0)  # fmt: skip
    try:
        episode = play(env, factory.new(task), seed=seed, max_steps=limit)
    except Exception as exc:  # one failing episode (a model backend down, say) must not end the whole run
        row.error = f"{type(exc).__name__}: {exc}"
        return row
    outcome = episode.info.get("outcome") or {}
    row.resolved, row.reward = bool(outcome.get("resolved")), episode.reward
    row.steps, row.wall_s = episode.steps, round(episode.seconds, 3)
    row.calls_ok, row.turns = count_calls(episode.info.get("messages", []))
    row.infra_error = episode.info.get("infra_error")
    return row
