"""RewardSpec: a weighted sum of named components, its presets, loading, and RewardBreakdown."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from swefarm.rewards.components import COMPONENTS
from swefarm.rewards.outcome import EpisodeOutcome

DEFAULT_SPEED_BUDGET_S = 1800.0

#: Named weight sets; ``RewardSpec.load(name)`` builds a spec from one (default speed budget).
PRESETS: dict[str, dict[str, float]] = {
    "swebench": {"resolved": 1.0},
    "partial": {"resolved": 1.0, "fail_to_pass_fraction": 0.5, "pass_to_pass_regressions": -0.5},
    "fast": {"resolved": 1.0, "speed": 0.5},
    "shaped": {
        "resolved": 1.0,
        "fail_to_pass_fraction": 0.5,
        "pass_to_pass_regressions": -0.5,
        "speed": 0.25,
        "tool_calls": -0.002,
        "tokens": -0.00001,
    },
}


class RewardBreakdown(BaseModel):
    """One scored episode: ``total`` is exactly the sum of ``components`` (weight * value, non-zero weights).

    ``values`` holds the raw value of every known component, weighted or not, for logging.
    ``scored=False`` (infra error) means the episode must be dropped, not counted as a failure.
    """

    total: float
    components: dict[str, float]
    values: dict[str, float]
    scored: bool


class RewardSpec(BaseModel):
    """reward = sum(weight[name] * COMPONENTS[name](outcome, spec)) over the weights given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[str, float] = Field(default_factory=lambda: {"resolved": 1.0})
    speed_budget_s: float = Field(DEFAULT_SPEED_BUDGET_S, gt=0)

    @field_validator("weights")
    @classmethod
    def _known_finite(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown reward component(s) {unknown}; known: {', '.join(COMPONENTS)}")
        bad = sorted(name for name, w in weights.items() if not math.isfinite(w))
        if bad:
            raise ValueError(f"weights must be finite numbers; not finite: {bad}")
        return weights

    @field_validator("speed_budget_s")
    @classmethod
    def _finite_budget(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("speed_budget_s must be finite")
        return v

    def score(self, outcome: EpisodeOutcome) -> RewardBreakdown:
        """Weighted sum of the components; an outcome with ``infra_error`` is returned unscored (drop it)."""
        if outcome.infra_error is not None:
            return RewardBreakdown(total=0.0, components={}, values={}, scored=False)
        values = {name: fn(outcome, self) for name, fn in COMPONENTS.items()}
        # + 0.0 turns -0.0 (a negative weight times a zero value) into 0.0 for cleaner logs
        components = {name: w * values[name] + 0.0 for name, w in self.weights.items() if w != 0}
        return RewardBreakdown(total=sum(components.values()), components=components, values=values, scored=True)

    def describe(self) -> str:
        """A short formula, e.g. ``1*resolved + 0.5*speed (budget 1800 s)``."""
        terms = [(name, w) for name, w in self.weights.items() if w != 0]
        if not terms:
            return "0"
        text = f"{terms[0][1]:g}*{terms[0][0]}"
        for name, w in terms[1:]:
            text += f" {'-' if w < 0 else '+'} {abs(w):g}*{name}"
        if any(name == "speed" for name, _ in terms):
            text += f" (budget {self.speed_budget_s:g} s)"
        return text

    @classmethod
    def load(cls, source: RewardSpec | dict[str, Any] | str | Path | None = None) -> RewardSpec:
        """A spec from None (the default), a RewardSpec, a dict, a preset name, or a YAML/JSON file path."""
        if source is None:
            return cls()
        if isinstance(source, RewardSpec):
            return source
        if isinstance(source, dict):
            return cls.model_validate(source)
        if isinstance(source, str) and source in PRESETS:
            return cls(weights=dict(PRESETS[source]))
        if not isinstance(source, str | Path):
            raise TypeError(f"cannot load a RewardSpec from {type(source).__name__}")
        path = Path(source)
        if not path.is_file():
            if isinstance(source, str) and not path.suffix and len(path.parts) == 1:
                raise ValueError(f"unknown reward preset {source!r} (and no such file); presets: {', '.join(PRESETS)}")
            raise FileNotFoundError(f"reward spec file not found: {path}")
        text = path.read_text()
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as e:
            raise ValueError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {e}") from e
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a reward spec must be a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise ValueError(f"{path}: invalid reward spec: {e}") from e
