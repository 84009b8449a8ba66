"""`swefarm bench ...`: benchmarks measured in one run on this machine (never timed tests).

The measuring lives in the `bench` package, one module per area; these are its commands.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from swefarm.cli import gold_cmd, learn_cmd, zoo_cmd

app = typer.Typer(help="Benchmarks; record their figures in bench/RESULTS.md.", no_args_is_help=True)
console = Console(stderr=True)
app.command("zoo")(zoo_cmd.zoo)
app.command("learn")(learn_cmd.learn)  # SFT then GRPO with TRL: the train extra
app.command("gold")(gold_cmd.gold)  # the real check on a SWE-bench file (make check-real)
_TASK = typer.Option(None, "--task", help="a valid task in the store (default: the demo task)")
_JSON = typer.Option(False, "--json", help="print the figures as JSON on stdout")


@app.command("sandbox")
def sandbox_bench(
    image: str = typer.Option("swefarm/base:py3.11", help="image the sandboxes start from"),
    as_json: bool = _JSON,
    quick: bool = typer.Option(False, help="fewer samples and 8 concurrent sandboxes instead of 32"),
) -> None:
    """Exec round trip vs docker exec, warm-pool acquire, cold start, 32 concurrent sandboxes, idle memory."""
    from swefarm.bench.sandbox import run_all
    from swefarm.sandbox.engine import connect

    _measure(lambda progress: run_all(connect(), image, quick=quick, progress=progress), as_json)


@app.command("env")
def env_bench(
    task_id: str = _TASK,
    as_json: bool = _JSON,
    quick: bool = typer.Option(False, help="fewer samples; concurrency 1 and 8 only"),
    mini: bool = typer.Option(True, help="measure mini-swe-agent's Docker environment side by side"),
) -> None:
    """Env reset and step latency vs mini-swe-agent's, and oracle episodes per minute at concurrency 1, 8, 32."""
    from swefarm.bench.env import run_all
    from swefarm.harness.demo import task_for_demo
    from swefarm.sandbox.engine import connect

    task = _task(task_for_demo, task_id)
    _measure(lambda progress: run_all(task, connect(pool_size=64), quick=quick, mini=mini, progress=progress), as_json)


@app.command("fork")
def fork_bench(
    task_id: str = _TASK, as_json: bool = _JSON, quick: bool = typer.Option(False, help="fewer samples")
) -> None:
    """env.fork(1) and env.fork(8) mid-episode, from the warm pool, next to a cold reset; siblings checked identical."""
    from swefarm.bench.fork import run_all
    from swefarm.harness.demo import task_for_demo
    from swefarm.sandbox.engine import connect

    task = _task(task_for_demo, task_id)
    _measure(lambda progress: run_all(task, connect(pool_size=32), quick=quick, progress=progress), as_json)


@app.command("policy")
def policy_bench(
    task_id: str = _TASK,
    backends: str = typer.Option("transformers,vllm", help="comma-separated backends to compare"),
    as_json: bool = _JSON,
    quick: bool = typer.Option(False, help="fewer prompts, shorter turns, fewer episodes"),
) -> None:
    """Tokens/s and turns/min per backend on the same prompts; episodes per hour at concurrency 1 and 8."""
    from swefarm.bench.policy import run_all
    from swefarm.harness.demo import task_for_demo
    from swefarm.sandbox.engine import connect

    task = _task(task_for_demo, task_id)
    chosen = tuple(b.strip() for b in backends.split(",") if b)
    _measure(lambda progress: run_all(task, None, connect(pool_size=64), chosen, quick=quick, progress=progress),
             as_json)  # fmt: skip


@app.command("perturb")
def perturb_bench(
    policy: str = typer.Option("oracle", "--policy", help="oracle | empty | transformers[:MODEL] | openai:URL | ..."),
    tasks: list[str] = typer.Option(
        None,
        "--tasks",
        help="valid task ids (repeat, or comma-separate); default: the store's valid tasks with "
        "--store, else the demo task",
    ),  # fmt: skip
    store: Path = typer.Option(None, "--store", help="task store (default: $SWEFARM_HOME/tasks.db)"),
    families: str = typer.Option(
        "system,tools,user,layout,responses,all", "--families", help="families or a+b combinations, comma-separated"
    ),
    episodes: int = typer.Option(1, "--episodes", min=1, help="episodes per task and family"),
    seed: int = typer.Option(0, "--seed", help="base seed: episode k of task t uses seed + 1000 t + k"),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="steps per episode (default: the env's, 50)"),
    max_new_tokens: int = typer.Option(None, "--max-new-tokens", min=1, help="model policies: tokens per turn"),
    as_json: bool = typer.Option(False, "--json", help="print the summary and every episode as JSON on stdout"),
    chart: Path = typer.Option(None, "--chart", help="write the chart here (.svg, or .html for a page)"),
) -> None:
    """Success rate, steps and wall-clock per perturbation family, and the gap to unperturbed."""
    from swefarm.bench.perturb import choose_tasks, play_families
    from swefarm.bench.perturb import families as parse_families
    from swefarm.perturb import PerturbationError
    from swefarm.perturb.report import summarize, table, to_json, write_chart

    try:
        plan = parse_families(families)
        chosen = choose_tasks(tasks, store, console)
    except (PerturbationError, ValueError, KeyError) as exc:
        console.print(f"[red]cannot run the benchmark:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    options = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    with contextlib.redirect_stdout(sys.stderr):  # a backend's own messages must not spoil the JSON on stdout
        rows = play_families(policy, options, chosen, plan, episodes, seed, max_steps, console)
    summary = summarize(rows)
    console.print(table(summary, title=f"Generalisation gap: {policy} on {len(chosen)} task(s), {episodes} each"))
    for row in [r for r in rows if r.error or r.infra_error][:5]:
        console.print(f"[yellow]{row.family} {row.task} #{row.episode}:[/] {escape(row.error or row.infra_error)}")
    if chart is not None:
        console.print(f"chart: {write_chart(summary, chart, title=f'Generalisation gap: {policy}')}")
    if as_json:
        meta = {"policy": policy, "tasks": [t.instance_id for t in chosen], "episodes_per_task": episodes, "seed": seed}
        print(json.dumps(to_json(summary, rows, meta), indent=2))


@app.command("api")
def api_bench(
    sessions: int = typer.Option(32, min=1, help="concurrent sessions over REST (and envs in-process)"),
    steps: int = typer.Option(20, min=1, help="steps per session (5x that at concurrency 1)"),
    task_id: str = _TASK,
    api: str = typer.Option(None, help="an existing farm's URL (token in SWEFARM_API_TOKEN); default: a local one"),
    as_json: bool = _JSON,
) -> None:
    """p50/p95 step latency through REST next to the same steps in-process; every session must succeed."""
    import tempfile

    from swefarm.api.local import LocalFarm
    from swefarm.bench.api import run_all
    from swefarm.harness.demo import task_for_demo
    from swefarm.sandbox.engine import connect

    from swefarm.settings import current

    task = task_for_demo(task_id, console)
    docker_client = connect(pool_size=2 * sessions + 8)
    with tempfile.TemporaryDirectory(prefix="swefarm-bench-api-") as home:
        farm = None
        if api is None:
            farm = LocalFarm(home, workers=1, worker_sessions=max(sessions, 2), pool_size=2).start()
            url, token = farm.url, farm.token
        else:
            url, token = api, current().api_token or ""
        try:
            with console.status("benchmarking") as status:
                result = run_all(task, docker_client, url, token, sessions, steps,
                                 progress=lambda m: status.update(f"benchmarking: {m}"))  # fmt: skip
        finally:
            if farm is not None:
                farm.stop()
    _emit(result, as_json)
    if result[f"rest_c{sessions}_sessions_ok"] != sessions:
        console.print(f"[red]{sessions - result[f'rest_c{sessions}_sessions_ok']} sessions failed[/]")
        raise typer.Exit(1)


@app.command("hacks")
def hacks_bench(
    task_id: str = _TASK,
    attacks: str = typer.Option(None, "--attacks", help="comma-separated attack names (default: every one)"),
    runs: int = typer.Option(5, "--runs", min=1, help="gold gradings timed with and without the defences"),
    timing_only: bool = typer.Option(False, "--timing-only", help="time grading only; play no attack"),
    as_json: bool = typer.Option(False, "--json", help="print the summary (and every attack) as JSON on stdout"),
) -> None:
    """Play every attack on grading through the env and through `swefarm grade`: none may resolve or end in
    infra_error. Time grading the gold patch with and without the defences."""
    from swefarm.bench.hacks import grade_timing, run_attacks, summarize, table
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.harness.demo import task_for_demo
    from swefarm.sandbox.engine import connect

    task = _task(task_for_demo, task_id)
    client = connect()
    names = [n.strip() for n in attacks.split(",") if n.strip()] if attacks else None

    def make_env(grade_timeout: float):
        return SWEEnv(task, client=client, grade_timeout_s=grade_timeout, pool_size=1)

    with console.status("benchmarking") as status, contextlib.redirect_stdout(sys.stderr):
        progress = lambda message: status.update(f"benchmarking: {escape(message)}")  # noqa: E731
        rows = [] if timing_only else run_attacks(task, client, make_env, names, progress=progress)
        timing = grade_timing(task, client, runs=runs, progress=progress)
    summary = summarize(rows, timing)
    summary["task"] = task.instance_id
    if as_json:
        print(json.dumps({**summary, "played": [row.__dict__ for row in rows]}, indent=2))
    else:
        table(rows, summary, console)
    if summary["resolved"] or summary["infra_error"]:
        raise typer.Exit(1)


@app.command("ray")
def ray_bench(
    nodes: int = typer.Option(3, min=2, help="nodes of the local cluster (a head and nodes-1 workers), on 127.0.0.1"),
    episodes: int = typer.Option(24, min=2, help="oracle episodes per pass"),
    slots: int = typer.Option(2, min=1, help="episodes at once per node"),
    task_id: str = _TASK,
    as_json: bool = _JSON,
) -> None:
    """Episodes per minute on N Ray nodes vs one, node-kill recovery, leaks, scheduling and remote step latency."""
    from swefarm.bench.ray import run_all
    from swefarm.cluster.errors import ClusterError
    from swefarm.harness.demo import task_for_demo

    task = _task(task_for_demo, task_id)
    try:
        # Ray prints what it hears of dead nodes (the one this benchmark kills) on stdout: keep stdout for the JSON
        with console.status("benchmarking") as status, contextlib.redirect_stdout(sys.stderr):
            result = run_all(task, nodes=nodes, episodes=episodes, slots=slots,
                             progress=lambda m: status.update(f"benchmarking: {m}"))  # fmt: skip
    except (ClusterError, RuntimeError, ValueError, KeyError) as exc:  # SandboxError is a RuntimeError
        console.print(f"[red]benchmark failed:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    _emit(result, as_json)
    if result["episodes_ok"] != result["episodes"] or not result["node_kill_recovered"] or result["leaked_containers"]:
        raise typer.Exit(1)


def _task(task_for_demo, task_id: str | None):
    """The task to measure on (the demo task, built if need be), or a clean exit 1 saying why not."""
    from swefarm.sandbox.errors import SandboxError

    try:
        return task_for_demo(task_id, console)
    except (SandboxError, RuntimeError, ValueError, KeyError) as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None


def _measure(measure, as_json: bool) -> None:
    """Run `measure(progress)` under a status line; a sandbox or setup failure is a clean exit 1."""
    from swefarm.sandbox.errors import SandboxError

    try:
        with console.status("benchmarking") as status:
            result = measure(lambda m: status.update(f"benchmarking: {m}"))
    except (SandboxError, RuntimeError, ValueError, KeyError) as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        raise typer.Exit(1) from None
    _emit(result, as_json)


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            console.print(f"{key:>36}  {value}")
