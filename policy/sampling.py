"""How a model-backed policy samples a turn, and the limits on it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SamplingConfig(BaseModel):
    """Sampling settings and per-turn limits; every field has a default a run can start from."""

    model_config = {"extra": "forbid"}

    temperature: float = Field(0.7, ge=0.0, description="0 is greedy decoding")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(512, ge=1, description="most tokens the model writes in one turn")
    stop: list[str] = Field(
        default_factory=list, description="extra stop sequences (the end-of-turn token always stops)"
    )
    context_limit: int | None = Field(
        None, ge=64, description="most tokens in the prompt plus a turn (default: the model's own window)"
    )
    min_turn_tokens: int = Field(
        32, ge=1, description="when fewer tokens than this are left in the context, the episode is truncated"
    )
    seed: int | None = Field(None, description="sampling seed (reproducible at concurrency 1)")
    think: bool = Field(True, description="open every turn with <think> so the model reasons before its calls")
