"""`swefarm run ... --ray ADDRESS`: the rollouts of a plan played on the cluster's sandbox hosts.

Each episode is one job: the host loads the policy once (per spec and options), gets the task
shipped with the job (nodes need no shared task store), plays the episode with the same code as
a local run (`policy.rollout.play_episode`) and sends the trajectory back, which is appended to
the JSONL file as soon as it arrives. An episode whose host is lost is played again on another
host; after `max_attempts` losses it is written with `infra_error`. As in a local run, any other
infrastructure failure (Ray's, a policy a host cannot load) is written with its `error` and the
run goes on, and any other exception is a bug and stops the run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

from swefarm.cluster.errors import HostLostError
from swefarm.cluster.scheduler import Done, Scheduler
from swefarm.harness.images import task_image

from swefarm.errors import InfrastructureError


def play_on_host(ctx, plan, spec: str, options: dict, job: tuple[str, int, int], task):
    """Runs on the host: one episode of `plan` with the policy `spec`, as a local run plays it."""
    from swefarm.policy.rollout import play_episode

    local = replace(plan, store=ctx.store_with(task))
    return play_episode(local, ctx.policy(spec, options), job, ctx.client)


def run(plan, spec: str, options: dict, scheduler: Scheduler, out: str | Path | None = None,
        on_done: Callable[[Any, Done | None], None] | None = None) -> list:  # fmt: skip
    """Every episode of `plan` on the cluster; trajectories in the plan's order (JSONL appended as they end)."""
    from swefarm.policy.trajectory import Trajectory, write_jsonl
    from swefarm.tasks.store import TaskStore

    store = TaskStore(plan.store)
    tasks = {task_id: store.get(task_id) for task_id in plan.tasks}
    futures = {}
    for job in plan.jobs():
        task = tasks[job[0]]
        future = scheduler.submit(task_image(task), play_on_host, plan, spec, options, job, task)
        futures[future] = job
    results = []
    for future in as_completed(futures):
        task_id, k, seed = futures[future]
        done = None
        try:
            done = future.result()
            trajectory = done.value
        except HostLostError as exc:
            trajectory = Trajectory(task=task_id, episode=k, seed=seed, policy=spec, truncated=True,
                                    token_ids_exact=False, infra_error=str(exc))  # fmt: skip
        except InfrastructureError as exc:
            trajectory = Trajectory(task=task_id, episode=k, seed=seed, policy=spec, truncated=True,
                                    token_ids_exact=False, error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        if out is not None:
            write_jsonl([trajectory], out)
        results.append((trajectory, done))
        if on_done is not None:
            on_done(trajectory, done)
    order = {(task, k): i for i, (task, k, _) in enumerate(plan.jobs())}
    return sorted(results, key=lambda pair: order[(pair[0].task, pair[0].episode)])


def run_plan(plan, spec: str, options: dict, address: str, out: str | Path | None = None,
             on_done: Callable[[Any], None] | None = None) -> list:  # fmt: skip
    """`swefarm run --ray`: join the cluster, play the plan with `plan.concurrency` episodes at once per
    node, close the hosts; the trajectories in the plan's order."""
    from swefarm.cluster.connect import connect

    connect(address)
    with Scheduler(slots_per_host=plan.concurrency, pool_size=min(plan.concurrency, 2)) as scheduler:
        pairs = run(plan, spec, options, scheduler, out, (lambda t, d: on_done(t)) if on_done else None)
    return [trajectory for trajectory, _ in pairs]
