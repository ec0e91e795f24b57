"""Reading canonical Parquet files: column types are checked, rows validated by vector."""

from __future__ import annotations

import polars as pl

from genailog.errors import InputError
from genailog.ingest.jsonl import parse_timestamps
from genailog.ingest.report import InvalidRecord
from genailog.schema.columns import CANONICAL_DTYPES, TIMESTAMP_DTYPE

_NON_NEGATIVE = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
                 "reasoning_tokens", "retries", "cost_usd", "latency_ms", "ttft_ms")
_ENUMS = {"status": ("ok", "error"), "stage": ("training", "inference", "deployment")}


def _conform(name: str, actual: pl.DataType, expected: pl.DataType, file: str) -> pl.Expr:
    col = pl.col(name)
    if name == "timestamp":
        if actual == pl.String:
            return parse_timestamps(col)
        if isinstance(actual, pl.Datetime):
            zoned = col if actual.time_zone else col.dt.replace_time_zone("UTC")
            return zoned.dt.convert_time_zone("UTC").cast(TIMESTAMP_DTYPE)
    elif actual == expected:
        return col
    elif actual.is_integer() and expected in (pl.Int64, pl.Float64):
        return col.cast(expected)
    elif actual.is_float() and expected == pl.Float64:
        return col.cast(expected)
    elif name == "prompt_version" and actual.is_integer():
        return col.cast(pl.String)
    raise InputError(
        f"{file}: column {name} has type {actual}, but the schema needs {expected}; "
        "convert the column, or rename it if it is your own field"
    )


def _problems(frame: pl.DataFrame) -> pl.DataFrame:
    checks: dict[str, pl.Expr] = {
        "/timestamp: missing, null or not an RFC 3339 date-time": pl.col("timestamp").is_null(),
        "/model: missing, null or empty": pl.col("model").fill_null("").str.len_chars() == 0,
    }
    for name in _NON_NEGATIVE:
        checks[f"/{name}: must be >= 0"] = pl.col(name) < 0
    for name, allowed in _ENUMS.items():
        checks[f"/{name}: must be one of {', '.join(allowed)}"] = (
            pl.col(name).is_not_null() & ~pl.col(name).is_in(allowed))
    return frame.select(
        pl.concat_list([pl.when(expr.fill_null(False)).then(pl.lit(label))
                        for label, expr in checks.items()]).list.drop_nulls().alias("problems")
    )


def read_parquet(file: str) -> tuple[pl.DataFrame, list[InvalidRecord]]:
    """A Parquet file in canonical columns; invalid rows are returned apart (line = row)."""
    try:
        frame = pl.read_parquet(file)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    schema = frame.schema
    exprs = [
        _conform(name, schema[name], dtype, file).alias(name) if name in schema
        else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in CANONICAL_DTYPES.items()
    ]
    extras = [pl.col(name) for name in frame.columns if name not in CANONICAL_DTYPES]
    frame = frame.select(*exprs, *extras)
    problems = _problems(frame).to_series()
    bad = (problems.list.len() > 0)
    invalid = [
        InvalidRecord(file, row + 1, tuple(
            (text.split(": ", 1)[0], text.split(": ", 1)[1]) for text in problems[row]))
        for row in bad.arg_true().to_list()
    ]
    return frame.filter(~bad), invalid
