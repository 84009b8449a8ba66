"""Reward components (tests, partial credit, wall-clock speed, costs) and RewardSpec.

An env fills an :class:`EpisodeOutcome` when an episode ends; a :class:`RewardSpec` turns it
into a :class:`RewardBreakdown`::

    reward = sum(weights[name] * value[name] for name in weights)

Components (raw values; ``COMPONENTS`` maps each name to its function):

``resolved``
    1.0 if the grader says resolved, else 0.0. The rule is SWE-bench's: every FAIL_TO_PASS
    and every PASS_TO_PASS test passes. The grader decides; the component only reads it.
``fail_to_pass_fraction``
    fail_to_pass_passed / fail_to_pass_total (partial credit); 0.0 when the total is 0.
``pass_to_pass_regressions``
    (pass_to_pass_total - pass_to_pass_passed) / pass_to_pass_total, the fraction of tests
    that passed before and no longer do; 0.0 when the total is 0. A penalty: weight it < 0.
``speed``
    resolved * clip(1 - T / budget, 0, 1), with T = env_time_s + model_time_s and
    budget = ``speed_budget_s`` (default 1800 s). T is wall-clock time spent on the task:
    env time is measured inside reset/step (sandbox, tools; grading excluded), model time is
    what the caller reports for generation. Solving at T=0 earns 1, at T >= budget earns 0.
    Why: MiniMax M2.5 trained with a reward for task-completion time, so agents learn to
    finish sooner (fewer wasted turns, parallel tool use) rather than merely finish. The
    factor ``resolved`` gates it: an unresolved episode earns 0 however fast, so speed never
    pays for giving up early.
``tool_calls``
    The number of tool calls. A cost: a negative weight gives a per-call charge.
``tokens``
    The tokens the caller reported. A cost: a negative weight gives a per-token charge.
``suspicious``
    1.0 when the agent's change holds code that reaches into the test runner (imports of
    ``_pytest``, ``pluggy`` or ``unittest.result``, ``atexit``, ``os._exit``, checks of
    ``PYTEST_CURRENT_TEST`` or ``"pytest" in sys.modules``; the grade report lists each line),
    else 0.0. Not a verdict: canary tests catch a rewritten report, but code that behaves
    correctly only while a test runner runs passes its tests honestly, and only this component
    can weigh against it. Give it a negative weight (e.g. -1 with ``resolved`` at 1).
``tampered``
    1.0 when the grader caught the test report contradicting its canary tests or the exit code
    (such a grade is never resolved), else 0.0. A penalty beyond the lost ``resolved``.

``RewardBreakdown.components`` holds weight * value for each component with a non-zero
weight, and ``total`` is exactly their sum; ``values`` holds the raw value of every
component, weighted or not, for logging.

Failures the agent causes in grading (its change over the size limit, memory or processes
exhausted, a workspace it broke, a report its code made unreadable) are scored like any
unresolved attempt; ``EpisodeOutcome.grade_failure`` names them.

Infrastructure errors: an outcome with ``infra_error`` set (sandbox died, engine gone, grading
crashed) says nothing about the policy, so it is never scored as a failed attempt:
``score`` returns ``scored=False`` with total 0.0 and empty components/values. Callers must
drop such episodes (not train on them, not count them in resolve rates); the 0.0 is only a
placeholder.

Presets (``PRESETS``, usable by name in ``RewardSpec.load``):

- ``swebench``: 1*resolved (the default spec)
- ``partial``:  1*resolved + 0.5*fail_to_pass_fraction - 0.5*pass_to_pass_regressions
- ``fast``:     1*resolved + 0.5*speed
- ``shaped``:   1*resolved + 0.5*fail_to_pass_fraction - 0.5*pass_to_pass_regressions
  + 0.25*speed - 0.002*tool_calls - 0.00001*tokens

``RewardSpec.load`` accepts None (default spec), a RewardSpec, a dict, a preset name, or a
path to a YAML or JSON file holding ``{weights: {...}, speed_budget_s: ...}``.
"""

from swefarm.rewards.components import COMPONENTS
from swefarm.rewards.outcome import EpisodeOutcome
from swefarm.rewards.spec import DEFAULT_SPEED_BUDGET_S, PRESETS, RewardBreakdown, RewardSpec

__all__ = [
    "COMPONENTS",
    "DEFAULT_SPEED_BUDGET_S",
    "PRESETS",
    "EpisodeOutcome",
    "RewardBreakdown",
    "RewardSpec",
]
