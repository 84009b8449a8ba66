"""EnvConfig: everything about an episode that is configuration, not code.

Tools, their names, the tool-call format, the prompts, the limits and the
reward spec. The perturbation layer varies these; a trainer sets them with
`gymnasium.make("swe/...", config={...})` or keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, cast

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from swefarm.rewards.spec import RewardSpec
from swefarm.sandbox.models import SandboxConfig

if TYPE_CHECKING:
    from swefarm.envs.formats import ToolFormat
    from swefarm.envs.tools import Tool

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


def _sandbox_overrides() -> type[BaseModel]:
    """SandboxConfig with every field optional: the overrides an env config may set (typed, never a bare dict)."""
    fields: dict[str, Any] = {
        name: (Optional[info.annotation], Field(None, description=info.description))  # noqa: UP045
        for name, info in SandboxConfig.model_fields.items()
    }
    return create_model("SandboxOverrides", __config__=ConfigDict(extra="forbid"), **fields)


#: Overrides of `SandboxConfig` for an env's sandboxes (memory, cpus, ...); unset fields keep the task's defaults.
SandboxOverrides = _sandbox_overrides()

#: Resource limits that grading honours too (a task that needs 4g to run its tests needs it to grade them).
#: Sealing (network, uid, read-only root) and layout are always the grader's own.
GRADING_LIMITS = ("memory", "cpus", "pids_limit", "nofile", "workspace_size", "workspace_inodes", "tmp_size",
                  "tmp_inodes")  # fmt: skip


class Scaffold(BaseModel):
    """What an agent scaffold chooses: its tools and their names, the call format, the prompts, the limits.

    `EnvConfig` adds what the env's owner chooses; the API's `ScaffoldConfig` is these fields as a
    client may send them (with its own checks on top), so neither declares them twice.
    """

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

    @field_validator("tool_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from swefarm.envs.formats import FORMATS

        if value not in FORMATS:
            raise ValueError(f"unknown tool format {value!r}; choose one of {', '.join(FORMATS)}")
        return value

    def call_format(self) -> ToolFormat:
        """The tool-call format episodes with this config speak (see `call_format`)."""
        return call_format(self.tool_format, self.tool_names, self.tool_arguments.get("bash", {}))

    def build_tools(self, workdir: str) -> dict[str, Tool]:
        """Fresh tools for one episode with this config, by the name the agent calls them."""
        from swefarm.envs.tools import make_tools

        return make_tools(
            self.tools,
            self.tool_names,
            arguments=self.tool_arguments,
            descriptions=self.tool_descriptions,
            workdir=workdir,
            timeout_s=self.command_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
        )


class EnvConfig(Scaffold):
    """One episode's scaffold and limits, and what the env's owner sets: the reward spec, grading, the
    sandboxes. Every field has a default a trainer can start from."""

    grade_timeout_s: float = Field(1800.0, gt=0)
    pool_size: int = Field(2, ge=0, description="warm sandboxes kept ready per task image")
    reward: RewardSpec = Field(default_factory=RewardSpec)
    sandbox: SandboxOverrides = Field(  # type: ignore[valid-type]
        default_factory=SandboxOverrides, description="SandboxConfig overrides (memory, cpus, ...)"
    )
    sandbox_provider: str = Field(
        "docker",
        description="where sandboxes come from: docker (sealed containers), or local (a subprocess on this machine "
        "with NO isolation, for swefarm's own fast tests; see sandbox/local_backend.py)",
    )

    def sandbox_overrides(self, grading: bool = False) -> dict[str, Any]:
        """The sandbox fields this config sets; for `grading`, only the resource limits grading honours."""
        set_ = cast(BaseModel, self.sandbox).model_dump(exclude_none=True)
        return {k: v for k, v in set_.items() if k in GRADING_LIMITS} if grading else set_

    @field_validator("sandbox_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        from swefarm.sandbox.provider import check_name

        return check_name(value)

    @field_validator("reward", mode="before")
    @classmethod
    def _load_reward(cls, value: Any) -> Any:
        return value if isinstance(value, RewardSpec) else RewardSpec.load(value)

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


def call_format(tool_format: str, tool_names: Mapping[str, str], bash_arguments: Mapping[str, str]) -> ToolFormat:
    """The format `tool_format`, told what the episode calls its bash and submit tools and bash's command.

    The one mapping from an episode's tool names to its format's options: the env builds its parser
    with it (`EnvConfig.call_format`), and policies their renderer from the reset info.
    """
    from swefarm.envs.formats import get_format

    return get_format(
        tool_format,
        bash_tool=tool_names.get("bash", "bash"),
        submit_tool=tool_names.get("submit", "submit"),
        command_argument=bash_arguments.get("command", "command"),
    )
