"""Reward components: name -> function computing its raw (unweighted) value from an EpisodeOutcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from swefarm.rewards.outcome import EpisodeOutcome

if TYPE_CHECKING:
    from swefarm.rewards.spec import RewardSpec


def resolved(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """1.0 if the grader says resolved (all FAIL_TO_PASS and PASS_TO_PASS pass), else 0.0."""
    return 1.0 if outcome.resolved else 0.0


def fail_to_pass_fraction(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """Partial credit: passed / total FAIL_TO_PASS tests; 0.0 when there are none."""
    if outcome.fail_to_pass_total == 0:
        return 0.0
    return outcome.fail_to_pass_passed / outcome.fail_to_pass_total


def pass_to_pass_regressions(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """Fraction of PASS_TO_PASS tests that no longer pass; 0.0 when there are none. A penalty."""
    if outcome.pass_to_pass_total == 0:
        return 0.0
    return (outcome.pass_to_pass_total - outcome.pass_to_pass_passed) / outcome.pass_to_pass_total


def speed(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """resolved * clip(1 - T / budget, 0, 1), T = env_time_s + model_time_s, budget = spec.speed_budget_s."""
    if not outcome.resolved:
        return 0.0
    return min(1.0, max(0.0, 1.0 - outcome.wall_time_s / spec.speed_budget_s))


def tool_calls(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """The number of tool calls (a cost: give it a negative weight)."""
    return float(outcome.tool_calls)


def tokens(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """The tokens the caller reported (a cost: give it a negative weight)."""
    return float(outcome.tokens)


def suspicious(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """1.0 when the agent's change holds code that reaches into the test runner, else 0.0 (a penalty)."""
    return 1.0 if outcome.suspicious else 0.0


def tampered(outcome: EpisodeOutcome, spec: RewardSpec) -> float:
    """1.0 when the grader caught the test report contradicting its canary tests, else 0.0 (a penalty)."""
    return 1.0 if outcome.tampered else 0.0


COMPONENTS: dict[str, Callable[[EpisodeOutcome, RewardSpec], float]] = {
    "resolved": resolved,
    "fail_to_pass_fraction": fail_to_pass_fraction,
    "pass_to_pass_regressions": pass_to_pass_regressions,
    "speed": speed,
    "tool_calls": tool_calls,
    "tokens": tokens,
    "suspicious": suspicious,
    "tampered": tampered,
}
