"""Request and response models of the REST API, shared by the server and the Python client (`api.client`).

Families per resource: `XCreate` (what a client sends), `XPublic` (what it reads back).
The scaffold is the part of an episode's `EnvConfig` a client may choose; the farm's own
settings (sandbox limits, warm pools) are not in it, so no client can loosen a sandbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from swefarm.api.contract.scaffold import MAX_ACTION, NAME, Perturbation, ScaffoldConfig, Strict, check_perturbation

# -- tasks ------------------------------------------------------------------------------------


class TaskPublic(BaseModel):
    """What a client may know of a task (`tasks.public.public_view`): never the gold patch, the test patch,
    the tests' names, or the PR's number and URL (they lead to the fix); the issue is the problem statement."""

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    hints_text: str = ""
    created_at: datetime | None = None
    version: str = ""
    language: str = "python"
    status: str
    fail_to_pass_count: int
    pass_to_pass_count: int
    license: str | None = None

    @classmethod
    def of(cls, task) -> TaskPublic:
        from swefarm.tasks.public import public_view

        return cls(**public_view(task))  # the one place that decides what may leave the factory


class TaskPage(BaseModel):
    items: list[TaskPublic]
    total: int
    offset: int
    limit: int


# -- scaffolds ----------------------------------------------------------------------------------


class ScaffoldCreate(Strict):
    name: str = Field(pattern=NAME, description="versions accumulate under one name")
    config: ScaffoldConfig = Field(default_factory=ScaffoldConfig)
    parent: int | None = Field(None, ge=1, description="the version this one was derived from")
    note: str = Field("", max_length=20_000, description="what changed and why")
    metadata: dict[str, Any] = Field(default_factory=dict)


class ScaffoldUpdate(Strict):
    """What may change after a version is made: its note and metadata (its config never changes)."""

    note: str | None = Field(None, max_length=20_000)
    metadata: dict[str, Any] | None = None


class ScaffoldPublic(BaseModel):
    name: str
    version: int
    config: ScaffoldConfig
    parent: int | None = None
    note: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


# -- sessions -----------------------------------------------------------------------------------

SessionStatus = Literal["starting", "active", "ended", "closed", "expired", "failed"]


class ScaffoldChoice(Strict):
    """A registered scaffold (`name` or `name@version`) or an inline config; neither means the default."""

    scaffold: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@[0-9]{1,9})?$")
    config: ScaffoldConfig | None = None
    perturbation: Perturbation = None

    @field_validator("perturbation")
    @classmethod
    def _perturbation(cls, value: Any) -> Any:
        return check_perturbation(value)

    @model_validator(mode="after")
    def _one_of(self):
        if self.scaffold is not None and self.config is not None:
            raise ValueError("give a registered scaffold or an inline config, not both")
        return self


class SessionCreate(ScaffoldChoice):
    task_id: str = Field(min_length=1, max_length=300)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    idle_timeout_s: float | None = Field(None, gt=0, description="expire after this long without a request")
    messages_from: int | None = Field(
        None, ge=0, description="never send info['messages'] before this index, in this answer or any later one"
    )


class ResetRequest(Strict):
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    messages_from: int | None = Field(None, ge=0, description="send info['messages'] from this index on")
    full_history: bool = Field(False, description="send the whole chat in info['messages']")


class StepRequest(Strict):
    """An action as `env.step` takes it: model text, a tool call, a list of calls, or an assistant turn."""

    action: str | dict[str, Any] | list[Any]
    messages_from: int | None = Field(None, ge=0, description="send info['messages'] from this index on")
    full_history: bool = Field(
        False, description="send the whole chat in info['messages'] (by default only the messages not sent yet)"
    )

    @field_validator("action")
    @classmethod
    def _bounded(cls, value):
        if isinstance(value, str) and len(value) > MAX_ACTION:
            raise ValueError(f"an action is at most {MAX_ACTION} characters")
        return value


class StepResult(BaseModel):
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


class SessionPublic(BaseModel):
    id: str
    task_id: str
    scaffold: str | None = None
    perturbation: Perturbation = None
    status: SessionStatus
    error: str | None = None
    steps: int = 0
    episodes: int = 0
    reward: float | None = None
    idle_timeout_s: float
    worker_id: str | None = None
    created_at: datetime
    last_active_at: datetime
    ended_at: datetime | None = None


class SessionStarted(BaseModel):
    session: SessionPublic
    observation: str
    info: dict[str, Any]


# -- evaluations --------------------------------------------------------------------------------

EvaluationStatus = Literal["queued", "running", "done", "failed", "cancelled"]
ItemStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class EvaluationCreate(ScaffoldChoice):
    """Run a scaffold with a policy on tasks: an explicit list, or a split of the valid tasks in the store."""

    policy: str = Field(min_length=1, max_length=500, description="as `load_policy` reads it: empty, openai:URL, ...")
    policy_options: dict[str, Any] = Field(default_factory=dict)
    tasks: list[str] | None = Field(None, min_length=1, max_length=10_000)
    split: Literal["all", "train", "test"] = "all"
    repo: str | None = None
    limit: int | None = Field(None, ge=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    repeats: int = Field(1, ge=1, le=100)
    seed: int = Field(0, ge=0, le=2**31)
    keep_trajectories: bool = True


class EvaluationSummary(BaseModel):
    """Scores over scored episodes (an infrastructure failure is dropped, never a 0)."""

    score: float | None = None
    resolved_rate: float | None = None
    scored: int = 0
    infra_errors: int = 0
    mean_steps: float | None = None
    perturbed_score: float | None = None
    perturbed_resolved_rate: float | None = None
    perturbed_scored: int = 0
    generalisation_gap: float | None = Field(
        None, description="score unperturbed minus score perturbed (perturb.gap): positive is what perturbing cost"
    )
    pass_at_k: dict[str, float] = Field(
        default_factory=dict, description="unbiased pass@1..n over each task's n scored repeats (unperturbed)"
    )
    perturbed_pass_at_k: dict[str, float] = Field(default_factory=dict)


class EvaluationPublic(BaseModel):
    id: str
    status: EvaluationStatus
    error: str | None = None
    scaffold: str | None = None
    policy: str
    perturbation: Perturbation = None
    total: int
    done: int
    progress: float
    summary: EvaluationSummary
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events: list[str] = Field(default_factory=list)


class ItemPublic(BaseModel):
    id: int
    task_id: str
    variant: Literal["plain", "perturbed"]
    repeat: int
    status: ItemStatus
    attempts: int = 0
    reward: float | None = None
    resolved: bool | None = None
    steps: int | None = None
    infra_error: str | None = None
    tampered: bool | None = Field(None, description="the grader caught the test report contradicting its canaries")
    grade_failure: str | None = Field(None, description="what the agent's change broke in grading (oom, ...)")
    suspicious: list[dict[str, Any]] = Field(
        default_factory=list, description="lines of the agent's change that reach into the test runner"
    )
    error: str | None = Field(None, description="the episode raised (a bug in the policy or the env); the job failed")
    reward_components: dict[str, float] = Field(default_factory=dict)
    timing: dict[str, float] = Field(default_factory=dict)
    perturbation: list[dict[str, Any]] | dict[str, Any] | None = Field(None, description="what was varied")
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Trajectory(BaseModel):
    item_id: int
    task_id: str
    variant: str
    messages: list[dict[str, Any]]
    actions: list[Any]
    reward: float | None = None
    info: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, Any] | None = None


# -- the farm -----------------------------------------------------------------------------------


class WorkerPublic(BaseModel):
    id: str
    status: str
    host: str
    pid: int
    sessions: int
    sandboxes: int
    eval_running: int
    heartbeat_at: datetime
    started_at: datetime
    dead_reason: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    workers_alive: int
    database: str
