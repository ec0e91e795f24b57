"""The domain classifier shared by text and embedding drift.

A linear model learns to tell reference rows from current rows. Its ROC AUC on held-out
rows is near 0.5 when the two windows look alike. Drift is an AUC above the
(1 - alpha) percentile of a random classifier's AUC on the same held-out sizes (and above
a floor, so that huge windows do not alarm on a trivially small separation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from genailog.analysis.drift.base import auc_chance_sd, upper_z

#: Held-out folds: every row is scored once by a model that never saw it.
FOLDS = 2


@dataclass(frozen=True)
class DomainFit:
    """Mean held-out AUC, the chance threshold for it, and the mean linear coefficients."""

    auc: float
    chance: float
    coef: NDArray[np.float64]


def domain_auc(features: Any, labels: NDArray[np.int8], *, alpha: float, seed: int) -> DomainFit:
    """Fit a logistic regression per fold; average the held-out AUCs and the coefficients."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    aucs, variances, coefs = [], [], []
    for train, test in folds.split(np.zeros(labels.size), labels):
        model = LogisticRegression(C=1.0, solver="liblinear", max_iter=200)
        model.fit(features[train], labels[train])
        scores = model.decision_function(features[test])
        aucs.append(float(roc_auc_score(labels[test], scores)))
        n_pos = int(labels[test].sum())
        variances.append(auc_chance_sd(n_pos, int(test.size) - n_pos) ** 2)
        coefs.append(model.coef_.ravel())
    # Each fold's AUC alone has the random-classifier distribution under no drift, but the
    # folds are positively correlated (a chance imbalance of repeated, templated texts
    # shows in both), so the mean's spread is bounded by the mean spread, not divided.
    sd = sum(math.sqrt(v) for v in variances) / len(variances)
    return DomainFit(float(np.mean(aucs)), 0.5 + upper_z(alpha) * sd, np.mean(coefs, axis=0))


def balanced_labels(n_ref: int, n_cur: int) -> NDArray[np.int8]:
    """0 for reference rows, 1 for current rows, in that order."""
    return np.concatenate([np.zeros(n_ref, np.int8), np.ones(n_cur, np.int8)])
