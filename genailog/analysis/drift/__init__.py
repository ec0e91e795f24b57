"""Drift detection across time windows: numeric, categorical, text and embedding features.

``detect_drift(frame, options=DriftOptions(...))`` returns a :class:`DriftResult`. The
methods live one family per module (``numeric``, ``categorical``, ``text``, ``embedding``)
and are looked up by name in ``registry``. Nothing here prints or exits.
"""

from __future__ import annotations

from genailog.analysis.drift.base import MethodResult
from genailog.analysis.drift.detect import DriftOptions, detect_drift
from genailog.analysis.drift.registry import DEFAULT_METHOD, METHODS
from genailog.analysis.drift.result import DriftResult, FeatureDrift, WindowDrift

__all__ = [
    "DEFAULT_METHOD", "METHODS", "DriftOptions", "DriftResult", "FeatureDrift", "MethodResult",
    "WindowDrift", "detect_drift",
]
