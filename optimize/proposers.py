"""Where the next change comes from: the built-in mutation operators, or a model behind an OpenAI-compatible API.

A proposer sees the best config so far and the memory, and returns a config not tried before
with a description of the change and the reason for it.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any, Protocol

from swefarm.optimize.memory import Memory, config_hash
from swefarm.optimize.mutations import select_operators

FIXED = ("reward",)  # the objective: never mutated


@dataclass
class Proposal:
    config: dict[str, Any]
    change: str
    why: str


class Proposer(Protocol):
    def propose(self, best: dict[str, Any], memory: Memory) -> Proposal | None:
        """A config not tried before, or None when nothing new is left to try."""
        ...


class MutationProposer:
    """One random operator per round, from `operators` (names or groups), skipping configs already tried."""

    def __init__(self, operators: list[str] | None = None, seed: int | None = None, tries: int = 50):
        self.operators = select_operators(operators)
        self.rng = random.Random(seed)
        self.tries = tries

    def propose(self, best: dict[str, Any], memory: Memory) -> Proposal | None:
        from swefarm.api.contract.schemas import ScaffoldConfig

        tried = memory.tried
        for _ in range(self.tries):
            op = self.rng.choice(self.operators)
            result = op.apply(dict(best), self.rng)
            if result is None:
                continue
            config, change = result
            try:
                config = ScaffoldConfig.model_validate(config).model_dump()
            except ValueError:
                continue
            if config_hash(config) not in tried:
                return Proposal(config, f"{op.name}: {change}", op.why)
        return None


class ModelProposer:
    """Asks a model (chat completions at `url`) for a change; the operators propose when its answer is unusable."""

    def __init__(
        self, url: str, model: str | None = None, fallback: MutationProposer | None = None, timeout: float = 300
    ):
        self.url = url.rstrip("/")
        self.model = model
        self.fallback = fallback or MutationProposer()
        self.timeout = timeout
        self.last_error: str | None = None

    def prompt(self, best: dict[str, Any], memory: Memory) -> list[dict[str, str]]:
        editable = {k: v for k, v in best.items() if k not in FIXED}
        return [
            {"role": "system", "content": (
                "You improve the scaffold of a software-engineering agent: its system prompt, tools, tool-call format "
                "and limits. Propose ONE change likely to raise its score. Answer with a JSON object only: "
                '{"change": "<what you change>", "why": "<why it should help>", '
                '"config": {<only the fields you change>}}'
            )},
            {"role": "user", "content": (
                f"Current best scaffold (JSON):\n{json.dumps(editable, indent=1)}\n\n"
                f"What was tried so far:\n{memory.text()}"
            )},
        ]  # fmt: skip

    def propose(self, best: dict[str, Any], memory: Memory) -> Proposal | None:
        import httpx
        from swefarm.api.contract.schemas import ScaffoldConfig

        body: dict[str, Any] = {"messages": self.prompt(best, memory), "temperature": 0.7, "max_tokens": 2048}
        if self.model:
            body["model"] = self.model
        try:
            response = httpx.post(f"{self.url}/chat/completions", json=body, timeout=self.timeout)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"] or ""
            answer = json.loads(_json_object(text))
            changes = {k: v for k, v in dict(answer["config"]).items() if k not in FIXED}
            config = ScaffoldConfig.model_validate({**best, **changes}).model_dump()
            if config_hash(config) in memory.tried:
                raise ValueError("the model proposed a config that was already tried")
            self.last_error = None
            return Proposal(config, f"model: {answer.get('change', 'unnamed change')}", str(answer.get("why", "")))
        except Exception as exc:  # any unusable answer: say why, and let an operator propose instead
            self.last_error = f"the model's proposal was unusable ({type(exc).__name__}: {str(exc)[:300]})"
            proposal = self.fallback.propose(best, memory)
            if proposal is not None:
                proposal.why = f"{proposal.why} [{self.last_error}; fell back to an operator]"
            return proposal


def _json_object(text: str) -> str:
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    return text[start : end + 1]
