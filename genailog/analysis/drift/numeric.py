"""Drift methods for numeric features: PSI, Kolmogorov-Smirnov, Wasserstein, Jensen-Shannon.

Each is a pure function ``(reference, current) -> MethodResult`` over 1-D float arrays
without nulls. Binned methods (PSI, Jensen-Shannon) use :func:`bin_edges`: the reference
deciles, or each distinct value when the reference holds ten or fewer (ratings, retries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial import distance

from genailog.analysis.drift.base import FloatArray, MethodResult, contingency_p_value, judged

#: Number of quantile bins for PSI and binned Jensen-Shannon.
BINS = 10
#: Proportion given to an empty bin, so that PSI's log stays finite (Evidently uses the same).
EMPTY_BIN = 1e-4


def bin_edges(reference: FloatArray, bins: int = BINS) -> FloatArray:
    """Inner bin edges: reference quantiles, or midpoints between few distinct values."""
    distinct = np.unique(reference)
    if distinct.size <= bins:
        return (distinct[:-1] + distinct[1:]) / 2.0
    quantiles = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def bin_counts(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Counts per bin ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""
    index = np.searchsorted(edges, values, side="left")
    return np.bincount(index, minlength=edges.size + 1).astype(np.float64)


def proportions(counts: FloatArray) -> FloatArray:
    share = counts / counts.sum()
    return np.where(share == 0, EMPTY_BIN, share)


def psi_score(ref_counts: FloatArray, cur_counts: FloatArray) -> float:
    """Population stability index of two count vectors over the same bins."""
    ref, cur = proportions(ref_counts), proportions(cur_counts)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _binned_result(
    reference: FloatArray, current: FloatArray,
    score_of: Callable[[FloatArray, FloatArray], float], threshold: float, alpha: float,
) -> MethodResult:
    """Score two samples over the reference bins; significance from chi-square on the bins."""
    edges = bin_edges(reference)
    ref_counts, cur_counts = bin_counts(reference, edges), bin_counts(current, edges)
    score = float(score_of(ref_counts, cur_counts))
    p_value = contingency_p_value(ref_counts, cur_counts)
    return MethodResult(score, judged(score, threshold, p_value, alpha), threshold,
                        {"p_value": p_value, "alpha": alpha, "bins": int(ref_counts.size)})


def psi(
    reference: FloatArray, current: FloatArray, *, threshold: float = 0.1, alpha: float = 0.01
) -> MethodResult:
    """PSI over reference-decile bins."""
    return _binned_result(reference, current, psi_score, threshold, alpha)


def _js_distance(ref_counts: FloatArray, cur_counts: FloatArray) -> float:
    return float(distance.jensenshannon(ref_counts, cur_counts, base=2))


def jensenshannon(
    reference: FloatArray, current: FloatArray, *, threshold: float = 0.1, alpha: float = 0.01
) -> MethodResult:
    """Jensen-Shannon distance (base 2, in [0, 1]) over the PSI bins."""
    return _binned_result(reference, current, _js_distance, threshold, alpha)


def ks(
    reference: FloatArray, current: FloatArray, *, threshold: float = 0.1, alpha: float = 0.01
) -> MethodResult:
    """Two-sample Kolmogorov-Smirnov: the score is the statistic D, with its p-value."""
    test = stats.ks_2samp(reference, current)
    score, p_value = float(test.statistic), float(test.pvalue)
    return MethodResult(score, judged(score, threshold, p_value, alpha), threshold,
                        {"p_value": p_value, "alpha": alpha})


def wasserstein(
    reference: FloatArray, current: FloatArray, *, threshold: float = 0.1, alpha: float = 0.01
) -> MethodResult:
    """Wasserstein-1 distance divided by the reference standard deviation.

    The distance has no p-value of its own; significance comes from the two-sample KS test.
    """
    scale = float(np.std(reference))
    raw = float(stats.wasserstein_distance(reference, current))
    # A constant reference has no spread to normalize by; the raw distance is the honest score.
    score = raw / scale if scale > 0 else raw
    p_value = float(stats.ks_2samp(reference, current).pvalue)
    detail: dict[str, Any] = {"p_value": p_value, "alpha": alpha, "distance": raw,
                              "reference_std": scale, "normalized": scale > 0}
    return MethodResult(score, judged(score, threshold, p_value, alpha), threshold, detail)
