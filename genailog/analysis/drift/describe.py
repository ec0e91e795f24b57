"""One-line, human descriptions of what moved: "p50 +24% (812 → 1007)", "'error' 2% → 9%"."""

from __future__ import annotations

from typing import Any

import numpy as np

from genailog.analysis.drift.base import FloatArray, MethodResult
from genailog.analysis.drift.categorical import Labels, counter


def _num(value: float) -> str:
    return f"{value:.4g}"


def numeric(reference: FloatArray, current: FloatArray) -> str:
    """Median change in percent (or absolute when the reference median is 0), and means."""
    ref, cur = float(np.median(reference)), float(np.median(current))
    if ref != 0:
        change = f"p50 {100.0 * (cur - ref) / abs(ref):+.0f}% ({_num(ref)} → {_num(cur)})"
    else:
        change = f"p50 {_num(ref)} → {_num(cur)}"
    return f"{change}, mean {_num(float(np.mean(reference)))} → {_num(float(np.mean(current)))}"


def categorical(reference: Labels, current: Labels) -> str:
    """The category whose share changed most, with both shares."""
    ref, cur = counter(reference), counter(current)
    n_ref, n_cur = max(sum(ref.values()), 1), max(sum(cur.values()), 1)
    label = max(ref.keys() | cur.keys(),
                key=lambda c: (abs(cur[c] / n_cur - ref[c] / n_ref), c))
    return f"{label!r} {100 * ref[label] / n_ref:.1f}% → {100 * cur[label] / n_cur:.1f}%"


def classifier(kind: str, result: MethodResult) -> str:
    """AUC, and for text the terms that mark the current window."""
    if "auc" not in result.detail:  # centroid_cosine
        return f"centroid cosine {result.score:.3f}"
    auc = f"AUC {result.detail['auc']:.2f}"
    if kind == "embedding":
        return f"{auc}, centroid cosine {result.detail.get('centroid_cosine', 0.0):.3f}"
    terms = [f"{t['term']} ({100 * t['reference_share']:.0f}% → {100 * t['current_share']:.0f}%)"
             for t in result.detail.get("terms_current", [])[:5]]
    return f"{auc}; more: {', '.join(terms)}" if terms else auc


def describe(kind: str, reference: Any, current: Any, result: MethodResult) -> str:
    if kind == "numeric":
        return numeric(reference, current)
    if kind == "categorical":
        return categorical(reference, current)
    return classifier(kind, result)
