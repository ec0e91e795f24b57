"""The drift result: reference, windows, per-feature verdicts, and their JSON form.

``DriftResult.to_dict()`` is exactly what ``genailog drift --format json`` prints, and is
described by ``schemas/drift.output.schema.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from genailog.schema.rules import utc_text


def iso(stamp: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z (the one spelling, schema/rules.py), or None."""
    return None if stamp is None else utc_text(stamp)


def finite(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become None, numpy scalars plain floats."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class FeatureDrift:
    """One feature in one window: the method's verdict and a one-line description."""

    feature: str
    kind: str
    method: str
    score: float | None
    threshold: float | None
    drifted: bool
    judged: bool
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature, "type": self.kind, "method": self.method,
            "score": finite(self.score), "threshold": finite(self.threshold),
            "drifted": self.drifted, "judged": self.judged, "summary": self.summary,
            "detail": finite(self.detail),
        }


@dataclass(frozen=True)
class Span:
    """A time range and how many records it holds."""

    start: datetime | None
    end: datetime | None
    records: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": iso(self.start), "end": iso(self.end), "records": self.records}


@dataclass(frozen=True)
class WindowDrift:
    """One compared window: judged unless it held too few records."""

    span: Span
    features: list[FeatureDrift]
    drift_share: float | None = None
    reason: str | None = None

    @property
    def judged(self) -> bool:
        return self.reason is None

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def share(self) -> float:
        judged = [f for f in self.features if f.judged]
        return len(self.drifted_features) / len(judged) if judged else 0.0

    @property
    def drifted(self) -> bool:
        if not self.judged or not self.drifted_features:
            return False
        return self.drift_share is None or self.share >= self.drift_share

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.span.to_dict(), "judged": self.judged, "reason": self.reason,
            "drifted": self.drifted, "drifted_features": self.drifted_features,
            "share": self.share, "features": [f.to_dict() for f in self.features],
        }


@dataclass(frozen=True)
class DriftResult:
    """Every window compared with the reference, and the settings that produced it."""

    reference: Span
    reference_source: str
    windows: list[WindowDrift]
    settings: dict[str, Any]
    skipped_features: list[dict[str, str]] = field(default_factory=list)
    input: dict[str, Any] | None = None
    #: Set when merged from partial results: what merged exactly, what was recomputed.
    merge: dict[str, Any] | None = None

    @property
    def drifted(self) -> bool:
        return any(w.drifted for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        judged = [w for w in self.windows if w.judged]
        return {
            "drifted": self.drifted,
            "reference": {**self.reference.to_dict(), "source": self.reference_source},
            "summary": {
                "windows": len(self.windows), "judged": len(judged),
                "drifted": sum(w.drifted for w in judged),
                "insufficient": len(self.windows) - len(judged),
            },
            "settings": finite(self.settings),
            "skipped_features": self.skipped_features,
            "skipped_records": self.input["skipped"] if self.input else 0,
            "input": self.input,
            "windows": [w.to_dict() for w in self.windows],
            **({"merge": self.merge} if self.merge is not None else {}),
        }
