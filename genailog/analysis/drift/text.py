"""Text drift (prompt, response): a TF-IDF domain classifier that names what changed.

Inputs are sequences of strings, already sampled to a bounded size by the caller. The
terms with the largest positive weights are those that mark the current window (new
topics); the most negative ones mark the reference (topics that faded).
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
    from sklearn.feature_extraction.text import TfidfVectorizer

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
    detail = {
        "auc": fit.auc, "chance_threshold": fit.chance, "alpha": alpha,
        "terms_current": separating_terms(features, n_ref, terms, more_in_current=True),
        "terms_reference": separating_terms(features, n_ref, terms, more_in_current=False),
        "sampled": [n_ref, len(current)],
    }
    return MethodResult(fit.auc, judged(fit.auc, effective, None, alpha), effective, detail)


def separating_terms(features: Any, n_ref: int, terms: Any, *, more_in_current: bool,
                     top: int = TOP_TERMS) -> list[dict[str, Any]]:
    """Terms whose share of documents changed most, each with both shares.

    Ranking by the change in document share (not by model weight) keeps it readable: a
    new topic in 30% of prompts shows up even when another change already separates the
    windows perfectly. Terms occurring in exactly the same documents (the words of one
    phrase) are shown once, by their longest member.
    """
    present = (features > 0).tocsc()
    ref_share = np.asarray(present[:n_ref].mean(axis=0)).ravel()
    cur_share = np.asarray(present[n_ref:].mean(axis=0)).ravel()
    change = cur_share - ref_share if more_in_current else ref_share - cur_share
    candidates = [j for j in np.argsort(-change, kind="stable")[: top * 5] if change[j] > 0]
    groups: dict[bytes, list[int]] = {}
    for j in candidates:
        key = present.indices[present.indptr[j]:present.indptr[j + 1]].tobytes()
        groups.setdefault(key, []).append(int(j))
    chosen = [max(members, key=lambda j: (len(str(terms[j]).split()), len(str(terms[j]))))
              for members in groups.values()][:top]
    return [{"term": str(terms[j]), "reference_share": round(float(ref_share[j]), 4),
             "current_share": round(float(cur_share[j]), 4)} for j in chosen]
