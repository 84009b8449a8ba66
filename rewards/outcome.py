"""EpisodeOutcome: everything an env knows about an episode when it ends, the input to every reward."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class EpisodeOutcome(BaseModel):
    """The facts of one finished episode; reward components read these and nothing else.

    ``resolved`` is the grader's verdict (SWE-bench's rule: every FAIL_TO_PASS and every
    PASS_TO_PASS test passes); the counts are kept beside it for partial credit.
    ``env_time_s`` is time spent inside the env's reset/step (sandbox, tools), not grading;
    ``model_time_s`` and ``tokens`` are what the caller reported for its policy.
    ``tampered`` says the grader caught the test report contradicting its canary tests;
    ``suspicious`` counts the lines of the agent's change that reach into the test runner (not
    a verdict: code that is correct only under a test runner cannot be caught otherwise);
    ``grade_failure`` names what the agent's change broke in grading (``oom``, ``patch_too_large``...).
    ``infra_error`` set means the episode says nothing about the policy: it is never scored.
    """

    model_config = ConfigDict(extra="forbid")

    resolved: bool = False
    fail_to_pass_passed: int = Field(0, ge=0)
    fail_to_pass_total: int = Field(0, ge=0)
    pass_to_pass_passed: int = Field(0, ge=0)
    pass_to_pass_total: int = Field(0, ge=0)
    submitted: bool = False
    env_time_s: float = Field(0.0, ge=0)
    model_time_s: float = Field(0.0, ge=0)
    tool_calls: int = Field(0, ge=0)
    tokens: int = Field(0, ge=0)
    steps: int = Field(0, ge=0)
    tampered: bool = False
    suspicious: int = Field(0, ge=0)
    grade_failure: str | None = None
    infra_error: str | None = None

    @field_validator("env_time_s", "model_time_s")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be finite")
        return v

    @model_validator(mode="after")
    def _passed_within_total(self) -> EpisodeOutcome:
        for kind in ("fail_to_pass", "pass_to_pass"):
            passed, total = getattr(self, f"{kind}_passed"), getattr(self, f"{kind}_total")
            if passed > total:
                raise ValueError(f"{kind}_passed ({passed}) exceeds {kind}_total ({total})")
        return self

    @property
    def wall_time_s(self) -> float:
        """T in the speed formula: env time plus model time."""
        return self.env_time_s + self.model_time_s
