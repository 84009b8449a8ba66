"""pass@k: the unbiased estimator equals the exact chance over every k-subset of the n samples."""

from __future__ import annotations

from itertools import combinations

import pytest
from swefarm.rewards.passk import pass_at_k, pass_at_ks


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (4, 1), (5, 2), (6, 6), (6, 0)])
def test_matches_counting_every_subset(n, c):
    samples = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(combinations(samples, k))
        exact = sum(any(s) for s in subsets) / len(subsets)
        assert pass_at_k(n, c, k) == pytest.approx(exact)


def test_averages_over_tasks_up_to_the_smallest_n_and_rejects_nonsense():
    outcomes = [("a", True), ("a", False), ("b", False), ("b", False), ("b", True)]
    got = pass_at_ks(outcomes)
    assert set(got) == {"pass@1", "pass@2"}
    assert got["pass@1"] == pytest.approx((1 / 2 + 1 / 3) / 2, abs=1e-4)
    assert got["pass@2"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    assert pass_at_ks([]) == {}
    with pytest.raises(ValueError):
        pass_at_k(2, 3, 1)
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_evaluation_jobs_and_the_perturbation_bench_report_pass_at_k():
    from types import SimpleNamespace

    from swefarm.api.farm.evaluations import summarise
    from swefarm.perturb.report import EpisodeRow, summarize

    def row(task, resolved, variant="plain", infra=None):
        return SimpleNamespace(
            status="done", infra_error=infra, reward=float(resolved), resolved=resolved, steps=1, variant=variant,
            task_id=task,
        )  # fmt: skip

    rows = [row("a", True), row("a", False), row("b", False), row("b", False), row("b", True, infra="died")]
    summary = summarise(rows)
    assert summary.pass_at_k == {"pass@1": 0.25, "pass@2": 0.5}  # the infra error is left out, not a 0
    assert summary.infra_errors == 1 and summary.resolved_rate == 0.25
    episodes = [
        EpisodeRow(family="none", task=t, episode=k, seed=k, resolved=r, reward=float(r), steps=1, wall_s=1.0)
        for t, k, r in [("a", 0, True), ("a", 1, True), ("b", 0, False), ("b", 1, True)]
    ]
    (base,) = summarize(episodes)
    assert base.pass_at_k == {"pass@1": 0.75, "pass@2": 1.0}
