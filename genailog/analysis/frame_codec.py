"""Small frames as plain JSON, for the partial results of diff-prompts and drift.

A frame becomes ``{name: {"dtype": NAME, "values": [...]}}`` with a fixed, short list of
dtypes (no dtype text is ever evaluated: a partial file is untrusted input), datetimes as
integer microseconds since the epoch in UTC, and floats written by Python's ``repr``, so a
frame read back is equal to the one written (NaN, "no value" to every reader of a
partial, is written as null). Anything else is an :class:`InputError`
naming the column.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from genailog.errors import InputError, UsageError

_DTYPES: dict[str, pl.DataType] = {
    "float64": pl.Float64(),
    "int64": pl.Int64(),
    "bool": pl.Boolean(),
    "string": pl.String(),
    "datetime_us_utc": pl.Datetime("us", "UTC"),
    "list_float64": pl.List(pl.Float64),
}


def _name_of(dtype: pl.DataType) -> str:
    for name, known in _DTYPES.items():
        if dtype == known:
            return name
    if dtype.is_integer():
        return "int64"
    if dtype.is_float():
        return "float64"
    if isinstance(dtype, pl.Datetime):
        return "datetime_us_utc"
    if dtype == pl.Null:
        return "string"
    raise ValueError(f"no JSON encoding for dtype {dtype}")


def _as_stored(series: pl.Series, name: str) -> pl.Series:
    if name == "datetime_us_utc":  # naive times are taken as UTC, as the schema reads them
        if series.dtype.time_zone is not None:  # type: ignore[attr-defined]
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return series.cast(pl.Datetime("us")).cast(pl.Int64)
    if name == "float64":  # NaN is "no value" to every reader of a partial
        return series.cast(pl.Float64).fill_nan(None)
    return series.cast(_DTYPES[name])


def to_json(data: dict[str, Any]) -> str:
    """A partial's JSON text; an infinite value (JSON has none) is a one-line error."""
    import json

    try:
        return json.dumps(data, allow_nan=False, separators=(",", ":"))
    except ValueError as exc:
        raise UsageError(f"cannot write the partial: {exc} (an infinite value in the "
                         "logs)") from None


def encode(frame: pl.DataFrame) -> dict[str, Any]:
    """The frame as a JSON-ready mapping of column name to dtype and values."""
    out: dict[str, Any] = {}
    for series in frame.get_columns():
        name = _name_of(series.dtype)
        out[series.name] = {"dtype": name, "values": _as_stored(series, name).to_list()}
    return out


def decode(columns: Any, what: str) -> pl.DataFrame:
    """The frame written by :func:`encode`; ``what`` names the input in errors."""
    if not isinstance(columns, dict):
        raise InputError(f"{what}: columns must be an object of name -> {{dtype, values}}")
    series = [_column(name, spec, what) for name, spec in columns.items()]
    if len({s.len() for s in series}) > 1:
        raise InputError(f"{what}: columns have different lengths")
    return pl.DataFrame(series)


def _column(name: str, spec: Any, what: str) -> pl.Series:
    if not isinstance(spec, dict) or spec.get("dtype") not in _DTYPES or not isinstance(
            spec.get("values"), list):
        raise InputError(f"{what}: column {name!r} needs a dtype (one of "
                         f"{', '.join(_DTYPES)}) and a list of values")
    dtype = spec["dtype"]
    try:
        if dtype == "datetime_us_utc":
            return pl.Series(name, spec["values"], dtype=pl.Int64).cast(
                pl.Datetime("us")).dt.replace_time_zone("UTC")
        return pl.Series(name, spec["values"], dtype=_DTYPES[dtype], strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{what}: column {name!r} holds values that are not {dtype}: "
                         f"{str(exc).splitlines()[0][:200]}") from None
