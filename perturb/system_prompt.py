"""The system family: the system prompt and the task message, in one of six scaffold styles with variation.

An episode draws a style, a phrasing for each of its slots, a subset of its
optional rules in some order, and one of its task-message templates; the env
fills in the workdir, the submit tool's name and the tool instructions, so the
agent is always told how to call its tools and how to finish.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, Field, field_validator
from swefarm.perturb.base import Episode
from swefarm.perturb.scaffolds import STYLES, Style


class SystemPromptOptions(BaseModel):
    model_config = {"extra": "forbid"}

    styles: list[str] = Field(default_factory=lambda: list(STYLES), description="the styles to draw from")
    min_rules: int = Field(2, ge=0, description="fewest optional rules kept (all, when a style has fewer)")

    @field_validator("styles")
    @classmethod
    def _known(cls, styles: list[str]) -> list[str]:
        unknown = [s for s in styles if s not in STYLES]
        if unknown or not styles:
            raise ValueError(f"unknown style(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(STYLES)}")
        return styles


class SystemPromptPerturbation:
    name = "system"

    def __init__(self, **options: Any):
        self.options = SystemPromptOptions(**options)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        style = STYLES[rng.choice(self.options.styles)]
        slots = {slot: rng.randrange(len(choices)) for slot, choices in style.slots.items()}
        n = len(style.rules)
        keep = rng.randint(min(self.options.min_rules, n), n)
        rules = rng.sample(range(n), keep)
        return {"style": style.name, "slots": slots, "rules": rules, "instance": rng.randrange(len(style.instance))}

    def apply(self, params: dict[str, Any], episode: Episode) -> None:
        system, instance = render(params)
        episode.configure(system_prompt=system, instance_prompt=instance)


def render(params: dict[str, Any]) -> tuple[str, str]:
    """The (system prompt, task message) templates `params` describe, with the env's placeholders left in."""
    style: Style = STYLES[params["style"]]
    text = style.system
    for slot, index in params["slots"].items():
        text = text.replace(f"[[{slot}]]", style.slots[slot][index])
    rules = [style.rules[i] for i in params["rules"]]
    listed = "\n".join(style.bullet.replace("{n}", str(n)) + rule for n, rule in enumerate(rules, 1))
    text = text.replace("[[rules]]", listed)
    if not rules:  # a heading or tag left with nothing under it reads as a broken prompt
        text = text.replace("Important:\n\n", "").replace("<GUIDELINES>\n\n</GUIDELINES>\n\n", "")
        text = text.replace("# Doing tasks\n\n", "").replace("Here is how we would like you to work:\n\n\n\n", "")
    if "{submit}" not in text:  # the rule that says how to finish was left out: it must still be said
        text = text.replace("{tool_instructions}", "When you are done, call {submit}.\n\n{tool_instructions}")
    text = text.replace("\n\n\n", "\n\n")
    return text, style.instance[params["instance"]]
