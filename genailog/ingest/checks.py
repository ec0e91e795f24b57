"""Checks a command makes on logs already read, before it uses a field they may lack.

Logs that never carry a time (the logging tutorial's records) are read and analysable;
what needs time says so here in one sentence, never by returning nothing.
"""

from __future__ import annotations

import polars as pl

from genailog.errors import UsageError


def require_timestamps(frame: pl.LazyFrame, needs: str) -> None:
    """Raise when no record has a timestamp; ``needs`` names what asked (``--window``)."""
    counts = frame.select(pl.len().alias("n"),
                          pl.col("timestamp").is_not_null().sum().alias("timed")).collect()
    records, timed = int(counts["n"][0]), int(counts["timed"][0])
    if records and not timed:
        raise UsageError(
            f"{needs} needs timestamps, and none of the {records:,} records has one (the "
            "input's lines carry no time: log one, or use a logging format with %(asctime)s; "
            "genailog inspect shows what was read)")
