"""The generalisation gap, defined once: how much a measure drops when the episode is perturbed.

    gap = unperturbed - perturbed

A positive success-rate gap of 0.25 means the policy resolves 25 points fewer tasks under the
perturbation; 0 means no loss. Every gap swefarm reports uses this one sign: the evaluation jobs'
summary over REST (`generalisation_gap`) and `swefarm bench perturb`'s report (`gap_*`, per measure:
for steps and wall-clock a negative gap means the perturbed episodes took more).
"""

from __future__ import annotations


def generalisation_gap(unperturbed: float, perturbed: float) -> float:
    """`unperturbed - perturbed`, rounded to 6 places (see the module docstring for the sign)."""
    return round(unperturbed - perturbed, 6)
