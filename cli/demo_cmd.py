"""`swefarm demo`: the main job end to end on embedded defaults.

A task from the store (or the embedded demo task, built and validated on the
spot with the same pipeline as every imported or mined task), its image, and
two episodes through `gymnasium.make`: the oracle (applies the gold patch with
the editor tool, then submits; reward 1) and the empty policy (submits at once;
reward 0), with their reward components and timings. Then, where torch is
installed, a short episode of the default model (SmolLM2-135M, thinking before
every call), written as a token-exact trajectory to runs/demo/.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console(width=None if Console().is_terminal else 120)


def demo(
    task_id: str = typer.Option(None, "--task", help="a valid task in the store (default: the embedded demo task)"),
    tool_format: str = typer.Option("hermes", "--format", help="tool-call format: hermes | minimax | bash"),
    model: bool = typer.Option(True, help="also play a short episode of the default model (needs torch)"),
    lang: str = typer.Option("python", "--lang", help="the embedded demo task's language: python | js"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (task, rewards, timings); no model"),
) -> None:
    """Build a task, play an oracle and an empty episode on it, and show rewards and timings."""
    import json

    from swefarm.harness.demo import task_for_demo
    from swefarm.sandbox.errors import SandboxError

    global console
    shown = console
    if as_json:
        console = Console(stderr=True, quiet=True)
    try:
        task = task_for_demo(task_id, console, lang)
        episodes = _play(task, tool_format)
        if model and not as_json:
            _play_model(task, tool_format)
    except (SandboxError, ValueError, KeyError) as exc:
        console = shown
        console.print(f"[red]demo failed:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        console = shown
    if as_json:
        print(json.dumps(_summary(task, episodes)))


def _summary(task, episodes: dict) -> dict:
    """What `--json` prints: the task, each episode's reward, and how long grading took."""
    out = {"task": task.instance_id, "language": task.language}
    for name, episode in episodes.items():
        out[f"{name}_reward"] = episode.reward
        out[f"{name}_grade_s"] = round(episode.info["timing"].get("grade_s", 0.0), 3)
        out[f"{name}_steps"] = episode.steps
    return out


def _play(task, tool_format: str) -> dict:
    import gymnasium
    from swefarm.envs.pools import wait_closed
    from swefarm.policy.episode import play
    from swefarm.policy.scripted import EmptyPolicy, OraclePolicy

    from swefarm import envs

    envs.register_envs()
    console.rule(f"[bold]{task.instance_id}[/] ({task.repo})")
    console.print(task.problem_statement.strip()[:600], markup=False, highlight=False)
    env = gymnasium.make(envs.env_id(task.instance_id), tool_format=tool_format, pool_size=2)
    try:
        with console.status("starting a warm pool of 2 sandboxes"):
            env.unwrapped.warm()  # type: ignore[attr-defined]  # an SWEEnv
        episodes = {}
        for name, policy in (("oracle", OraclePolicy(task.patch)), ("empty", EmptyPolicy())):
            console.rule(f"{name} policy")
            episode = play(env, policy)
            if episode.error is not None:
                raise ValueError(f"the {name} episode failed: {episode.error}")
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
    return episodes


def _play_model(task, tool_format: str) -> None:
    import importlib.util
    from pathlib import Path

    from swefarm.policy.factory import load_policy
    from swefarm.policy.rollout import RolloutPlan, run

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        console.print("[yellow]no model episode:[/] torch and transformers are not installed (make installs them)")
        return
    console.rule("model policy: SmolLM2-135M-Instruct (transformers), 3 steps")
    out = Path("runs/demo/trajectories.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    with console.status("loading the model"):
        factory = load_policy("transformers", temperature=0.7, max_new_tokens=96, seed=0)
    try:
        plan = RolloutPlan(tasks=[task.instance_id], env_config={"max_steps": 3, "tool_format": tool_format})
        with console.status("playing (a 135M model on this device; it rarely calls a tool well)"):
            (t,) = run(plan, factory, out=out)
    finally:
        factory.close()
    if t.error:
        raise ValueError(f"the model episode failed: {t.error}")
    for turn in t.turns:
        console.print(f"[magenta]think[/] {_first_line(turn.thinking, 100)}", highlight=False)
        if turn.tool_calls:
            for call in turn.tool_calls:
                console.print(f"[cyan]> {call['name']} {_first_line(call['arguments'])}[/]", highlight=False)
        console.print(f"  [dim]{_first_line(turn.observation)}[/]", highlight=False)
    console.print(
        f"reward {t.reward:g} ({t.truncated_by or 'submitted'}); {len(t.turns)} turns, "
        f"{sum(t.loss_mask)} model tokens of {len(t.token_ids)} in context, {t.model_time_s:.1f} s model, "
        f"{t.env_time_s:.1f} s env; trajectory in {out}"
    )


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
