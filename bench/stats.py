"""Percentiles for the benches: the nearest-rank method, so p50 <= p95 <= max however few the samples
(indexing a sorted list at int(q * (n - 1)) puts p95 below the median when there are two)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The smallest value with at least q of the samples at or below it (q in (0, 1]); nan with no samples."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
