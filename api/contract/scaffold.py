"""A scaffold: the part of an episode's `EnvConfig` a client may choose, checked when it is made.

Prompts may use only their known placeholders (no attribute or index lookups), tool kinds and
names must exist and build, the reward spec is a preset or an object (never a server path), and a
perturbation is kinds or an object (never a file). The farm's own settings (sandbox limits, warm
pools) are not part of it, so no client can loosen a sandbox.
"""

from __future__ import annotations

import re
import string
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from swefarm.envs.config import EnvConfig, Scaffold

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
PERTURBATION_KINDS = re.compile(r"^[a-z_]+(\s*,\s*[a-z_]+)*$")
PROMPT_FIELDS = {
    "system_prompt": {"workdir", "submit", "tool_instructions", "tool_list"},
    "instance_prompt": {"repo", "workdir", "problem_statement"},
}
MAX_PROMPT = 100_000
MAX_ACTION = 1_000_000

#: A perturbation spec as a client may send it: none, "all", kinds ("system,tools"), or a mapping.
#: File paths are refused: a client must not make the server read its files.
Perturbation = str | dict[str, Any] | None


def check_perturbation(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str) and PERTURBATION_KINDS.match(value.strip()):
        return value.strip()
    raise ValueError('a perturbation is "all", a comma-separated list of kinds (e.g. "system,tools"), or an object')


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScaffoldConfig(Scaffold):
    """An agent scaffold: the `Scaffold` fields of `EnvConfig` (prompts, tools, tool-call format, limits),
    the reward spec (a preset or an object, never a path) and a default perturbation.

    The fields come from `envs.config.Scaffold`, never declared here again; what a client may send is
    checked on top of them (bounded prompts, known placeholders, tool names that are identifiers).
    """

    model_config = ConfigDict(extra="forbid")

    reward: str | dict[str, Any] = Field("swebench", description="a preset name or {weights, speed_budget_s}")
    perturbation: Perturbation = Field(None, description="the default perturbation of sessions on this scaffold")

    @field_validator("system_prompt", "instance_prompt", "max_observation_chars", "tools",
                     "idle_timeout_s", mode="after")  # fmt: skip
    @classmethod
    def _bounded(cls, value: Any, info) -> Any:
        name = info.field_name
        if name in ("system_prompt", "instance_prompt") and len(value) > MAX_PROMPT:
            raise ValueError(f"a prompt is at most {MAX_PROMPT:,} characters")
        if name == "max_observation_chars" and value > 1_000_000:
            raise ValueError("max_observation_chars is at most 1,000,000")
        if name == "tools" and not value:
            raise ValueError("a scaffold needs at least one tool")
        if name == "idle_timeout_s" and value is not None and value <= 0:
            raise ValueError("idle_timeout_s must be greater than 0")
        return value

    @field_validator("system_prompt", "instance_prompt")
    @classmethod
    def _known_placeholders(cls, value: str, info) -> str:
        allowed = PROMPT_FIELDS[info.field_name]
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}") from None
        bad = sorted({name for name in fields if name not in allowed})
        if bad:
            raise ValueError(f"unknown placeholder(s) {bad}; this prompt may use {sorted(allowed)}")
        return value

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: list[str]) -> list[str]:
        from swefarm.envs.tools import tool_kinds

        unknown = sorted(set(value) - set(tool_kinds()))
        if unknown:
            raise ValueError(f"unknown tool kind(s) {unknown}; known: {sorted(tool_kinds())}")
        if len(set(value)) != len(value):
            raise ValueError("a tool kind is listed twice")
        return value

    @field_validator("tool_names")
    @classmethod
    def _tool_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name in value.values() if not TOOL_NAME.match(name))
        if bad:
            raise ValueError(f"tool names must be identifiers of at most 64 characters: {bad}")
        return value

    @field_validator("tool_arguments")
    @classmethod
    def _argument_names(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        bad = sorted(name for names in value.values() for name in names.values() if not TOOL_NAME.match(name))
        if bad:
            raise ValueError(f"argument names must be identifiers of at most 64 characters: {bad}")
        return value

    @field_validator("tool_descriptions")
    @classmethod
    def _descriptions(cls, value: dict[str, str]) -> dict[str, str]:
        if any(len(text) > 10_000 for text in value.values()):
            raise ValueError("a tool description is at most 10,000 characters")
        return value

    @field_validator("reward")
    @classmethod
    def _reward(cls, value: str | dict) -> str | dict:
        from swefarm.rewards.spec import PRESETS, RewardSpec

        if isinstance(value, str) and value not in PRESETS:
            raise ValueError(f"unknown reward preset {value!r}; presets: {', '.join(PRESETS)} (or an object)")
        RewardSpec.load(value)
        return value

    @field_validator("perturbation")
    @classmethod
    def _perturbation(cls, value: Any) -> Any:
        return check_perturbation(value)

    @model_validator(mode="after")
    def _builds(self) -> ScaffoldConfig:
        """The episode config and its tools must build, so a bad scaffold fails here and not mid-session."""
        config = self.env_config()
        tools = config.build_tools(workdir="/testbed")
        config.call_format().instructions([tool.spec for tool in tools.values()])
        return self

    def env_config(self, **farm: Any) -> EnvConfig:
        """The EnvConfig an episode on this scaffold runs with; `farm` adds the farm's own settings (pool size)."""
        data = self.model_dump(exclude={"perturbation"})
        return EnvConfig.load(data, **farm)
