"""The seam between a model-backed policy and whatever runs the model.

An engine turns prompt ids into generated ids. It owns the tokenizer the
policy renders with, so both always agree on ids. Engines are shared by all
the episodes of a run and must be safe to call from several threads at once
(the transformers engine batches concurrent calls; a server batches them
itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from swefarm.policy.sampling import SamplingConfig


@dataclass
class Generation:
    ids: list[int]
    logprobs: list[float] | None  # None when the backend could not give them
    finish_reason: str  # "stop" (end of turn or a stop sequence) | "length"
    seconds: float
    prompt_ids: list[int] | None = None  # the prompt as the backend saw it, where it says (a server echoes it)
    text: str | None = None  # the backend's own text for the ids, where it gives one
    notes: list[str] = field(default_factory=list)  # what the backend could not do exactly (e.g. no token ids)
    exact: bool = True  # False: `ids` were re-tokenised from text, not the ids the model sampled


class Engine(Protocol):
    name: str  # backend name, e.g. "transformers"
    model: str  # the model it serves
    tokenizer: object  # a transformers tokenizer with a chat template
    context_limit: int  # the model's context window, in tokens

    def generate(self, prompt_ids: list[int], sampling: SamplingConfig, max_new_tokens: int) -> Generation:
        """Generate one turn after `prompt_ids` (blocking; callable from many threads)."""
        ...

    def close(self) -> None: ...
