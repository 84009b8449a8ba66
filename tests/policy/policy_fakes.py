"""A scripted engine for fast policy tests: the real tokenizer, canned replies instead of a model."""

from __future__ import annotations

from swefarm.policy.engine import Generation


class ScriptedEngine:
    """Replies with the given texts in turn (as the real tokenizer encodes them), each closed by end-of-turn."""

    name = "scripted"

    def __init__(self, tokenizer, replies: list[str], context_limit: int = 8192, close_turns: bool = True):
        self.tokenizer, self.replies, self.context_limit = tokenizer, list(replies), context_limit
        self.model = "scripted"
        self.close_turns = close_turns
        self.prompts: list[list[int]] = []

    def generate(self, prompt_ids, sampling, max_new_tokens):
        self.prompts.append(list(prompt_ids))
        text = self.replies.pop(0) if self.replies else "<think>\nout of replies\n</think>\n"
        ids = list(self.tokenizer.encode(text, add_special_tokens=False))[:max_new_tokens]
        reason = "length"
        if self.close_turns and len(ids) < max_new_tokens:
            ids.append(self.tokenizer.eos_token_id)
            reason = "stop"
        return Generation(ids=ids, logprobs=[-0.25] * len(ids), finish_reason=reason, seconds=0.001,
                          prompt_ids=list(prompt_ids))  # fmt: skip

    def close(self):
        pass
