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
from swefarm.envs.config import DEFAULT_INSTANCE_PROMPT, DEFAULT_SYSTEM_PROMPT, EnvConfig

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


class ScaffoldConfig(Strict):
    """An agent scaffold: prompts, tools, tool-call format, limits, the reward spec, a default perturbation."""

    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, max_length=MAX_PROMPT)
    instance_prompt: str = Field(DEFAULT_INSTANCE_PROMPT, max_length=MAX_PROMPT)
    tools: list[str] = Field(default_factory=lambda: ["bash", "editor", "search", "submit"], min_length=1)
    tool_names: dict[str, str] = Field(default_factory=lambda: {"editor": "str_replace_editor"})
    tool_arguments: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="kind -> {argument: the name the agent uses}, in this order"
    )
    tool_descriptions: dict[str, str] = Field(default_factory=dict, description="kind -> the tool's description")
    tool_format: str = "hermes"
    max_steps: int = Field(50, ge=1)
    wall_clock_budget_s: float = Field(1800.0, gt=0)
    command_timeout_s: float = Field(120.0, gt=0)
    idle_timeout_s: float | None = Field(None, gt=0)
    max_observation_chars: int = Field(30_000, ge=100, le=1_000_000)
    grade_on_truncation: bool = True
    reward: str | dict[str, Any] = Field("swebench", description="a preset name or {weights, speed_budget_s}")
    perturbation: Perturbation = Field(None, description="the default perturbation of sessions on this scaffold")

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
        from swefarm.envs.formats import get_format
        from swefarm.envs.tools import make_tools

        config = self.env_config()
        tools = make_tools(
            config.tools,
            config.tool_names,
            arguments=config.tool_arguments,
            descriptions=config.tool_descriptions,
            workdir="/testbed",
        )
        fmt = get_format(
            config.tool_format,
            bash_tool=config.tool_names.get("bash", "bash"),
            submit_tool=config.tool_names.get("submit", "submit"),
        )
        fmt.instructions([tool.spec for tool in tools.values()])
        return self

    def env_config(self, **farm: Any) -> EnvConfig:
        """The EnvConfig an episode on this scaffold runs with; `farm` adds the farm's own settings (pool size)."""
        data = self.model_dump(exclude={"perturbation"})
        return EnvConfig.load(data, **farm)
