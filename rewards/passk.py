"""pass@k: the chance that at least one of k samples of a task resolves it, estimated without bias from n >= k.

Chen et al. (2021): with c of n samples correct, pass@k = 1 - C(n-c, k) / C(n, k),
averaged over tasks. Computing it from all n samples (rather than drawing k)
has far lower variance; k runs from 1 to the smallest n of any task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate for one task with `c` of `n` samples correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n (got n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_at_ks(outcomes: Iterable[tuple[str, bool]]) -> dict[str, float]:
    """{"pass@1": ..., ..., "pass@n"} over (task, resolved) pairs, averaged over tasks; {} for no outcomes.

    n is the number of samples of each task; k goes up to the smallest n (every task has that many).
    """
    by_task: dict[str, list[bool]] = defaultdict(list)
    for task, resolved in outcomes:
        by_task[task].append(bool(resolved))
    if not by_task:
        return {}
    top = min(len(v) for v in by_task.values())
    return {
        f"pass@{k}": round(sum(pass_at_k(len(v), sum(v), k) for v in by_task.values()) / len(by_task), 4)
        for k in range(1, top + 1)
    }
