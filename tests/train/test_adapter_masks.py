"""What each adapter hands its trainer: a trajectory's own ids, mask and logprobs; failures masked, never scored 0."""

from __future__ import annotations

import pytest
from swefarm.policy.trajectory import Trajectory, TurnRecord, assemble
from swefarm.train.trl_adapter import RolloutError, _task_id, swefarm_reward, to_trl
from swefarm.train.verl_adapter import to_agent_loop_output


def _trajectory(**fields) -> Trajectory:
    turns = [
        TurnRecord(index=0, prompt_ids=[1, 2, 3], completion_ids=[10, 11], logprobs=[-0.5, -0.25]),
        TurnRecord(index=1, prompt_ids=[1, 2, 3, 10, 11, 4, 5], completion_ids=[12], logprobs=[-1.0]),
    ]
    ids, mask, logprobs = assemble(turns)
    return Trajectory(task="t", turns=turns, token_ids=ids, loss_mask=mask, logprobs=logprobs, **fields)


def test_trl_gets_the_sequence_cut_at_the_first_prompt():
    out = to_trl([_trajectory(reward=1.0, resolved=True)], pad_id=0)
    assert out["prompt_ids"] == [[1, 2, 3]]
    assert out["completion_ids"] == [[10, 11, 4, 5, 12]]
    assert out["env_mask"] == [[1, 1, 0, 0, 1]]
    assert out["logprobs"] == [[-0.5, -0.25, 0.0, 0.0, -1.0]]
    assert swefarm_reward(["t"], [""], **{k: v for k, v in out.items() if k == "swefarm_reward"}) == [1.0]


@pytest.mark.parametrize("failure", [{"infra_error": "SandboxDiedError: gone"}, {"error": "RuntimeError: down"}])
def test_trl_masks_a_failed_episode_and_gives_it_no_reward(failure):
    out = to_trl([_trajectory(reward=0.0, **failure), _trajectory(reward=1.0)], pad_id=0)
    assert out["env_mask"][0] == [0] * 5 and out["swefarm_reward"][0] is None  # TRL: advantage 0, left out
    assert out["swefarm_reward"][1] == 1.0
    empty = to_trl([Trajectory(task="t", error="boom", token_ids_exact=False)], pad_id=7)
    assert empty["prompt_ids"] == [[7]] and empty["env_mask"] == [[0]] and empty["swefarm_reward"] == [None]


def test_trl_prompts_name_tasks():
    assert _task_id(" swefarm-x ") == "swefarm-x"
    assert _task_id([{"role": "user", "content": "swefarm-y"}]) == "swefarm-y"
    with pytest.raises(ValueError):
        _task_id(3)
    assert issubclass(RolloutError, RuntimeError)


def test_verl_gets_the_same_cut_and_masks_failures():
    ok = to_agent_loop_output(_trajectory(reward=1.0, resolved=True))
    assert ok.prompt_ids == [1, 2, 3] and ok.response_ids == [10, 11, 4, 5, 12]
    assert ok.response_mask == [1, 1, 0, 0, 1] and ok.response_logprobs == [-0.5, -0.25, 0.0, 0.0, -1.0]
    assert ok.reward_score == 1.0 and not ok.extra_fields["swefarm_masked"]
    assert ok.as_dict()["rm_scores"].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]  # verl's reward at the last token
    bad = to_agent_loop_output(_trajectory(infra_error="SandboxDiedError: gone"))
    assert bad.response_mask == [0] * 5 and bad.reward_score is None and bad.extra_fields["swefarm_masked"]
    cut = to_agent_loop_output(_trajectory(reward=1.0), response_length=3)  # longer than verl pads to
    assert cut.response_ids == [10, 11, 4] and cut.response_mask == [0, 0, 0]
