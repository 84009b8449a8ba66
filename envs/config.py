"""EnvConfig: everything about an episode that is configuration, not code.

Tools, their names, the tool-call format, the prompts, the limits and the
reward spec. The perturbation layer varies these; a trainer sets them with
`gymnasium.make("swe/...", config={...})` or keyword arguments.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator
from swefarm.rewards.spec import RewardSpec

DEFAULT_SYSTEM_PROMPT = """You are a software engineer working in a repository checked out at {workdir}. \
You fix the issue you are given by running commands and editing files with the tools below, one step at a time: \
think about what you saw, then call a tool. Make the smallest change that fixes the issue in the library code; \
do not edit the existing tests. When the fix is done, call {submit}.

{tool_instructions}"""

DEFAULT_INSTANCE_PROMPT = """Repository: {repo}, checked out at {workdir}

<issue>
{problem_statement}
</issue>

Fix the issue above."""


class EnvConfig(BaseModel):
    """One episode's scaffold and limits. Every field has a default a trainer can start from."""

    model_config = {"extra": "forbid"}

    tools: list[str] = Field(["bash", "editor", "search", "submit"], description="tool kinds the agent has")
    tool_names: dict[str, str] = Field(
        default_factory=lambda: {"editor": "str_replace_editor"}, description="kind -> the name the agent calls"
    )
    tool_arguments: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="kind -> {argument: the name the agent uses}; the arguments are listed in this order, others after",
    )
    tool_descriptions: dict[str, str] = Field(default_factory=dict, description="kind -> the tool's description")
    tool_format: str = Field("hermes", description="how calls are written: hermes | minimax | bash")
    system_prompt: str = Field(
        DEFAULT_SYSTEM_PROMPT, description="template: {workdir} {submit} {tool_instructions} {tool_list}"
    )
    instance_prompt: str = Field(DEFAULT_INSTANCE_PROMPT, description="template: {repo} {workdir} {problem_statement}")
    max_steps: int = Field(50, ge=1, description="steps before the episode is truncated")
    wall_clock_budget_s: float = Field(1800.0, gt=0, description="env time + reported model time before truncation")
    command_timeout_s: float = Field(120.0, gt=0, description="hard timeout of one bash command")
    idle_timeout_s: float | None = Field(None, description="stop a command that prints nothing for this long")
    max_observation_chars: int = Field(30_000, ge=100, description="longest tool output the agent reads")
    grade_on_truncation: bool = Field(True, description="grade the working tree when the episode is truncated")
    grade_timeout_s: float = Field(1800.0, gt=0)
    pool_size: int = Field(2, ge=0, description="warm sandboxes kept ready per task image")
    reward: RewardSpec = Field(default_factory=RewardSpec)
    sandbox: dict[str, Any] = Field(default_factory=dict, description="SandboxConfig overrides (memory, cpus, ...)")

    @field_validator("reward", mode="before")
    @classmethod
    def _load_reward(cls, value: Any) -> Any:
        return value if isinstance(value, RewardSpec) else RewardSpec.load(value)

    @field_validator("tool_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from swefarm.envs.formats import FORMATS

        if value not in FORMATS:
            raise ValueError(f"unknown tool format {value!r}; choose one of {', '.join(FORMATS)}")
        return value

    @property
    def reward_spec(self) -> RewardSpec:
        """The spec episodes are scored by: unless it sets its own, the speed budget is the episode's budget."""
        if "speed_budget_s" in self.reward.model_fields_set:
            return self.reward
        return self.reward.model_copy(update={"speed_budget_s": self.wall_clock_budget_s})

    @classmethod
    def load(cls, source: EnvConfig | dict | str | None = None, **overrides: Any) -> EnvConfig:
        """From a config, a dict, or a YAML/JSON file path; keyword overrides win."""
        if isinstance(source, EnvConfig):
            data = {**source.model_dump(), "reward": source.reward}  # the spec itself: keeps what it set
        elif isinstance(source, str):
            import yaml

            with open(source, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        else:
            data = dict(source or {})
        return cls.model_validate({**data, **overrides})
