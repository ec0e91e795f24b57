"""Durations and rates in the units a person reads: ``14.0 days``, ``3.9 req/h``.

A rate is shown per the largest of second, minute, hour and day that makes the number at
least 1 (``5.87e-05 req/s`` is ``5.1 req/day``); a duration in the largest of seconds,
minutes, hours and days that leaves the number at least 1.
"""

from __future__ import annotations

_SPANS = (("days", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0))
_PER = (("s", 1.0), ("min", 60.0), ("h", 3600.0), ("day", 86400.0))


def duration(seconds: float | None) -> str:
    """``1,209,377`` s as ``14.0 days``; under a second in ms."""
    if seconds is None:
        return "-"
    if 0 < abs(seconds) < 1:
        return f"{seconds * 1000:,.0f} ms"
    for unit, size in _SPANS:
        if abs(seconds) >= size:
            value = seconds / size
            return f"{value:,.1f} {unit}" if value < 100 and unit != "s" else \
                f"{value:,.0f} {unit}"
    return f"{seconds:,.0f} s"


def rate(per_second: float | None, noun: str = "req") -> str:
    """``5.87e-05`` per second as ``5.1 req/day``."""
    if per_second is None:
        return "-"
    for unit, size in _PER:
        value = per_second * size
        if value >= 1 or unit == "day":
            return f"{value:,.3g} {noun}/{unit}" if value < 1000 else \
                f"{value:,.0f} {noun}/{unit}"
    raise AssertionError("unreachable")  # pragma: no cover
