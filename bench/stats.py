"""The statistics every benchmark reports, in one place: samples are seconds, figures are milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_calls(fn: Callable[[], object], n: int) -> list[float]:
    """Seconds each of `n` calls of `fn` took."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p50_ms(samples: list[float]) -> float:
    """The median of `samples` (seconds), in ms."""
    return round(statistics.median(samples) * 1000, 3)


def percentile_ms(samples: list[float], q: int) -> float | None:
    """The q-th percentile of `samples` (seconds) in ms, interpolated between samples; None without samples."""
    if not samples:
        return None
    if len(samples) == 1:
        return round(samples[0] * 1000, 3)
    return round(statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000, 3)


def speedup(theirs: list[float], ours: list[float]) -> float:
    """How many times faster our median is than theirs."""
    return round(statistics.median(theirs) / statistics.median(ours), 1)


def per_minute(count: int, seconds: float) -> float:
    return round(count / seconds * 60, 1)
