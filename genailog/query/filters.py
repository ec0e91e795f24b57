"""Record filters shared by every command: ``--where``, ``--since`` and ``--until``.

``--where`` is parsed by :mod:`genailog.query.expression` (an allow-listed grammar,
never ``eval`` or a SQL engine): unknown fields and type errors are reported, with a caret
under the problem, before any record is filtered.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import polars as pl

from genailog.errors import UsageError


def check_where(predicate: str | None) -> None:
    """Raise an ExpressionError (exit 2) if ``predicate`` is not a valid expression.

    Syntax only (no fields are known yet): commands call it before reading any data.
    """
    if predicate:
        # imported where an expression is parsed: most commands have none (4 ms)
        from genailog.query.expression import parse

        parse(predicate, "--where")


def where_expr(predicate: str, schema: pl.Schema | dict[str, pl.DataType] | list[str]
               ) -> pl.Expr:
    """Parse ``predicate`` into a polars expression over the fields of ``schema``."""
    from genailog.query.expression import check_names, compile_expression, parse

    expression = parse(predicate, "--where")
    fields = dict(schema) if not isinstance(schema, list) else dict.fromkeys(schema)
    check_names(expression, list(fields), "field",
                f"fields present: {', '.join(sorted(fields))}", namespaces={})
    return compile_expression(expression, fields,
                              parse_time=lambda text: parse_time(text, "--where"))


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
        frame = frame.filter(where_expr(where, frame.collect_schema()))
    if since is not None or until is not None:
        from genailog.ingest.checks import require_timestamps

        require_timestamps(frame, "--since" if since is not None else "--until")
    if since is not None:
        start = since if isinstance(since, datetime) else parse_time(since, "--since")
        frame = frame.filter(pl.col("timestamp") >= start)
    if until is not None:
        end = until if isinstance(until, datetime) else parse_time(until, "--until")
        frame = frame.filter(pl.col("timestamp") < end)
    return frame
