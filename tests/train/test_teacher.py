"""The teacher plays real episodes in the student's tokens: resolved, append-only, masked on its own turns."""

from __future__ import annotations

import pytest
from conftest import HELDOUT_TASK, TRAIN_TASK
from swefarm.policy.chat import THINK_OPEN
from swefarm.policy.trajectory import assemble
from swefarm.train import scaffold
from swefarm.train.episodes import EpisodeSpec, play_many
from swefarm.train.family import family_tasks
from swefarm.train.sft import sft_examples
from swefarm.train.teacher import NOTE, TeacherFactory

pytestmark = pytest.mark.docker


def test_the_family_store_splits_train_and_heldout(family_store):
    from swefarm.tasks.store import TaskStore

    store = TaskStore(family_store)
    train = [t.instance_id for t in family_tasks(store, "train")]
    heldout = [t.instance_id for t in family_tasks(store, "heldout")]
    assert TRAIN_TASK in train and HELDOUT_TASK in heldout and not set(train) & set(heldout)
    task = store.get(TRAIN_TASK)
    assert task.FAIL_TO_PASS == ["tests/test_vowels.py::test_count_vowels_regression_1"]


@pytest.mark.model
@pytest.mark.parametrize("look_first", [False, True])
def test_teacher_episodes_resolve_and_are_token_exact_in_the_students_template(family_store, look_first):
    factory = TeacherFactory(look_first=look_first)
    specs = [EpisodeSpec(TRAIN_TASK, seed=1, env_config=scaffold.env_config(max_steps=4))]
    (t,) = play_many(specs, factory, store=family_store)
    assert t.error is None and t.infra_error is None
    assert t.resolved and t.reward == 1.0 and t.terminated
    assert len(t.turns) == (3 if look_first else 2)
    edit = t.turns[-2].tool_calls[0]
    assert edit["arguments"] == {
        "command": "str_replace",
        "path": "src/minilib/vowels.py",
        "old_str": "count = count",
        "new_str": "count = count + 1",
    }
    budget = scaffold.SAMPLING["max_new_tokens"]  # what the student may write a turn: the teacher must fit it
    assert all(len(turn.completion_ids) <= budget - 32 for turn in t.turns)
    ids, mask, _ = assemble(t.turns)
    assert (ids, mask) == (t.token_ids, t.loss_mask)
    assert sum(mask) == sum(len(turn.completion_ids) for turn in t.turns)
    tokenizer = factory.tokenizer
    for turn in t.turns:  # what the env read is the prefill plus the decoded ids, end-of-turn id dropped
        assert turn.completion_ids[-1] == tokenizer.eos_token_id
        assert turn.text == THINK_OPEN + tokenizer.decode(turn.completion_ids[:-1])
        assert turn.prompt_ids[-len(tokenizer.encode(THINK_OPEN)) :] == tokenizer.encode(THINK_OPEN)
    assert t.token_note == NOTE
    rows = sft_examples([t])
    assert rows == [{"input_ids": t.token_ids, "assistant_masks": t.loss_mask}]
