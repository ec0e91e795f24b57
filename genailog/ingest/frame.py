"""Building canonical frames from Python records (the exact, slower path).

Used for records that come from format adapters, for JSONL lines the fast reader could
not type, and by tests. Values are never coerced silently: a value of the wrong type
raises, because records reaching here have already passed validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import polars as pl

from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS

_SCALAR_TYPES: tuple[tuple[type, pl.DataType], ...] = (
    (bool, pl.Boolean()),
    (int, pl.Int64()),
    (float, pl.Float64()),
    (str, pl.String()),
)


def json_text(value: Any) -> str | None:
    """Compact JSON text for a value held in a JSON-text column (None stays None)."""
    if value is None:
        return None
    return msgspec.json.encode(value).decode("utf-8")


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 string (or datetime) as an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        stamp = value
    else:
        text = str(value).strip()
        if text[-1:] in "zZ":
            text = text[:-1] + "+00:00"
        stamp = datetime.fromisoformat(text)
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def canonical_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "timestamp":
        return parse_timestamp(value)
    if name in JSON_TEXT_COLUMNS:
        return json_text(value)
    if name == "prompt_version" and isinstance(value, int | float) and not isinstance(
            value, bool):
        return str(int(value))  # an integer version; JSON Schema counts 3.0 as one too
    if name == "messages":
        return [
            {"role": m.get("role"), "content": m.get("content") if isinstance(
                m.get("content"), str | None) else json_text(m.get("content"))}
            for m in value
        ]
    if isinstance(value, int) and not isinstance(value, bool) and name in (
        "cost_usd", "latency_ms", "ttft_ms", "feedback_rating"):
        return float(value)
    if isinstance(value, float) and value.is_integer() and CANONICAL_DTYPES[name] == pl.Int64:
        return int(value)  # JSON Schema counts 430.0 as an integer
    return value


def extra_dtype(values: Iterable[Any]) -> tuple[pl.DataType, bool]:
    """The dtype for a user's own field, and whether it is held as JSON text.

    Decided from every value, not a prefix: one JSON scalar type gives that dtype
    (ints mixed with floats give Float64); anything else is JSON text.
    """
    kinds: set[type] = set()
    for value in values:
        if value is None:
            continue
        kind = next((t for t, _ in _SCALAR_TYPES if type(value) is t), None)
        if kind is None:
            return pl.String(), True
        kinds.add(kind)
    if not kinds:
        return pl.String(), False
    if kinds == {int, float}:
        return pl.Float64(), False
    if len(kinds) == 1:
        kind = kinds.pop()
        return next(d for t, d in _SCALAR_TYPES if t is kind), False
    return pl.String(), True


_FAST_KINDS = (pl.String(), pl.Int64(), pl.Float64(), pl.Boolean())


def extra_series(name: str, values: list[Any]) -> tuple[pl.Series, bool]:
    """A user field as a column, and whether it is held as JSON text (see extra_dtype)."""
    try:
        series = pl.Series(name, values, strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError):
        series = None
    if series is not None and series.dtype in _FAST_KINDS:
        return series, False
    if series is not None and series.dtype == pl.Null:
        return series.cast(pl.String), False
    dtype, as_json = extra_dtype(values)
    if as_json:
        return pl.Series(name, [json_text(v) for v in values], dtype=pl.String), True
    if dtype == pl.Float64:
        values = [None if v is None else float(v) for v in values]
    return pl.Series(name, values, dtype=dtype, strict=True), False


def canonical_frame(
    records: Sequence[Mapping[str, Any]],
) -> tuple[pl.DataFrame, set[str]]:
    """A frame with every canonical column plus the records' own fields.

    Returns the frame and the names of user fields held as JSON text.
    """
    columns: dict[str, pl.Series] = {}
    for name, dtype in CANONICAL_DTYPES.items():
        values = [canonical_value(name, r.get(name)) for r in records]
        columns[name] = pl.Series(name, values, dtype=dtype, strict=True)
    extras = sorted({key for r in records for key in r} - CANONICAL_DTYPES.keys())
    json_columns: set[str] = set()
    for name in extras:
        columns[name], as_json = extra_series(name, [r.get(name) for r in records])
        if as_json:
            json_columns.add(name)
    return pl.DataFrame(columns), json_columns
