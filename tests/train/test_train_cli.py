"""`swefarm train` and `swefarm bench learn` are wired, and a run with nothing to learn from says so."""

from __future__ import annotations

from swefarm.cli.main import app
from swefarm.policy.trajectory import Trajectory, write_jsonl
from typer.testing import CliRunner


def test_commands_are_listed():
    runner = CliRunner()
    train = runner.invoke(app, ["train", "--help"])
    assert train.exit_code == 0 and all(name in train.output for name in ("tasks", "sft", "grpo"))
    bench = runner.invoke(app, ["bench", "learn", "--help"])
    assert bench.exit_code == 0 and "--quick" in bench.output


def test_sft_with_no_resolved_episode_fails_with_a_message(tmp_path):
    path = tmp_path / "t.jsonl"
    write_jsonl([Trajectory(task="x", infra_error="SandboxDiedError: gone", token_ids=[1], loss_mask=[1])], path)
    result = CliRunner().invoke(app, ["train", "sft", "--trajectories", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "no resolved, graded, token-exact episode" in result.output
