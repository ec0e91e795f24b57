"""Known-answer tests for each drift method, against scipy or a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from genailog.analysis.drift import categorical, embedding, numeric, text
from genailog.analysis.drift.base import auc_chance_sd, contingency_p_value, judged
from genailog.analysis.drift.registry import DEFAULT_METHOD, METHODS, get_method
from genailog.errors import UsageError

RNG = np.random.default_rng(7)
REF = RNG.normal(100.0, 15.0, 3000)
SHIFTED = RNG.normal(110.0, 15.0, 2000)
SAME = RNG.normal(100.0, 15.0, 2000)


def _loop_counts(values: np.ndarray, edges: list[float]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        i = 0
        while i < len(edges) and v > edges[i]:
            i += 1
        counts[i] += 1
    return counts


def _loop_psi(ref_counts: list[int], cur_counts: list[int]) -> float:
    total_r, total_c, out = sum(ref_counts), sum(cur_counts), 0.0
    for r, c in zip(ref_counts, cur_counts, strict=True):
        pr = r / total_r or 1e-4
        pc = c / total_c or 1e-4
        out += (pc - pr) * math.log(pc / pr)
    return out


def test_psi_matches_a_plain_loop_over_reference_deciles() -> None:
    edges = sorted(set(np.quantile(REF, [i / 10 for i in range(1, 10)]).tolist()))
    expected = _loop_psi(_loop_counts(REF, edges), _loop_counts(SHIFTED, edges))
    result = numeric.psi(REF, SHIFTED)
    assert result.score == pytest.approx(expected, rel=1e-9)
    assert result.detail["bins"] == 10
    assert result.drifted and result.threshold == 0.1


def test_psi_gives_empty_bins_a_small_proportion_not_infinity() -> None:
    current = np.full(500, 1000.0)  # everything in the top bin
    edges = sorted(set(np.quantile(REF, [i / 10 for i in range(1, 10)]).tolist()))
    result = numeric.psi(REF, current)
    assert math.isfinite(result.score)
    assert result.score == pytest.approx(
        _loop_psi(_loop_counts(REF, edges), _loop_counts(current, edges)))


def test_few_distinct_values_get_one_bin_each() -> None:
    ratings = np.array([1, 2, 2, 3, 3, 3, 4, 5] * 20, dtype=float)
    edges = numeric.bin_edges(ratings)
    assert edges.tolist() == [1.5, 2.5, 3.5, 4.5]
    assert numeric.bin_counts(ratings, edges).tolist() == [20, 40, 60, 20, 20]


def test_ks_matches_scipy() -> None:
    expected = stats.ks_2samp(REF, SHIFTED)
    result = numeric.ks(REF, SHIFTED)
    assert result.score == pytest.approx(expected.statistic)
    assert result.detail["p_value"] == pytest.approx(expected.pvalue)
    assert result.drifted


def test_wasserstein_is_scipy_distance_over_reference_std() -> None:
    result = numeric.wasserstein(REF, SHIFTED)
    expected = stats.wasserstein_distance(REF, SHIFTED) / np.std(REF)
    assert result.score == pytest.approx(expected)
    assert result.drifted  # a shift of 2/3 of a standard deviation


def test_wasserstein_of_constant_reference_falls_back_to_raw_distance() -> None:
    result = numeric.wasserstein(np.zeros(200), np.ones(200))
    assert result.score == pytest.approx(1.0)
    assert result.detail["normalized"] is False and result.drifted


def test_numeric_jensenshannon_matches_scipy_on_loop_counts() -> None:
    edges = sorted(set(np.quantile(REF, [i / 10 for i in range(1, 10)]).tolist()))
    expected = distance.jensenshannon(_loop_counts(REF, edges), _loop_counts(SHIFTED, edges),
                                      base=2)
    assert numeric.jensenshannon(REF, SHIFTED).score == pytest.approx(expected)


def test_categorical_jensenshannon_matches_scipy() -> None:
    ref = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    cur = np.array(["a"] * 20 + ["b"] * 30 + ["d"] * 50)
    # shared categories ordered by total count: a 70, b 60, d 50, c 20
    expected = distance.jensenshannon([50, 30, 0, 20], [20, 30, 50, 0], base=2)
    assert categorical.jensenshannon(ref, cur).score == pytest.approx(expected)


def test_chisquare_score_is_cramers_v_and_p_value_is_scipys() -> None:
    ref = np.array(["ok"] * 960 + ["error"] * 40)
    cur = np.array(["ok"] * 900 + ["error"] * 100)
    table = np.array([[960, 40], [900, 100]])
    test = stats.chi2_contingency(table, correction=False)
    result = categorical.chisquare(ref, cur)
    assert result.score == pytest.approx(math.sqrt(test.statistic / table.sum()))
    assert result.detail["p_value"] == pytest.approx(test.pvalue)
    assert result.drifted  # error rate 4% -> 10%


def test_sparse_categories_are_pooled_before_the_chi_square_test() -> None:
    ref = np.array([10.0, 10.0, 1.0, 1.0, 1.0])
    cur = np.array([10.0, 10.0, 0.0, 1.0, 2.0])
    pooled = stats.chi2_contingency(np.array([[10, 10, 3], [10, 10, 3]]), correction=False)
    assert contingency_p_value(ref, cur) == pytest.approx(pooled.pvalue)


def test_many_categories_are_capped_with_an_other_bucket() -> None:
    ref = np.array([f"user{i}" for i in range(200)])
    labels, ref_counts, cur_counts = categorical.category_counts(ref, ref)
    assert len(labels) == categorical.MAX_CATEGORIES + 1 and labels[-1] == categorical.OTHER
    assert ref_counts.sum() == cur_counts.sum() == 200


def test_random_classifier_auc_sd_matches_simulation() -> None:
    rng = np.random.default_rng(3)
    n_pos, n_neg = 200, 300
    ranks = stats.rankdata(rng.random((4000, n_pos + n_neg)), axis=1)
    # AUC = Mann-Whitney U / (n_pos n_neg), with the first n_pos columns as positives
    aucs = (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert float(np.mean(aucs)) == pytest.approx(0.5, abs=0.005)
    assert float(np.std(aucs)) == pytest.approx(auc_chance_sd(n_pos, n_neg), rel=0.05)


def _docs(rng: np.random.Generator, n: int, topics: list[str]) -> list[str]:
    words = ["please", "help", "order", "account", "today", "thanks", "issue", "question"]
    return [f"{topics[rng.integers(len(topics))]} {' '.join(rng.choice(words, 4))}"
            for _ in range(n)]


TOPICS = ["refund for my invoice", "reset my password", "track my parcel delivery",
          "warranty repair booking"]


def test_text_classifier_sees_no_drift_between_samples_of_one_distribution() -> None:
    rng = np.random.default_rng(1)
    result = text.domain_classifier(_docs(rng, 600, TOPICS), _docs(rng, 600, TOPICS),
                                    alpha=1e-3)
    assert not result.drifted
    assert abs(result.score - 0.5) < 0.06
    assert result.threshold > 0.55 or result.threshold == 0.55


def test_text_classifier_flags_a_new_topic_and_names_its_terms() -> None:
    rng = np.random.default_rng(2)
    current = _docs(rng, 600, TOPICS + ["recover my crypto wallet seed"])
    result = text.domain_classifier(_docs(rng, 600, TOPICS), current, alpha=1e-3)
    assert result.drifted, result
    top = [t["term"] for t in result.detail["terms_current"][:3]]
    assert any("crypto" in term or "wallet" in term for term in top), top
    first = result.detail["terms_current"][0]
    assert first["reference_share"] == 0.0 and first["current_share"] > 0.1


def test_embedding_centroid_distance_matches_scipy_cosine() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(1.0, 1.0, (300, 8)), rng.normal(1.2, 1.0, (300, 8))
    expected = distance.cosine(ref.mean(axis=0), cur.mean(axis=0))
    assert embedding.centroid_cosine(ref, cur).score == pytest.approx(expected)


def test_embedding_classifier_flags_a_shift_and_not_a_resample() -> None:
    rng = np.random.default_rng(5)
    ref = rng.normal(0.0, 1.0, (500, 16))
    same = rng.normal(0.0, 1.0, (500, 16))
    moved = rng.normal(0.0, 1.0, (500, 16)) + np.r_[0.5, np.zeros(15)]
    assert not embedding.domain_classifier(ref, same, alpha=1e-3).drifted
    shifted = embedding.domain_classifier(ref, moved, alpha=1e-3)
    assert shifted.drifted and shifted.score > 0.6


def test_drift_needs_both_effect_size_and_significance() -> None:
    assert judged(0.2, 0.1, 1e-6, 1e-3)
    assert not judged(0.2, 0.1, 0.01, 1e-3)  # large but not significant: small sample
    assert not judged(0.05, 0.1, 1e-12, 1e-3)  # significant but negligible: large sample
    assert judged(0.7, 0.6, None, 1e-3)  # classifiers carry their own chance threshold
    assert not judged(float("nan"), 0.1, None, 1e-3)


def test_small_samples_with_a_large_psi_are_not_judged_drifted() -> None:
    rng = np.random.default_rng(6)
    result = numeric.psi(rng.normal(0, 1, 40), rng.normal(0, 1, 40), alpha=1e-4)
    assert not result.drifted


def test_registry_defaults_and_type_checks() -> None:
    assert DEFAULT_METHOD == {"numeric": "psi", "categorical": "chisquare",
                              "text": "domain_classifier", "embedding": "domain_classifier"}
    assert METHODS["psi"].threshold == 0.1
    assert get_method("jensenshannon", "categorical", "model").name == "jensenshannon"
    with pytest.raises(UsageError, match="does not apply"):
        get_method("ks", "text", "prompt")
    with pytest.raises(UsageError, match="unknown drift method"):
        get_method("nope", "numeric", "latency_ms")


finite_floats = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=20, max_size=200)


@settings(max_examples=40, deadline=None)
@given(finite_floats, finite_floats)
def test_binned_scores_are_bounded_and_zero_on_identical_samples(a: list[float],
                                                                b: list[float]) -> None:
    ref, cur = np.array(a), np.array(b)
    assert numeric.psi(ref, cur).score >= 0
    assert numeric.psi(ref, ref).score == pytest.approx(0.0, abs=1e-12)
    js = numeric.jensenshannon(ref, cur).score
    assert 0.0 <= js <= 1.0 + 1e-12
    assert numeric.ks(ref, ref).score == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from("abcde"), min_size=5, max_size=80),
       st.lists(st.sampled_from("abcdef"), min_size=5, max_size=80))
def test_categorical_scores_are_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    ref, cur = np.array(a), np.array(b)
    forward, backward = categorical.chisquare(ref, cur), categorical.chisquare(cur, ref)
    assert forward.score == pytest.approx(backward.score)
    assert 0.0 <= forward.score <= 1.0 + 1e-12
    assert categorical.jensenshannon(ref, cur).score == pytest.approx(
        categorical.jensenshannon(cur, ref).score)
