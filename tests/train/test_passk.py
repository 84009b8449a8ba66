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
