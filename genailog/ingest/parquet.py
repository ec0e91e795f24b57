"""Reading canonical Parquet files: column types are checked, rows validated by vector."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import polars as pl

from genailog.errors import InputError
from genailog.ingest.jsonl import parse_timestamps
from genailog.ingest.report import InvalidRecord
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS, TIMESTAMP_DTYPE

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
    elif actual == pl.Binary and expected == pl.String:
        return col.cast(pl.String)  # DuckDB writes JSON columns as UTF-8 bytes
    elif name in JSON_TEXT_COLUMNS and actual.is_nested():
        return col.map_batches(_json_texts, return_dtype=pl.String)
    elif isinstance(actual, pl.List) and isinstance(expected, pl.List):
        return _list(col, actual, expected)
    raise InputError(
        f"{file}: column {name} has type {actual}, but the schema needs {expected}; "
        "convert the column, or rename it if it is your own field"
    )


def _json_texts(series: pl.Series) -> pl.Series:
    """Nested values (lists, structs: how DuckDB, pandas and Spark write them) as the JSON
    text the canonical column holds."""
    return pl.Series(series.name, [None if v is None else json.dumps(v, default=_jsonable)
                                   for v in series.to_list()], dtype=pl.String)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _list(col: pl.Expr, actual: pl.List, expected: pl.List) -> pl.Expr:
    """``messages`` as a list of structs with more fields or other string types, and
    ``tags``/``embedding`` with other element types, in the canonical element type."""
    inner = expected.inner
    if isinstance(inner, pl.Struct) and isinstance(actual.inner, pl.Struct):
        names = [f.name for f in inner.fields]
        return col.list.eval(pl.struct([pl.element().struct.field(n).cast(pl.String)
                                        if n in {f.name for f in actual.inner.fields}
                                        else pl.lit(None, pl.String).alias(n)
                                        for n in names]))
    return col.cast(expected)


def shape(file: str) -> str:
    """``canonical`` (canonical column names), ``spans`` (a span table: Phoenix's spans
    dataframe, trace datasets) or ``records`` (other column names: the alias reader)."""
    try:
        names = set(pl.scan_parquet(file).collect_schema().names())
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    if {"context.span_id", "span_kind"} & names or ("span_id" in names and "trace_id" in names
                                                   and "model" not in names):
        return "spans"
    if "model" in names or "timestamp" in names:
        return "canonical"
    return "records"


def rows_as_jsonl(file: str) -> bytes:
    """The rows of a Parquet file as JSON lines (row n is line n), for the adapters."""
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(file).to_pylist()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    return b"".join(json.dumps(_clean(row), default=_jsonable).encode() + b"\n" for row in rows)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _problems(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Per row, the list of problems (empty when the row is valid)."""
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


def read_parquet(file: str) -> tuple[pl.LazyFrame, int, list[InvalidRecord]]:
    """A lazy scan of a Parquet file in canonical columns, its number of valid rows, and
    its invalid rows (line = row). Only the checked columns are read here; the rest are
    read when (and if) a command uses them."""
    try:
        scan = pl.scan_parquet(file)
        schema = scan.collect_schema()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    exprs = [
        _conform(name, schema[name], dtype, file).alias(name) if name in schema
        else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in CANONICAL_DTYPES.items()
    ]
    extras = [pl.col(name) for name in schema.names() if name not in CANONICAL_DTYPES]
    frame = scan.select(*exprs, *extras)
    # only the rows with a problem are kept (a list per row would grow with the file)
    flagged = (_problems(frame).with_row_index("__row")
               .filter(pl.col("problems").list.len() > 0))
    try:
        found, count = pl.collect_all([flagged, frame.select(pl.len())])
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    rows = found["__row"].to_list()
    invalid = [
        InvalidRecord(file, row + 1, tuple(
            (text.split(": ", 1)[0], text.split(": ", 1)[1]) for text in texts))
        for row, texts in zip(rows, found["problems"].to_list(), strict=True)
    ]
    if rows:
        frame = (frame.with_row_index("__row").filter(~pl.col("__row").is_in(rows))
                 .drop("__row"))
    return frame, int(count.item()) - len(rows), invalid
