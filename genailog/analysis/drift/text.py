"""Text drift (prompt, response): a TF-IDF domain classifier that names what changed.

Inputs are sequences of strings, already sampled to a bounded size by the caller. The
classifier decides whether the windows differ; the terms it reports are ranked apart, by
the log ratio of their per-token rates (see :func:`separating_terms`), so that a new topic
is named first even when the prompts also got longer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from genailog.analysis.drift.base import MethodResult, judged
from genailog.analysis.drift.classifier import balanced_labels, domain_auc

#: How many separating terms to report on each side.
TOP_TERMS = 10


@functools.cache
def _analyzer() -> Callable[[str], list[str]]:
    """Lower-cased words and word pairs, English stop words removed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyze: Callable[[str], list[str]] = TfidfVectorizer(
        ngram_range=(1, 2), stop_words="english").build_analyzer()
    return analyze


@functools.lru_cache(maxsize=4)
def _tokens(docs: tuple[str, ...]) -> tuple[list[str], ...]:
    """Terms of each document; cached because every window reuses the reference sample."""
    analyze = _analyzer()
    return tuple(analyze(doc) for doc in docs)


def _pretokenized(terms: list[str]) -> list[str]:
    return terms


def domain_classifier(
    reference: Sequence[str], current: Sequence[str], *, threshold: float = 0.55,
    alpha: float = 0.01, seed: int = 0,
) -> MethodResult:
    """Held-out ROC AUC of a TF-IDF (words and word pairs) logistic regression.

    ``threshold`` is a floor on the AUC; the effective threshold is the larger of it and
    the random classifier's (1 - alpha) percentile, and is what the result reports.
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_pretokenized, min_df=3, max_features=50_000,
                                 sublinear_tf=True, dtype=np.float32)
    docs = [*_tokens(tuple(reference)), *map(_analyzer(), current)]
    try:
        features = vectorizer.fit_transform(docs)
    except ValueError:  # no term occurs three times: nothing to tell the windows apart by
        return MethodResult(0.5, False, threshold, {"auc": 0.5, "reason": "no shared vocabulary"})
    fit = domain_auc(features.tocsr(), balanced_labels(len(reference), len(current)),
                     alpha=alpha, seed=seed)
    effective = max(threshold, fit.chance)
    n_ref = len(reference)
    terms = vectorizer.get_feature_names_out()
    counts = CountVectorizer(analyzer=_pretokenized, vocabulary=vectorizer.vocabulary_,
                             dtype=np.int64).transform(docs)
    detail = {
        "auc": fit.auc, "chance_threshold": fit.chance, "alpha": alpha,
        "terms_current": separating_terms(counts, n_ref, terms, more_in_current=True),
        "terms_reference": separating_terms(counts, n_ref, terms, more_in_current=False),
        "sampled": [n_ref, len(current)],
    }
    return MethodResult(fit.auc, judged(fit.auc, effective, None, alpha), effective, detail)


#: The pseudo-count added to each term's count in each window (a symmetric Dirichlet
#: prior): a term absent from one window gets a finite rate there, and a rare term's ratio
#: is shrunk towards 1, so 3 new mentions rank below 60.
PRIOR_COUNT = 0.5


def rate_log_ratios(counts: Any, n_ref: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each term: log(current rate / reference rate) of its per-token rates under the
    prior, and its share of documents in each window.

    Per-token rates are what makes the ranking robust to length: when prompts get longer,
    a filler word appears in more of them (its share of documents rises towards 100%),
    but its share of the tokens barely moves; a term absent from the reference has a ratio
    that grows with its count in the current window."""
    counts = counts.tocsc()
    ref, cur = counts[:n_ref], counts[n_ref:]
    y_ref = np.asarray(ref.sum(axis=0), dtype=np.float64).ravel()
    y_cur = np.asarray(cur.sum(axis=0), dtype=np.float64).ravel()
    prior = PRIOR_COUNT * len(y_ref)
    rate_ref = (y_ref + PRIOR_COUNT) / (y_ref.sum() + prior)
    rate_cur = (y_cur + PRIOR_COUNT) / (y_cur.sum() + prior)
    present = counts > 0
    ref_share = np.asarray(present[:n_ref].mean(axis=0)).ravel()
    cur_share = np.asarray(present[n_ref:].mean(axis=0)).ravel()
    return np.log(rate_cur / rate_ref), ref_share, cur_share


def separating_terms(counts: Any, n_ref: int, terms: Any, *, more_in_current: bool,
                     top: int = TOP_TERMS) -> list[dict[str, Any]]:
    """Terms whose per-token rate rose (or fell) most, each with both document shares.

    ``counts``: term counts per document, the reference's ``n_ref`` rows first. Ranking
    by the log ratio of per-token rates (:func:`rate_log_ratios`) rather than by the change
    in document share keeps filler words down when prompts get longer, and puts new and
    vanished terms first; a term is named only if its document share moved the same way.
    Terms occurring in exactly the same documents (the words of one phrase) are shown
    once, by their longest member.
    """
    log_ratio, ref_share, cur_share = rate_log_ratios(counts, n_ref)
    change = log_ratio if more_in_current else -log_ratio
    # A term is named only if its share of documents moved the same way: when prompts
    # get longer, every old term's per-token rate falls, though no topic faded.
    share_change = cur_share - ref_share if more_in_current else ref_share - cur_share
    change[share_change <= 0] = 0
    present = (counts > 0).tocsc()
    candidates = [j for j in np.argsort(-change, kind="stable")[: top * 5] if change[j] > 0]
    groups: dict[bytes, list[int]] = {}
    for j in candidates:
        key = present.indices[present.indptr[j]:present.indptr[j + 1]].tobytes()
        groups.setdefault(key, []).append(int(j))
    chosen = [max(members, key=lambda j: (len(str(terms[j]).split()), len(str(terms[j]))))
              for members in groups.values()][:top]
    return [{"term": str(terms[j]), "reference_share": round(float(ref_share[j]), 4),
             "current_share": round(float(cur_share[j]), 4)} for j in chosen]
