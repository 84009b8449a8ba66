"""The perturbation benchmark behind `swefarm bench perturb`: the same tasks unperturbed and under each
perturbation family, and the gap.

Every family plays the same tasks with the same seeds (episode k of task t uses
seed + 1000 t + k), on one env per task wrapped differently per family, so the
rows differ only by the perturbation. The families take turns episode by
episode, and which one goes first rotates (the first episode on an image pays
for its cold page cache), so neither drift in the machine's load nor a cold
start falls on one family. A family may also be a combination ("system+tools",
or "all").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

DEFAULT_FAMILIES = "system,tools,user,layout,responses,all"


def families(text: str) -> list[tuple[str, str | None]]:
    """(label, spec) per family to run, the unperturbed baseline first; each spec is checked now."""
    from swefarm.perturb import PerturbConfig

    plan: list[tuple[str, str | None]] = [("none", None)]
    for label in (part.strip() for part in text.split(",")):
        if label and label != "none" and label not in dict(plan):
            spec = label.replace("+", ",")
            PerturbConfig.load(spec).build()
            plan.append((label, spec))
    return plan


def choose_tasks(ids: list[str] | None, store: Path | None, console: Console):
    from swefarm.harness.demo import task_for_demo
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


def play_families(policy: str, options: dict, tasks: list, plan, episodes: int, seed: int, max_steps: int | None,
                  console: Console):  # fmt: skip
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from swefarm.envs.pools import wait_closed
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.perturb.report import EpisodeRow
    from swefarm.policy.factory import load_policy
    from swefarm.sandbox.engine import connect

    from swefarm import perturb

    client = connect()
    overrides: dict[str, Any] = {"max_steps": max_steps} if max_steps else {}
    envs = {t.instance_id: SWEEnv(t, client=client, pool_size=1, **overrides) for t in tasks}
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
                        rows.append(_episode(env, factory, task, label, k, seed + 1000 * t + k))
                        progress.advance(bar)
    finally:
        factory.close()
        for env in envs.values():
            env.close()
        wait_closed()
    return rows


def _episode(env, factory, task, label: str, k: int, seed: int):
    from swefarm.perturb.report import EpisodeRow, count_calls
    from swefarm.policy.episode import play

    row = EpisodeRow(family=label, task=task.instance_id, episode=k, seed=seed, resolved=False, reward=0.0,
                     steps=0, wall_s=0.0)  # fmt: skip
    episode = play(env, factory.new(task), seed=seed)
    if episode.error is not None:  # an infrastructure failure (a model backend down, say): the run goes on
        row.error = episode.error
        return row
    outcome = episode.info.get("outcome") or {}
    row.resolved, row.reward = bool(outcome.get("resolved")), episode.reward
    row.steps, row.wall_s = episode.steps, round(episode.seconds, 3)
    row.calls_ok, row.turns = count_calls(episode.info.get("messages", []))
    row.infra_error = episode.info.get("infra_error")
    return row
