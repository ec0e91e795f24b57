"""Record filters shared by every command: ``--where`` (SQL), ``--since`` and ``--until``.

The predicate is parsed by polars' SQL parser, never by ``eval``; unknown columns are
reported before any data is read.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, date, datetime

import polars as pl

from genailog.errors import ExpressionError, UsageError


def where_expr(predicate: str, columns: list[str]) -> pl.Expr:
    """Parse a SQL predicate into a polars expression over ``columns``."""
    try:
        expr = pl.sql_expr(predicate)
    except Exception as exc:  # polars raises several types for parse errors
        raise ExpressionError(
            f"--where {predicate!r} is not a valid SQL predicate: {exc}"
        ) from None
    unknown = sorted(set(expr.meta.root_names()) - set(columns))
    if unknown:
        guesses = [g for name in unknown for g in difflib.get_close_matches(name, columns, n=1)]
        hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
        raise ExpressionError(
            f"--where names unknown field(s) {', '.join(unknown)}{hint}; "
            f"fields present: {', '.join(sorted(columns))}"
        )
    return expr


def parse_time(text: str, option: str) -> datetime:
    """A date (``2025-12-26``) or datetime (RFC 3339, naive means UTC) as an aware UTC datetime."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date or datetime; "
            "use e.g. 2025-12-26 or 2025-12-26T10:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def apply_filters(
    frame: pl.LazyFrame,
    *,
    where: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> pl.LazyFrame:
    """Keep the records matching ``where`` with ``since <= timestamp < until``."""
    if where:
        frame = frame.filter(where_expr(where, frame.collect_schema().names()))
    if since is not None:
        start = since if isinstance(since, datetime) else parse_time(since, "--since")
        frame = frame.filter(pl.col("timestamp") >= start)
    if until is not None:
        end = until if isinstance(until, datetime) else parse_time(until, "--until")
        frame = frame.filter(pl.col("timestamp") < end)
    return frame
