"""Drift methods for categorical and boolean features: Jensen-Shannon and chi-square.

Inputs are arrays of category labels (nulls already mapped to a label such as
``"(null)"``) or, equivalently and faster, mappings of label to count. At most
:data:`MAX_CATEGORIES` categories are kept apart; rarer ones are pooled into ``"(other)"``
so that an id-like field does not make a huge sparse table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import distance

from genailog.analysis.drift.base import MethodResult, contingency_p_value, judged

MAX_CATEGORIES = 50
OTHER = "(other)"


Labels = NDArray[Any] | Sequence[Any] | Mapping[Any, int]


def counter(values: Labels) -> Counter[str]:
    """Label counts of an array of labels or of a label -> count mapping."""
    if isinstance(values, Mapping):
        return Counter({str(k): int(v) for k, v in values.items()})
    items = values.tolist() if isinstance(values, np.ndarray) else values
    return Counter(map(str, items))


def category_counts(
    reference: Labels, current: Labels
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
    """Shared category labels and the count of each in reference and current."""
    ref, cur = counter(reference), counter(current)
    # Ranked by count, ties by label: never by the order the labels arrived in (a polars
    # value_counts or group_by gives them in a different order from run to run), so that
    # the category order, and with it the floating-point sums over it, is the same each run.
    ranked = [c for c, _ in sorted((ref + cur).items(), key=lambda item: (-item[1], item[0]))]
    kept = ranked[:MAX_CATEGORIES]
    labels = kept + ([OTHER] if len(ranked) > MAX_CATEGORIES else [])

    def counts(counter: Counter[str]) -> NDArray[np.float64]:
        values = [counter.get(c, 0) for c in kept]
        if len(labels) > len(kept):
            values.append(sum(counter.values()) - sum(values))
        return np.asarray(values, dtype=np.float64)

    return labels, counts(ref), counts(cur)


def jensenshannon(
    reference: Labels, current: Labels, *, threshold: float = 0.1,
    alpha: float = 0.01,
) -> MethodResult:
    """Jensen-Shannon distance (base 2) between the category frequencies."""
    _, ref_counts, cur_counts = category_counts(reference, current)
    score = float(distance.jensenshannon(ref_counts, cur_counts, base=2))
    p_value = contingency_p_value(ref_counts, cur_counts)
    return MethodResult(score, judged(score, threshold, p_value, alpha), threshold,
                        {"p_value": p_value, "alpha": alpha})


def chisquare(
    reference: Labels, current: Labels, *, threshold: float = 0.05,
    alpha: float = 0.01,
) -> MethodResult:
    """Chi-square test of homogeneity; the score is the effect size Cramer's V.

    For two samples Cramer's V is ``sqrt(chi2 / n)``; it is 0 for identical frequencies and
    1 when the two windows share no category. For a boolean it is the phi coefficient, the
    effect size of the two-proportion test.
    """
    _, ref_counts, cur_counts = category_counts(reference, current)
    score = cramers_v(ref_counts, cur_counts)
    p_value = contingency_p_value(ref_counts, cur_counts)
    return MethodResult(score, judged(score, threshold, p_value, alpha), threshold,
                        {"p_value": p_value, "alpha": alpha})


def cramers_v(ref_counts: NDArray[np.float64], cur_counts: NDArray[np.float64]) -> float:
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return float(np.sqrt(chi2 / total))
