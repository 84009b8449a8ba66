"""Trajectories: the single training sequence, its mask and logprobs, and JSONL / Parquet round trips."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from swefarm.policy.trajectory import Trajectory, TurnRecord, assemble, read_jsonl, write_jsonl, write_parquet


def turns():
    return [
        TurnRecord(index=0, prompt_ids=[1, 2, 3], completion_ids=[10, 11], logprobs=[-0.1, -0.2]),
        TurnRecord(index=1, prompt_ids=[1, 2, 3, 10, 11, 4, 5], completion_ids=[12], logprobs=[-0.3]),
    ]


def test_assemble_masks_model_tokens_and_aligns_logprobs():
    ids, mask, logprobs = assemble(turns())
    assert ids == [1, 2, 3, 10, 11, 4, 5, 12]
    assert mask == [0, 0, 0, 1, 1, 0, 0, 1]
    assert logprobs == [0.0, 0.0, 0.0, -0.1, -0.2, 0.0, 0.0, -0.3]


def test_a_prompt_that_does_not_extend_the_context_is_refused():
    bad = turns()
    bad[1].prompt_ids = [1, 2, 3, 10, 99, 4]  # the model's 11 was re-tokenised away
    with pytest.raises(ValueError, match="does not extend"):
        assemble(bad)


def test_jsonl_and_parquet_round_trip(tmp_path):
    ids, mask, logprobs = assemble(turns())
    t = Trajectory(task="a__b-1", turns=turns(), token_ids=ids, loss_mask=mask, logprobs=logprobs, reward=1.0,
                   reward_components={"resolved": 1.0}, perturbation={"system": {"style": "terse"}})  # fmt: skip
    path = tmp_path / "t.jsonl"
    write_jsonl([t, t.model_copy(update={"episode": 1})], path)
    back = list(read_jsonl(path))
    assert [b.episode for b in back] == [0, 1] and back[0] == t
    write_parquet(back, tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert table[0]["token_ids"] == ids and table[0]["loss_mask"] == mask
    assert table[1]["turns"][1]["completion_ids"] == [12]
