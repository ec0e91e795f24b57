"""Embedding drift: centroid cosine distance, and a domain classifier on the vectors.

Inputs are 2-D float arrays (rows are records) of the same width, sampled by the caller.
"""

from __future__ import annotations

import numpy as np

from genailog.analysis.drift.base import FloatArray, MethodResult, judged
from genailog.analysis.drift.classifier import balanced_labels, domain_auc


def centroid_distance(reference: FloatArray, current: FloatArray) -> float:
    """1 - cosine similarity of the two mean vectors (0 when either mean is zero)."""
    a, b = reference.mean(axis=0), current.mean(axis=0)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - float(a @ b) / norm if norm > 0 else 0.0


def centroid_cosine(
    reference: FloatArray, current: FloatArray, *, threshold: float = 0.05, alpha: float = 0.01,
) -> MethodResult:
    """Cosine distance between the mean vectors; an effect size with no p-value.

    It ignores sample size, so on small windows prefer ``embedding_classifier`` (the default).
    """
    score = centroid_distance(reference, current)
    return MethodResult(score, judged(score, threshold, None, alpha), threshold, {"alpha": alpha})


def domain_classifier(
    reference: FloatArray, current: FloatArray, *, threshold: float = 0.55, alpha: float = 0.01,
    seed: int = 0,
) -> MethodResult:
    """Held-out ROC AUC of a logistic regression on the raw vectors (see ``text``)."""
    features = np.vstack([reference, current])
    fit = domain_auc(features, balanced_labels(len(reference), len(current)),
                     alpha=alpha, seed=seed)
    effective = max(threshold, fit.chance)
    detail = {"auc": fit.auc, "chance_threshold": fit.chance, "alpha": alpha,
              "centroid_cosine": centroid_distance(reference, current),
              "sampled": [len(reference), len(current)]}
    return MethodResult(fit.auc, judged(fit.auc, effective, None, alpha), effective, detail)
