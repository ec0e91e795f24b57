"""Statistical tests and confidence intervals used by ``diff-prompts``.

Pure numpy/scipy functions over arrays; nothing here knows about logs or columns.

Design notes:

* Quantile bootstraps (median, p95) of independent samples are drawn *exactly* without
  resampling rows: the k-th order statistic of a bootstrap resample of a sorted sample
  ``x`` is ``x[j]`` with ``P(X*_(k) <= x_(j)) = P(Binomial(n, j/n) >= k)``. One CDF over a
  window of indices plus ``B`` uniform draws gives ``B`` bootstrap quantiles in O(n log n)
  for the sort, whatever ``n`` is, so no subsampling is needed. The order statistic used is
  ``k = ceil(q n)`` (numpy's ``inverted_cdf``).
* Paired bootstraps resample whole pairs. Above ``max_rows`` pairs they draw resamples of
  ``m = max_rows`` pairs and rescale the spread by ``sqrt(m / n)`` (the m-out-of-n
  bootstrap), which keeps memory and time bounded.
* Mann-Whitney U uses the normal approximation with tie and continuity corrections (the
  same as scipy's ``method="asymptotic"``, which scipy itself picks above 8 values),
  computed from sorted arrays.
* Only ``scipy.special`` is imported at module level: ``scipy.stats`` takes longer to
  import than a million-record comparison takes to run, so Fisher's and McNemar's exact
  tests are computed here from log-probabilities, and ``scipy.stats`` is imported only
  for the Wilcoxon test (paired mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

FloatArray = NDArray[np.float64]

#: Relative tolerance when deciding which tables are "as or less likely" than the one
#: observed (log-probabilities from gammaln carry ~1e-12 relative error).
_PMF_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]``."""

    low: float
    high: float


def _t_quantile(p: float, df: float) -> float:
    """Student t quantile."""
    return float(special.stdtrit(df, p))


# --- multiple testing ------------------------------------------------------------------


def adjust_pvalues(pvalues: Sequence[float | None], method: str = "holm") -> list[float | None]:
    """Family-wise adjusted p-values (holm, bonferroni or none); None entries stay None."""
    index = [i for i, p in enumerate(pvalues) if p is not None]
    raw = np.array([pvalues[i] for i in index], dtype=float)
    m = len(raw)
    if method == "none" or m == 0:
        adjusted = raw
    elif method == "bonferroni":
        adjusted = np.minimum(1.0, raw * m)
    elif method == "holm":
        order = np.argsort(raw, kind="stable")
        stepped = np.minimum(1.0, raw[order] * (m - np.arange(m)))
        adjusted = np.empty(m)
        adjusted[order] = np.maximum.accumulate(stepped)
    else:
        raise ValueError(f"unknown correction {method!r}")
    out: list[float | None] = [None] * len(pvalues)
    for i, p in zip(index, adjusted, strict=True):
        out[i] = float(p)
    return out


# --- numeric: unpaired -----------------------------------------------------------------


def mann_whitney_p(a_sorted: FloatArray, b_sorted: FloatArray) -> float:
    """Two-sided Mann-Whitney U p-value for two sorted samples (normal approximation)."""
    n1, n2 = len(a_sorted), len(b_sorted)
    # Stable sort of two sorted runs is a linear merge (timsort).
    both = np.sort(np.concatenate([a_sorted, b_sorted]), kind="stable")
    edges = np.flatnonzero(np.diff(both)) + 1
    ties = np.diff(np.concatenate([[0], edges, [len(both)]])).astype(np.float64)
    n = n1 + n2
    tie_term = float((ties**3 - ties).sum())
    # U for b: pairs (a_i, b_j) with a_i < b_j, ties counting one half.
    below = np.searchsorted(a_sorted, b_sorted, side="left").sum(dtype=np.float64)
    upto = (np.searchsorted(a_sorted, b_sorted, side="right").sum(dtype=np.float64)
            if tie_term else below)
    u = (below + upto) / 2.0
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    if sigma == 0.0:
        return 1.0
    z = (abs(u - n1 * n2 / 2.0) - 0.5) / sigma
    return float(min(1.0, 2.0 * special.ndtr(-max(z, 0.0))))


def bootstrap_quantile(
    x_sorted: FloatArray, q: float, resamples: int, rng: np.random.Generator
) -> FloatArray:
    """``resamples`` exact bootstrap draws of the ``q`` quantile of a sorted sample."""
    n = len(x_sorted)
    k = max(1, math.ceil(q * n))
    spread = math.ceil(12.0 * math.sqrt(n * q * (1.0 - q))) + 12
    lo, hi = max(1, k - spread), min(n, k + spread)
    j = np.arange(lo, hi + 1, dtype=np.float64)
    cdf = special.bdtrc(k - 1, n, j / n)  # P(Bin(n, j/n) >= k) = P(X*_(k) <= x_(j))
    cdf[-1] = 1.0
    idx = np.searchsorted(cdf, rng.random(resamples), side="left")
    return x_sorted[lo - 1 + idx]


def bootstrap_pvalue(differences: FloatArray) -> float:
    """Two-sided percentile-bootstrap p-value for 'the difference is zero'."""
    b = len(differences)
    below = int(np.count_nonzero(differences <= 0))
    above = int(np.count_nonzero(differences >= 0))
    return float(min(1.0, (2 * min(below, above) + 1) / (b + 1)))


def percentile_interval(draws: FloatArray, confidence: float) -> Interval:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return Interval(float(low), float(high))


def welch_interval(a: FloatArray, b: FloatArray, confidence: float) -> Interval:
    """Welch t interval for ``mean(b) - mean(a)``."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    delta = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Interval(delta, delta)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t_quantile(0.5 + confidence / 2.0, df) * se
    return Interval(delta - half, delta + half)


# --- numeric: paired -------------------------------------------------------------------


def wilcoxon_p(differences: FloatArray) -> float:
    """Two-sided Wilcoxon signed-rank p-value; zero differences are dropped (Wilcoxon)."""
    if not np.any(differences != 0):
        return 1.0
    from scipy import stats as st  # slow to import; only paired mode needs it

    return float(st.wilcoxon(differences, zero_method="wilcox").pvalue)


def t_interval(differences: FloatArray, confidence: float) -> Interval:
    """Student t interval for the mean of paired differences."""
    n = len(differences)
    mean = float(differences.mean())
    se = float(differences.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        return Interval(mean, mean)
    half = _t_quantile(0.5 + confidence / 2.0, n - 1) * se
    return Interval(mean - half, mean + half)


def paired_bootstrap_quantiles(
    a: FloatArray,
    b: FloatArray,
    qs: Sequence[float],
    resamples: int,
    rng: np.random.Generator,
    max_rows: int = 2_000,
) -> FloatArray:
    """Bootstrap draws of ``quantile(b, q) - quantile(a, q)`` resampling pairs.

    Returns an array of shape (len(qs), resamples). Above ``max_rows`` pairs, draws are
    m-out-of-n resamples rescaled by sqrt(m/n) around the full-sample estimate.
    """
    n = len(a)
    m = min(n, max_rows)
    full = np.quantile(b, qs) - np.quantile(a, qs)
    chunks = []
    for start in range(0, resamples, max(1, 4_000_000 // m)):
        size = min(resamples - start, max(1, 4_000_000 // m))
        idx = rng.integers(0, n, size=(size, m))
        diff = np.quantile(b[idx], qs, axis=1) - np.quantile(a[idx], qs, axis=1)
        chunks.append(diff)
    draws = np.concatenate(chunks, axis=1)
    if m < n:
        draws = full[:, None] + math.sqrt(m / n) * (draws - full[:, None])
    return draws


# --- rates -----------------------------------------------------------------------------


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, confidence: float) -> Interval:
    """Newcombe's hybrid score interval for ``k2/n2 - k1/n1`` (method 10, 1998)."""
    z = float(special.ndtri(0.5 + confidence / 2.0))
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, z)
    l2, u2 = _wilson(k2, n2, z)
    delta = p2 - p1
    low = delta - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = delta + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return Interval(low, high)


def fisher_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value for two proportions.

    Sums the hypergeometric probabilities of every table with the same margins that is at
    most as likely as the observed one (scipy's definition).
    """
    successes, total = k1 + k2, n1 + n2
    x = np.arange(max(0, successes - n2), min(n1, successes) + 1, dtype=np.float64)
    log_pmf = (_log_choose(successes, x) + _log_choose(total - successes, n1 - x)
               - _log_choose(total, n1))
    observed = float(_log_choose(successes, k1) + _log_choose(total - successes, n1 - k1)
                     - _log_choose(total, n1))
    keep = log_pmf <= observed + _PMF_TOLERANCE
    return float(min(1.0, np.exp(log_pmf[keep]).sum()))


def _log_choose(n: float, k: Any) -> Any:
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def mcnemar_exact_p(worse: int, better: int) -> float:
    """Exact McNemar p-value from the two discordant counts."""
    if worse == better:
        return 1.0
    # Binomial(n, 1/2) is symmetric: the two-sided p-value is twice the smaller tail.
    return float(min(1.0, 2.0 * special.bdtr(min(worse, better), worse + better, 0.5)))


def paired_rate_interval(b_only: int, c_only: int, n: int, confidence: float) -> Interval:
    """Wald interval for the paired difference of proportions ``(c_only - b_only) / n``.

    ``b_only``: pairs true only under the baseline; ``c_only``: true only under the candidate.
    """
    z = float(special.ndtri(0.5 + confidence / 2.0))
    delta = (c_only - b_only) / n
    var = ((b_only + c_only) - (c_only - b_only) ** 2 / n) / (n * n)
    half = z * math.sqrt(max(var, 0.0))
    return Interval(delta - half, delta + half)
