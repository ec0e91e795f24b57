"""The drift method registry: method name -> implementation per feature type, default
threshold, and the default method of each feature type.

Every implementation is a pure function ``(reference, current, *, threshold, alpha[, seed])
-> MethodResult``; see ``base.py`` for what score and threshold mean.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from genailog.analysis.drift import categorical, embedding, numeric, text
from genailog.analysis.drift.base import MethodResult
from genailog.errors import UsageError

FeatureType = Literal["numeric", "categorical", "text", "embedding"]
FEATURE_TYPES: tuple[FeatureType, ...] = ("numeric", "categorical", "text", "embedding")
MethodFunc = Callable[..., MethodResult]


@dataclass(frozen=True)
class Method:
    """A registered method: one implementation per feature type it accepts."""

    name: str
    threshold: float
    implementations: Mapping[FeatureType, MethodFunc]
    summary: str

    def run(self, kind: FeatureType, reference: Any, current: Any, *, threshold: float,
            alpha: float, seed: int) -> MethodResult:
        func = self.implementations[kind]
        kwargs: dict[str, Any] = {"threshold": threshold, "alpha": alpha}
        if "seed" in inspect.signature(func).parameters:
            kwargs["seed"] = seed
        return func(reference, current, **kwargs)


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("psi", 0.1, {"numeric": numeric.psi},
           "population stability index over 10 reference-decile bins"),
    Method("ks", 0.1, {"numeric": numeric.ks}, "Kolmogorov-Smirnov statistic D"),
    Method("wasserstein", 0.1, {"numeric": numeric.wasserstein},
           "Wasserstein distance / reference standard deviation"),
    Method("jensenshannon", 0.1,
           {"numeric": numeric.jensenshannon, "categorical": categorical.jensenshannon},
           "Jensen-Shannon distance (base 2)"),
    Method("chisquare", 0.05, {"categorical": categorical.chisquare},
           "chi-square test; score is Cramer's V"),
    Method("domain_classifier", 0.55,
           {"text": text.domain_classifier, "embedding": embedding.domain_classifier},
           "held-out ROC AUC of a linear reference-vs-current classifier"),
    Method("centroid_cosine", 0.05, {"embedding": embedding.centroid_cosine},
           "cosine distance between mean vectors"),
)}

DEFAULT_METHOD: dict[FeatureType, str] = {
    "numeric": "psi",
    "categorical": "chisquare",
    "text": "domain_classifier",
    "embedding": "domain_classifier",
}


def get_method(name: str, kind: FeatureType, feature: str) -> Method:
    """The method called ``name``, checked to accept features of type ``kind``."""
    method = METHODS.get(name)
    if method is None:
        raise UsageError(f"unknown drift method {name!r}; known: {', '.join(METHODS)}")
    if kind not in method.implementations:
        allowed = ", ".join(n for n, m in METHODS.items() if kind in m.implementations)
        raise UsageError(f"method {name!r} does not apply to {kind} feature {feature!r}; "
                         f"use one of: {allowed}")
    return method
