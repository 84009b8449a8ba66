"""`swefarm demo`: the main job end to end on embedded defaults.

A task from the store (or the embedded demo task, built and validated on the
spot with the same pipeline as every imported or mined task), its image, and
two episodes through `gymnasium.make`: the oracle (applies the gold patch with
the editor tool, then submits; reward 1) and the empty policy (submits at once;
reward 0), with their reward components and timings.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console(width=None if Console().is_terminal else 120)


def demo(
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the embedded demo task)"),
    tool_format: str = typer.Option("hermes", "--format", help="tool-call format: hermes | minimax | bash"),
) -> None:
    """Build a task, play an oracle and an empty episode on it, and show rewards and timings."""
    from cli.demo_task import task_for_demo
    from sandbox.errors import SandboxError

    try:
        task = task_for_demo(task_id, console)
        _play(task, tool_format)
    except (SandboxError, ValueError, KeyError) as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        raise typer.Exit(1) from None


def _play(task, tool_format: str) -> None:
    import gymnasium

    import envs
    from envs.pools import wait_closed
    from policy.scripted import EmptyPolicy, OraclePolicy, play

    envs.register_envs()
    console.rule(f"[bold]{task.instance_id}[/] ({task.repo})")
    console.print(task.problem_statement.strip()[:600], markup=False, highlight=False)
    env = gymnasium.make(envs.env_id(task.instance_id), tool_format=tool_format, pool_size=2)
    try:
        with console.status("starting a warm pool of 2 sandboxes"):
            env.unwrapped.warm()
        episodes = {}
        for name, policy in (("oracle", OraclePolicy(task.patch)), ("empty", EmptyPolicy())):
            console.rule(f"{name} policy")
            episode = play(env, policy)
            for message in episode.info["messages"][2:]:
                if message["role"] == "assistant":
                    for call in message.get("tool_calls", []):
                        fn = call["function"]
                        console.print(f"[cyan]> {fn['name']} {_first_line(fn['arguments'])}[/]", highlight=False)
                else:
                    console.print(f"  [dim]{_first_line(message['content'])}[/]", highlight=False)
            episodes[name] = episode
    finally:
        env.close()
        wait_closed()
    _table(episodes)
    if episodes["oracle"].reward != 1.0 or episodes["empty"].reward != 0.0:
        raise ValueError("the oracle should score 1 and the empty policy 0; see the episodes above")


def _first_line(text: str, width: int = 110) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _table(episodes: dict) -> None:
    table = Table(title="episodes")
    for column in ("policy", "reward", "components", "steps", "reset", "env time", "grading", "F2P passed"):
        table.add_column(column, justify="left" if column in ("policy", "components") else "right")
    for name, episode in episodes.items():
        info = episode.info
        timing = info["timing"]
        grade = info.get("grade", {})
        components = ", ".join(f"{k}={v:g}" for k, v in info["reward_components"].items())
        table.add_row(
            name,
            f"{episode.reward:g}",
            components,
            str(episode.steps),
            f"{timing['reset_s'] * 1000:.0f} ms",
            f"{timing['env_s'] * 1000:.0f} ms",
            f"{timing.get('grade_s', 0):.2f} s",
            f"{grade.get('fail_to_pass_passed', 0)}/{grade.get('fail_to_pass_total', 0)}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(demo)
