"""What every drift method returns, and the two significance helpers they share.

A method answers one question: did ``current`` move away from ``reference``? It returns a
:class:`MethodResult` whose ``score`` is an effect size (larger means more drift) and whose
``threshold`` is the effect size at which it starts to matter. Most methods also need the
change to be statistically clear (``p_value <= alpha``), so that small windows do not alarm
on noise and large windows do not alarm on negligible differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MethodResult:
    """One method's verdict on one feature in one window."""

    score: float
    drifted: bool
    threshold: float
    detail: dict[str, Any] = field(default_factory=dict)


def judged(score: float, threshold: float, p_value: float | None, alpha: float) -> bool:
    """Drift needs both a large enough effect and, when there is a p-value, significance."""
    if not math.isfinite(score) or score < threshold:
        return False
    return p_value is None or p_value <= alpha


def contingency_p_value(ref_counts: NDArray[Any], cur_counts: NDArray[Any]) -> float:
    """Chi-square test of homogeneity on two count vectors over the same bins.

    Bins with an expected count under 5 are pooled into one, because the chi-square
    approximation is anti-conservative on sparse bins and would raise false alarms.
    """
    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    expected_min = table.sum(axis=0) * min(table.sum(axis=1)) / table.sum()
    sparse = expected_min < 5
    if sparse.any():
        pooled = table[:, sparse].sum(axis=1, keepdims=True)
        table = np.hstack([table[:, ~sparse], pooled])
        table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def auc_chance_sd(n_pos: int, n_neg: int) -> float:
    """Standard deviation of the ROC AUC of a random classifier on a held-out set.

    A random scorer's AUC is the Mann-Whitney U statistic over ``n_pos * n_neg``: mean 0.5,
    variance ``(n_pos + n_neg + 1) / (12 n_pos n_neg)``, close to normal at these sizes.
    """
    return math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))


def upper_z(alpha: float) -> float:
    """The standard normal quantile exceeded with probability ``alpha``."""
    return float(stats.norm.isf(alpha))
