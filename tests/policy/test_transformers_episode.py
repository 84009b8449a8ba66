"""The real SmolLM2 (transformers, CPU here, CUDA where present) plays real episodes against a real Docker
env: concurrent rollouts, token-exact trajectories whose logprobs a forward pass reproduces, and
`swefarm run` writing JSONL and Parquet."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch
from swefarm.policy.rollout import RolloutPlan, run
from trajectory_checks import assert_well_formed

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def trajectories(transformers_factory, calc_store, valid_calc_task, docker_client):
    plan = RolloutPlan(tasks=[valid_calc_task.instance_id], episodes=2, concurrency=2, store=calc_store,
                       env_config={"max_steps": 3})  # fmt: skip
    return run(plan, transformers_factory, client=docker_client)


def test_episodes_end_with_a_reward_and_well_formed_trajectories(trajectories, tokenizer, valid_calc_task):
    assert [t.episode for t in trajectories] == [0, 1]
    for t in trajectories:
        assert t.task == valid_calc_task.instance_id and t.policy.startswith("transformers:")
        assert t.terminated or t.truncated
        assert t.infra_error is None
        assert "resolved" in t.reward_components  # scored by the env, whatever the score
        assert t.steps == len(t.turns) and 1 <= t.steps <= 3
        assert t.token_ids_exact and t.token_note is None
        assert t.model_time_s > 0 and t.env_time_s > 0
        assert_well_formed(t, tokenizer)


def test_recorded_logprobs_are_what_a_forward_pass_gives(trajectories, transformers_factory):
    """At temperature 1 and top-p 1 the sampling distribution is the model's: an RL trainer's ratio starts at 1."""
    engine = transformers_factory.engine
    t = trajectories[0]
    ids = torch.tensor([t.token_ids], device=engine.device)
    with torch.inference_mode():
        logp = engine._model(ids).logits[0].float().log_softmax(-1)
    for i, (token, mask, recorded) in enumerate(zip(t.token_ids, t.loss_mask, t.logprobs, strict=True)):
        if mask:
            assert abs(logp[i - 1, token].item() - recorded) < 5e-3, i


def test_swefarm_run_writes_jsonl_and_parquet(calc_store, valid_calc_task, tmp_path, model_dir):
    from swefarm.cli.main import app
    from typer.testing import CliRunner

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "run", valid_calc_task.instance_id, "--policy", "transformers", "--store", str(calc_store),
        "--episodes", "1", "--max-steps", "2", "--max-new-tokens", "24", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = (out / "trajectories.jsonl").read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["task"] == valid_calc_task.instance_id and record["turns"]
    assert len(record["token_ids"]) == len(record["loss_mask"]) == len(record["logprobs"])
    table = pq.read_table(out / "trajectories.parquet").to_pylist()
    assert table[0]["token_ids"] == record["token_ids"]
    import re

    counted = re.search(r"(\d+) turns, ([\d,]+) tokens", result.output)  # the progress line, turns and tokens
    assert counted and int(counted.group(1)) == record["steps"], result.output
    assert int(counted.group(2).replace(",", "")) == sum(record["loss_mask"]) > 0


def test_swefarm_run_says_which_task_is_missing(calc_store):
    from swefarm.cli.main import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["run", "nobody__nothing-1", "--policy", "empty", "--store", str(calc_store)])
    assert result.exit_code == 1
    assert "no task nobody__nothing-1" in result.output


def test_the_documented_training_step_runs_on_the_trajectories(trajectories, transformers_factory):
    """docs/trajectories.md's loop: the batch's old logprobs are the model's own (ratio 1 before the step),
    and one optimizer step on the PPO loss changes the weights."""
    import copy

    from swefarm.policy.training import ppo_loss, to_batch, token_logprobs

    engine = transformers_factory.engine
    model = copy.deepcopy(engine._model).train()
    batch = to_batch(trajectories, pad_id=engine.pad_id, device=engine.device)
    assert batch["input_ids"].shape[0] == len(trajectories)
    assert batch["loss_mask"].sum().item() == sum(sum(t.loss_mask) for t in trajectories)
    new = token_logprobs(model, batch["input_ids"], batch["attention_mask"])
    mask = batch["loss_mask"].bool()
    assert torch.allclose(new[mask], batch["old_logprobs"][mask], atol=5e-3)
    batch["advantages"] = batch["loss_mask"] * 1.0  # pretend the episode was good: a non-zero gradient
    loss = ppo_loss(new, batch["old_logprobs"], batch["advantages"], batch["loss_mask"])
    before = next(model.parameters()).detach().clone()
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=1e-3).step()
    assert not torch.equal(before, next(model.parameters()).detach())


def test_a_stop_sequence_ends_the_turn_where_it_appears(transformers_factory, tokenizer):
    from swefarm.policy.sampling import SamplingConfig

    engine = transformers_factory.engine
    prompt = tokenizer.encode("<|im_start|>user\nList three fruits.<|im_end|>\n<|im_start|>assistant\n")
    free = engine.generate(prompt, SamplingConfig(temperature=0.0), 24)
    text = tokenizer.decode(free.ids)
    words = text.split()
    assert len(words) >= 4, text
    stop = words[len(words) // 2]
    cut = engine.generate(prompt, SamplingConfig(temperature=0.0, stop=[stop]), 24)
    assert cut.finish_reason == "stop"
    assert stop in tokenizer.decode(cut.ids) and stop not in tokenizer.decode(cut.ids[:-1])
    assert cut.ids == free.ids[: len(cut.ids)] and len(cut.ids) < len(free.ids)
