"""A statement-quality judge for `swefarm mine --judge SPEC`, over the policy backends.

The miner only knows the `Judge` protocol (miner/quality.py: `complete(prompt) -> text`); this
adapter, on the CLI side of the one-way dependencies, answers it with any backend `load_policy`
makes: the prompt is one user message, rendered with the model's own chat template where the
engine works in token ids (transformers, vllm, openai in token mode), or sent as a chat request
where it does not (openai in chat mode). Greedy decoding, no thinking prefill, a short answer.
"""

from __future__ import annotations

from swefarm.policy.factory import load_policy
from swefarm.policy.model_policy import ModelFactory
from swefarm.policy.sampling import SamplingConfig

SAMPLING = SamplingConfig(temperature=0.0, max_new_tokens=96, think=False)


class PolicyJudge:
    """`Judge` over a policy backend named like `swefarm run --policy` (transformers, openai:URL, vllm:MODEL)."""

    def __init__(self, spec: str):
        if spec.split(":", 1)[0] in ("oracle", "empty"):
            raise ValueError("a judge needs a model backend: transformers[:MODEL], openai:URL or vllm:MODEL")
        factory = load_policy(spec, **SAMPLING.model_dump())
        if not isinstance(factory, ModelFactory):
            factory.close()
            raise ValueError(f"a judge needs a model backend, not {spec!r}")
        self.factory = factory
        self.engine = factory.engine
        self.name = f"{self.engine.name}:{self.engine.model}"

    def complete(self, prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        tokenizer = getattr(self.engine, "tokenizer", None)
        if getattr(self.engine, "mode", "tokens") == "chat" or tokenizer is None:
            chat = getattr(self.engine, "chat", None)  # only the openai engine speaks chat
            if chat is None:
                raise ValueError(f"{self.name} has neither a tokenizer nor a chat endpoint to judge with")
            text, _, _ = chat(messages, SAMPLING)
            return text.strip()
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = list(tokenizer.encode(text, add_special_tokens=False))
        room = max(1, min(SAMPLING.max_new_tokens, self.engine.context_limit - len(ids)))
        generation = self.engine.generate(ids, SAMPLING, room)
        return tokenizer.decode(generation.ids, skip_special_tokens=True).strip()

    def close(self) -> None:
        self.factory.close()
