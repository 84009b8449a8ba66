"""`swefarm run`: play episodes of a policy on tasks and write trajectories; `swefarm serve-model`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True)


def run(
    tasks: list[str] = typer.Argument(..., help="instance ids of valid tasks in the store"),
    policy: str = typer.Option(
        "transformers", "--policy", help="oracle | empty | transformers[:MODEL] | openai:URL | vllm:MODEL"
    ),
    episodes: int = typer.Option(1, "--episodes", min=1, help="episodes per task"),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="episodes at once (model calls are batched)"),
    perturb: str = typer.Option(None, "--perturb", help="perturbation families, e.g. system,tools,layout (or all)"),
    out: Path = typer.Option(None, "--out", help="output directory (default: runs/<UTC time>)"),
    parquet: bool = typer.Option(True, help="also write trajectories.parquet (needs pyarrow)"),
    store: Path = typer.Option(None, "--store", help="task store (default: $SWEFARM_HOME/tasks.db)"),
    seed: int = typer.Option(0, help="base seed: episode k of task t uses seed + 1000 t + k"),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="steps per episode (default: the env's, 50)"),
    tool_format: str = typer.Option(None, "--tool-format", help="hermes | minimax | bash (default: hermes)"),
    temperature: float = typer.Option(0.7, min=0.0, help="sampling temperature (0: greedy)"),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0),
    max_new_tokens: int = typer.Option(512, "--max-new-tokens", min=1, help="tokens per turn"),
    stop: list[str] = typer.Option(None, "--stop", help="a stop sequence (repeatable); end-of-turn always stops"),
    context_limit: int = typer.Option(None, "--context-limit", min=64, help="tokens per episode (default: model's)"),
    think: bool = typer.Option(True, help="open each turn with <think> (interleaved thinking)"),
    device: str = typer.Option(None, help="transformers device: cpu, cuda, cuda:1 (default: CUDA if present)"),
    ray: str = typer.Option(
        None, "--ray", help="play on a Ray cluster: auto | local | HOST:PORT (concurrency per node)"
    ),
) -> None:
    """Run episodes concurrently and write per-turn token-exact trajectories (JSONL, and Parquet)."""
    from swefarm.policy.factory import load_policy
    from swefarm.policy.rollout import RolloutPlan
    from swefarm.policy.rollout import run as run_rollouts

    env_config = {k: v for k, v in {"max_steps": max_steps, "tool_format": tool_format}.items() if v is not None}
    plan = RolloutPlan(
        tasks=list(tasks), episodes=episodes, concurrency=concurrency, store=store, env_config=env_config,
        perturb=perturb, seed=seed,
    )  # fmt: skip
    options = {
        "temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens,
        "context_limit": context_limit, "think": think, "seed": seed, "stop": list(stop or []),
    }  # fmt: skip
    if policy.split(":", 1)[0] == "transformers" and device:
        options["device"] = device
    _check_tasks(plan)
    out = out or Path("runs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "trajectories.jsonl"
    if ray:
        trajectories = _on_cluster(plan, policy, options, ray, jsonl)
        if parquet:
            _parquet(jsonl, out)
        _summary(trajectories, jsonl)
        if all(t.error or t.infra_error for t in trajectories):
            raise typer.Exit(1)
        return
    earlier = _earlier(jsonl, plan, policy)
    plan.skip = {(t.task, t.episode) for t in earlier}
    if earlier:
        left = len(plan.jobs())
        what = f"resuming with the {left} left" if left else "nothing left to run"
        console.print(f"{out} holds {len(earlier)} episode(s) of this run already: {what}", soft_wrap=True)
    trajectories = list(earlier)
    resolved = sum(t.resolved for t in earlier)
    failed = sum(bool(t.error or t.infra_error) for t in earlier)
    if plan.jobs():
        try:
            with console.status(f"loading policy {policy}"):
                factory = load_policy(policy, **options)
        except Exception as exc:
            console.print(f"[red]cannot load policy {escape(policy)}:[/] {escape(str(exc))}")
            raise typer.Exit(1) from None
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        live: dict[tuple, tuple[int, int]] = {}  # per episode: turns played, tokens generated
        try:
            with Progress(*columns, console=console) as progress:
                bar = progress.add_task("episodes", total=len(plan.jobs()))

                def describe() -> str:
                    turns, tokens = sum(t for t, _ in live.values()), sum(n for _, n in live.values())
                    return f"episodes ({resolved} resolved, {failed} failed; {turns} turns, {tokens:,} tokens)"

                def turn(job, turns: int, tokens: int) -> None:
                    live[job[:2]] = (turns, tokens)  # a job is (task, episode, seed): keyed as trajectories are
                    progress.update(bar, description=describe())

                def done(trajectory) -> None:
                    nonlocal resolved, failed
                    resolved += trajectory.resolved
                    failed += bool(trajectory.error or trajectory.infra_error)
                    live[(trajectory.task, trajectory.episode)] = (trajectory.steps, sum(trajectory.loss_mask))
                    progress.update(bar, advance=1, description=describe())

                trajectories += run_rollouts(plan, factory, out=jsonl, on_done=done, on_turn=turn)
        finally:
            factory.close()
    if parquet:
        _parquet(jsonl, out)
    _summary(trajectories, jsonl)
    if failed == len(trajectories):
        raise typer.Exit(1)


def _parquet(jsonl: Path, out: Path) -> None:
    from swefarm.policy.trajectory import read_jsonl, write_parquet

    try:
        write_parquet(read_jsonl(jsonl), out / "trajectories.parquet")
    except RuntimeError as exc:
        console.print(f"[yellow]no Parquet:[/] {exc}")


def _on_cluster(plan, policy: str, options: dict, address: str, jsonl: Path) -> list:
    from swefarm.cluster.errors import ClusterError
    from swefarm.cluster.rollout import run_plan

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    try:
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task(f"episodes on the cluster at {address}", total=len(plan.jobs()))
            return run_plan(plan, policy, options, address, jsonl, lambda t: progress.update(bar, advance=1))
    except ClusterError as exc:
        console.print(f"[red]the cluster run failed:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None


def _earlier(jsonl: Path, plan, policy: str) -> list:
    """The episodes an earlier `run --out` of this same run wrote (it is resumed); a different run: refused."""
    from swefarm.policy.trajectory import read_jsonl

    if not jsonl.exists() or not jsonl.stat().st_size:
        return []
    try:
        earlier = list(read_jsonl(jsonl))
    except Exception as exc:
        console.print(f"[red]{jsonl} is not a trajectory file to resume[/] ({exc}); give another --out", soft_wrap=True)
        raise typer.Exit(1) from None
    planned = {(task, k) for task, k, _ in plan.jobs()}
    kind = policy.split(":", 1)[0]
    other = [t for t in earlier if (t.task, t.episode) not in planned or not str(t.policy).startswith(kind)]
    if other:
        t = other[0]
        console.print(
            f"[red]{jsonl.parent} holds another run[/] (e.g. {t.task} episode {t.episode} with policy {t.policy}): "
            "give another --out, or the same tasks, episodes and policy to resume it",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    seen: dict = {}
    for t in earlier:
        seen.setdefault((t.task, t.episode), t)  # a file written before runs resumed may repeat an episode
    return list(seen.values())


def _check_tasks(plan) -> None:
    from swefarm.tasks.store import TaskNotFoundError, TaskStore

    store = TaskStore(plan.store)
    for task_id in plan.tasks:
        try:
            store.get(task_id)
        except TaskNotFoundError:
            console.print(f"[red]no task {escape(task_id)} in the store[/]; see `swefarm tasks list`")
            raise typer.Exit(1) from None


def _summary(trajectories, jsonl: Path) -> None:
    table = Table(title=f"{len(trajectories)} episodes -> {jsonl}")
    for column in ("task", "ep", "reward", "resolved", "steps", "tokens", "model s", "env s", "end"):
        table.add_column(column)
    for t in trajectories:
        end = t.error or t.infra_error or t.truncated_by or ("submitted" if t.terminated else "")
        table.add_row(
            t.task, str(t.episode), f"{t.reward:.3f}", "yes" if t.resolved else "no", str(t.steps),
            str(sum(t.loss_mask)), f"{t.model_time_s:.1f}", f"{t.env_time_s:.1f}", escape(str(end)[:60]),
        )  # fmt: skip
    console.print(table)


def serve_model(
    model: str = typer.Option(None, "--model", help="model directory or hub id (default: SmolLM2-135M-Instruct)"),
    host: str = typer.Option("127.0.0.1", help="address to bind (127.0.0.1: this machine only)"),
    port: int = typer.Option(8000, min=1, max=65535),
    device: str = typer.Option(None, help="cpu, cuda, cuda:1 (default: CUDA if present)"),
) -> None:
    """Serve a model over an OpenAI-compatible API (token ids and logprobs) with the transformers backend."""
    from swefarm.policy.openai_server import serve

    console.print(f"serving on http://{host}:{port}/v1")
    serve(model, host=host, port=port, device=device)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("serve-model")(serve_model)
