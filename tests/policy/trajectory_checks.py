"""What every model backend's trajectory must satisfy, whatever the reward."""

from __future__ import annotations

import math

from swefarm.policy.chat import THINK_OPEN


def assert_well_formed(t, tokenizer, think: bool = True) -> None:
    assert t.turns, "no turns"
    assert t.error is None, t.error
    last = t.turns[-1]
    # the episode's sequence is the last context plus the last completion; mask and logprobs line up with it
    assert t.token_ids == last.prompt_ids + last.completion_ids
    assert len(t.loss_mask) == len(t.token_ids) == len(t.logprobs)
    assert sum(t.loss_mask) == sum(len(turn.completion_ids) for turn in t.turns)
    for i, (m, lp) in enumerate(zip(t.loss_mask, t.logprobs, strict=True)):
        assert m in (0, 1)
        assert (lp == 0.0) if m == 0 else (math.isfinite(lp) and lp <= 1e-6), (i, m, lp)
    for k, turn in enumerate(t.turns):
        assert turn.logprobs is not None and len(turn.logprobs) == len(turn.completion_ids)
        # decoding the ids gives the text the env read (the <think> prefill is the policy's, not the model's)
        body = tokenizer.decode(turn.completion_ids)
        eos = tokenizer.decode([turn.completion_ids[-1]]) if turn.completion_ids else ""
        if turn.finish_reason == "stop" and body.endswith(eos) and turn.completion_ids[-1] == tokenizer.eos_token_id:
            body = body[: -len(eos)]
        assert turn.text == (THINK_OPEN if think else "") + body
        if k + 1 < len(t.turns):
            nxt = t.turns[k + 1]
            # append-only: the next prompt starts with this prompt plus this completion, id for id
            assert nxt.prompt_ids[: len(turn.prompt_ids) + len(turn.completion_ids)] == (
                turn.prompt_ids + turn.completion_ids
            )
            context = tokenizer.decode(nxt.prompt_ids)
            assert turn.text in context  # thinking and all: nothing of the turn was dropped
            assert turn.observation.strip() in context
