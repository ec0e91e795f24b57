"""Known-answer tests for genailog.analysis.stats against scipy and plain computations."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats as st

from genailog.analysis import stats


def _holm_loop(pvalues: list[float]) -> list[float]:
    """Holm's step-down procedure written as a plain loop."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


@given(hs.lists(hs.floats(0.0, 1.0), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_holm_matches_loop_and_bounds(pvalues: list[float]) -> None:
    adjusted = stats.adjust_pvalues(pvalues, "holm")
    assert adjusted == pytest.approx(_holm_loop(pvalues))
    assert all(a is not None and p <= a <= 1.0 for p, a in zip(pvalues, adjusted, strict=True))


def test_adjust_keeps_none_and_bonferroni() -> None:
    assert stats.adjust_pvalues([0.01, None, 0.04], "holm") == [0.02, None, 0.04]
    assert stats.adjust_pvalues([0.01, None, 0.4], "bonferroni") == [0.02, None, 0.8]
    assert stats.adjust_pvalues([0.01, None], "none") == [0.01, None]


@pytest.mark.parametrize(("n", "ties"), [(25, True), (25, False), (3000, True), (3000, False)])
def test_mann_whitney_matches_scipy(n: int, ties: bool) -> None:
    rng = np.random.default_rng(n)
    if ties:
        a = np.sort(rng.integers(0, 40, n).astype(float))
        b = np.sort(rng.integers(1, 40, n + 7).astype(float))
    else:
        a, b = np.sort(rng.normal(0, 1, n)), np.sort(rng.normal(0.05, 1, n + 7))
    expected = st.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue
    assert stats.mann_whitney_p(a, b) == pytest.approx(expected, rel=1e-9)


def test_bootstrap_quantile_has_the_resampling_distribution() -> None:
    """The order-statistic shortcut draws what brute-force resampling draws."""
    rng = np.random.default_rng(7)
    x = np.sort(rng.normal(size=11))
    fast = stats.bootstrap_quantile(x, 0.5, 100_000, np.random.default_rng(1))
    brute = np.median(x[np.random.default_rng(2).integers(0, 11, (100_000, 11))], axis=1)
    for value in x:
        assert np.mean(fast <= value) == pytest.approx(np.mean(brute <= value), abs=0.01)


def test_quantile_difference_interval_matches_scipy_bootstrap() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(6, 0.5, 400), rng.lognormal(6.1, 0.5, 500)

    def p95_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.quantile(y, 0.95, axis=axis) - np.quantile(x, 0.95, axis=axis)

    ref = st.bootstrap((a, b), p95_diff, n_resamples=4000, method="percentile",
                       random_state=np.random.default_rng(4)).confidence_interval
    gen = np.random.default_rng(5)
    draws = (stats.bootstrap_quantile(np.sort(b), 0.95, 4000, gen)
             - stats.bootstrap_quantile(np.sort(a), 0.95, 4000, gen))
    ours = stats.percentile_interval(draws, 0.95)
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.12 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.12 * width)


def test_paired_bootstrap_matches_scipy_and_subsampling_keeps_width() -> None:
    rng = np.random.default_rng(11)
    a = rng.lognormal(6, 0.5, 3000)
    b = a * rng.lognormal(0.05, 0.2, 3000)

    def median_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(y, axis=axis) - np.median(x, axis=axis)

    ref = st.bootstrap((a, b), median_diff, paired=True, n_resamples=1000,
                       method="percentile", random_state=np.random.default_rng(1)
                       ).confidence_interval
    full = stats.paired_bootstrap_quantiles(a, b, [0.5], 1000, np.random.default_rng(2))[0]
    sub = stats.paired_bootstrap_quantiles(a, b, [0.5], 1000, np.random.default_rng(3),
                                           max_rows=750)[0]
    width = ref.high - ref.low
    for draws in (full, sub):
        ours = stats.percentile_interval(draws, 0.95)
        assert ours.low == pytest.approx(ref.low, abs=0.25 * width)
        assert ours.high == pytest.approx(ref.high, abs=0.25 * width)


def test_bootstrap_pvalue_counts_both_tails() -> None:
    assert stats.bootstrap_pvalue(np.arange(1.0, 100.0)) == pytest.approx(1 / 100)
    assert stats.bootstrap_pvalue(np.linspace(-1, 1, 101)) == 1.0


def test_newcombe_matches_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80,
    # method 10 gives 0.0524 to 0.3339 for the difference 0.2.
    ci = stats.newcombe_interval(48, 80, 56, 70, 0.95)
    assert (ci.low, ci.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [
    (80, 2000, 160, 2000), (5, 10, 5, 10), (0, 30, 3, 30), (3, 7, 0, 9), (30, 30, 0, 30),
    (40, 1000, 52, 1100), (20000, 500000, 20400, 500000), (0, 25, 0, 25),
])
def test_fisher_matches_scipy(k1: int, n1: int, k2: int, n2: int) -> None:
    expected = st.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
    assert stats.fisher_p(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-6, abs=1e-300)


@pytest.mark.parametrize(("worse", "better"), [(12, 3), (3, 12), (5, 5), (0, 7), (0, 0),
                                               (400, 350)])
def test_mcnemar_exact_matches_scipy_binomtest(worse: int, better: int) -> None:
    n = worse + better
    expected = st.binomtest(worse, n, 0.5).pvalue if n else 1.0
    assert stats.mcnemar_exact_p(worse, better) == pytest.approx(expected, rel=1e-9)
    tail = sum(math.comb(n, k) for k in range(min(worse, better) + 1)) / 2**n
    assert stats.mcnemar_exact_p(worse, better) == pytest.approx(min(1.0, 2 * tail))


def test_paired_rate_interval_is_the_wald_interval_of_differences() -> None:
    d = np.array([1] * 30 + [-1] * 8 + [0] * 262, dtype=float)
    half = st.norm.ppf(0.975) * d.std() / math.sqrt(len(d))
    ci = stats.paired_rate_interval(8, 30, len(d), 0.95)
    assert (ci.low, ci.high) == pytest.approx((d.mean() - half, d.mean() + half))


def test_t_intervals_match_scipy() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(4, 1, 60), rng.normal(3.6, 1.5, 80)
    welch = st.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    ours = stats.welch_interval(a, b, 0.95)
    assert (ours.low, ours.high) == pytest.approx((welch.low, welch.high))
    d = b[:60] - a
    one = st.ttest_1samp(d, 0.0).confidence_interval(0.95)
    paired = stats.t_interval(d, 0.95)
    assert (paired.low, paired.high) == pytest.approx((one.low, one.high))


def test_wilcoxon_matches_scipy_and_handles_all_zero() -> None:
    rng = np.random.default_rng(5)
    d = np.round(rng.normal(0.3, 1, 200), 1)
    assert stats.wilcoxon_p(d) == pytest.approx(st.wilcoxon(d, zero_method="wilcox").pvalue)
    assert stats.wilcoxon_p(np.zeros(50)) == 1.0


def test_unpaired_comparison_does_not_import_scipy_stats() -> None:
    """scipy.stats takes longer to import than a 1M-record comparison takes to run."""
    code = ("import sys, polars as pl; from genailog.analysis.compare import diff_prompts; "
            "diff_prompts(pl.DataFrame({'prompt_version': ['a', 'b'] * 50, "
            "'latency_ms': [float(i) for i in range(100)]}), 'a', 'b'); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr
