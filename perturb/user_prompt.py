"""The user family: the same issue as users really write it.

Deterministic transforms of the problem statement, one to three per episode:
vague (specifics dropped, a hedge added), incomplete (the reproduction or the
expected behaviour removed), reordered (sections shuffled), padded (irrelevant
context added) and typos (in prose only, never in code). The first section, the
issue's summary, is always kept, so the issue still says what is wrong.
An optional `rewrite(text) -> text` rewrites the issue first; it is off unless
given. `policy_rewriter(load_policy("openai:URL"))` makes one from any policy
backend (through the Policy protocol only: no backend is imported here).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, field_validator
from swefarm.perturb.base import Episode
from swefarm.perturb.issue_text import drop_section, pad, reorder, typos, vague

TRANSFORMS = ("vague", "incomplete", "reordered", "padded", "typos")
#: The order transforms run in, whatever order they were drawn in: cut first, misspell last.
_ORDER = ("rewrite", "vague", "incomplete", "reordered", "padded", "typos")


class UserPromptOptions(BaseModel):
    model_config = {"extra": "forbid", "arbitrary_types_allowed": True}

    transforms: list[str] = Field(default_factory=lambda: list(TRANSFORMS), description="transforms to draw from")
    min_transforms: int = Field(1, ge=0)
    max_transforms: int = Field(2, ge=1)
    typo_rate: tuple[float, float] = Field((0.03, 0.08), description="share of prose words misspelt: a range")
    rewrite: Callable[[str], str] | None = Field(None, description="rewrites an issue (e.g. with a model)")
    rewrite_p: float = Field(0.5, ge=0, le=1, description="chance an episode's issue is rewritten, given rewrite")

    @field_validator("transforms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in TRANSFORMS]
        if unknown or not value:
            raise ValueError(f"unknown transform(s) {', '.join(unknown) or '(none given)'}; known: {TRANSFORMS}")
        return value


class UserPromptPerturbation:
    name = "user"

    def __init__(self, **options: Any):
        self.options = UserPromptOptions(**options)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        opts = self.options
        high = min(opts.max_transforms, len(opts.transforms))
        chosen = rng.sample(opts.transforms, rng.randint(min(opts.min_transforms, high), high))
        steps = [self._params(name, rng) for name in chosen]
        if opts.rewrite is not None and rng.random() < opts.rewrite_p:
            steps.append({"name": "rewrite"})
        return {"transforms": sorted(steps, key=lambda step: _ORDER.index(step["name"]))}

    def _params(self, name: str, rng: random.Random) -> dict[str, Any]:
        if name == "incomplete":
            return {"name": name, "drop": rng.choice(["reproduction", "expected"])}
        if name == "padded":
            return {"name": name, "where": rng.choice(["start", "end", "both"]), "seed": rng.getrandbits(31)}
        if name == "typos":
            return {"name": name, "rate": round(rng.uniform(*self.options.typo_rate), 3), "seed": rng.getrandbits(31)}
        return {"name": name, "seed": rng.getrandbits(31)}

    def apply(self, params: dict[str, Any], episode: Episode) -> None:
        steps = params["transforms"]
        episode.rewrite_issue(lambda text: transform(text, steps, self.options.rewrite))


def transform(text: str, steps: list[dict[str, Any]], rewrite: Callable[[str], str] | None = None) -> str:
    """`text` through the transforms `steps` describe, in order."""
    for step in steps:
        name = step["name"]
        if name == "rewrite":
            text = _rewritten(text, rewrite)
        elif name == "vague":
            text = vague(text, random.Random(step["seed"]))
        elif name == "incomplete":
            text = drop_section(text, step["drop"])
        elif name == "reordered":
            text = reorder(text, random.Random(step["seed"]))
        elif name == "padded":
            text = pad(text, step["where"], random.Random(step["seed"]))
        elif name == "typos":
            text = typos(text, step["rate"], random.Random(step["seed"]))
    return text


REWRITE_INSTRUCTION = (
    "You rewrite GitHub issues the way a hurried user would write the same report: same facts, your own words, "
    "a different structure. Do not fix the bug, do not add facts, keep code and error messages exactly as they are. "
    "Reply with the rewritten issue only."
)


def policy_rewriter(factory: Any, instruction: str = REWRITE_INSTRUCTION) -> Callable[[str], str]:
    """A `rewrite` function asking a policy (from `factory.new()`, e.g. `load_policy("transformers")`) for one turn.

    The policy sees a system message (`instruction`) and the issue as the user message; its reply, thinking
    removed, is the new issue (an empty reply keeps the original).
    """
    from swefarm.envs.formats import strip_thinking

    def rewrite(text: str) -> str:
        policy = factory.new(None)
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": text}]
        info = {"messages": messages, "tools": [], "tool_format": "hermes", "tool_results": []}
        policy.begin(f"{instruction}\n\n{text}", info)
        action = policy.act(f"{instruction}\n\n{text}", info)
        reply = action.get("content", "") if isinstance(action, dict) else action
        return strip_thinking(reply if isinstance(reply, str) else "").strip()

    return rewrite


def _rewritten(text: str, rewrite: Callable[[str], str] | None) -> str:
    """The rewriter's text; the original when there is none or it gives back nothing usable."""
    if rewrite is None:
        return text
    new = rewrite(text)
    return new if isinstance(new, str) and new.strip() else text
