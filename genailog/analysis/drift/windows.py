"""Splitting logs into a reference and time windows, and sampling text reproducibly.

The output of :func:`split` is one LazyFrame with a ``_ref`` flag and a ``_window`` start
(null for reference rows), whatever the reference came from: the first window, a time
range of the same logs, or separate files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from genailog.errors import UsageError
from genailog.schema.rules import check_window as check_window  # the one window grammar


def window_end(start: datetime, every: str) -> datetime:
    end: datetime = pl.select(pl.lit(start).dt.offset_by(every)).item()
    return end


@dataclass(frozen=True)
class Split:
    """The combined frame and where the reference came from."""

    frame: pl.LazyFrame
    source: str
    start: datetime | None
    end: datetime | None


def _tagged(frame: pl.LazyFrame, is_ref: pl.Expr, every: str) -> pl.LazyFrame:
    start = pl.col("timestamp").dt.truncate(every)
    return frame.filter(pl.col("timestamp").is_not_null()).with_columns(
        is_ref.alias("_ref"),
        pl.when(is_ref).then(None).otherwise(start).alias("_window"),
    )


def split(
    frame: pl.LazyFrame, every: str, *, reference: pl.LazyFrame | None = None,
    reference_window: tuple[datetime, datetime] | None = None,
) -> Split:
    """Tag every record as reference or as a member of a current window."""
    from genailog.ingest.checks import require_timestamps

    require_timestamps(frame, "drift")
    if reference is not None:
        missing = set(frame.collect_schema().names()) - set(reference.collect_schema().names())
        ref = reference.with_columns(pl.lit(None).alias(name) for name in sorted(missing))
        combined = pl.concat([_tagged(ref, pl.lit(True), every),
                              _tagged(frame, pl.lit(False), every)], how="diagonal_relaxed")
        return Split(combined, "reference_paths", None, None)
    if reference_window is not None:
        start, end = reference_window
        if start >= end:
            raise UsageError("--reference-window START..END needs START before END")
        is_ref = pl.col("timestamp").is_between(start, end, closed="left")
        return Split(_tagged(frame, is_ref, every), "reference_window", start, end)
    first = frame.select(pl.col("timestamp").min().dt.truncate(every)).collect().item()
    if first is None:
        raise UsageError("the logs hold no records with a timestamp; nothing to compare")
    is_ref = pl.col("timestamp").dt.truncate(every) == first
    return Split(_tagged(frame, is_ref, every), "first_window", first, window_end(first, every))


def sample_mask(column: str, size: int, seed: int) -> pl.Expr:
    """True for at most ``size`` random non-null rows of ``column`` per window (and reference).

    One seeded permutation of all rows ranks the rows inside each window, so the same seed
    and input give the same sample.
    """
    key = pl.when(pl.col(column).is_not_null()).then(pl.int_range(pl.len()).shuffle(seed=seed))
    rank = key.rank("ordinal").over("_ref", "_window")
    return rank.is_not_null() & (rank <= size)
