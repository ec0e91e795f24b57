"""Sparklines: a series as one line of block characters, for terminal tables.

Pure and dependency-free. A missing value is a space, so gaps stay visible; a flat series
is drawn at the lowest block rather than hiding it.
"""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """``[1, 5, None, 8]`` -> ``"▁▅ █"``; scaled between the series' own min and max."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    top = len(BLOCKS) - 1
    return "".join(
        " " if v is None
        else BLOCKS[0] if high == low
        else BLOCKS[round((v - low) / (high - low) * top)]
        for v in values
    )
