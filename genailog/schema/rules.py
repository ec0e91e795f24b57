"""Rules every command applies to a record in the same way: one home for each.

The error rule: a call failed when its ``status`` is ``error``; a record without a status
failed when it names an ``error_type``; otherwise it succeeded. ``summarize``'s
``error_rate``, ``diff-prompts``' ``error_rate`` metric, drift and the report all use this
expression, so the figure means one thing everywhere (docs/schema.md, ``status``).

Time in outputs: :func:`utc_text` is the one spelling of a time in every JSON, CSV,
Markdown and table output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl


def is_error() -> pl.Expr:
    """True for a failed call, False otherwise (never null)."""
    status = pl.col("status")
    return (pl.when(status.is_not_null()).then(status == "error")
            .otherwise(pl.col("error_type").is_not_null()))


def utc_text(value: datetime | date) -> str:
    """The one spelling of a time in every output: RFC 3339 in UTC with ``Z``
    (``2026-11-02T00:01:38.025Z``); a date as ``2026-11-02``; a time without a zone is
    taken as UTC, as everywhere in genailog."""
    if not isinstance(value, datetime):
        return value.isoformat()
    stamp = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = stamp.isoformat(timespec="milliseconds" if stamp.microsecond % 1000 == 0
                           else "microseconds")
    if stamp.microsecond == 0:
        text = stamp.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")
