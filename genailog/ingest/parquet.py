"""Reading canonical Parquet files: column types are checked, rows validated by vector.

A file is judged by filtered scans that row-group statistics settle without decoding
(:func:`_flagged`; a small file in one pass), and read as consecutive scans of about
``SLICE_ROWS`` rows that end where row groups end (:func:`_sliced`), so memory does not
follow the file's size. Row numbers come from the scan's own row index: an invalid row
is reported as line = row number + 1 and left out of the frame by that number. A command
may have the footer parsed and the rows judged on a thread while it loads
(:func:`read_ahead`).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from genailog.errors import InputError
from genailog.ingest.cache import stat_signature
from genailog.ingest.report import InvalidRecord
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS, TIMESTAMP_DTYPE

_NON_NEGATIVE = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
                 "reasoning_tokens", "retries", "cost_usd", "latency_ms", "ttft_ms")
_ENUMS = {"status": ("ok", "error"), "stage": ("training", "inference", "deployment")}
#: Rows per scan of a large file, at least (see :func:`_sliced`): each scan goes on to the
#: end of a row group (:func:`_starts`). Each scan after the first starts once the one
#: before it ends, and its start costs the pass about 10 ms of waiting: a 1M-row summary
#: in 2 scans of 500k took 35-58 ms less than in 4 of 250k (median of 16 alternating runs
#: per file), peaking about 35 MB higher (300 MB; one scan: 375 MB).
SLICE_ROWS = 500_000
#: Files up to this many rows are checked in one pass (see :func:`_problem_rows`).
ONE_PASS_ROWS = 50_000
#: A local file larger than this (32 MiB) is taken to hold more than ONE_PASS_ROWS rows:
#: its rows are counted in the batch of the checks' queries (:func:`_counted_and_judged`).
#: One of fewer, longer rows is then judged by the filtered scans: same answers.
LARGE_FILE_BYTES = 32 << 20
#: A file of more slices than this reads each slice in a query of its own (see
#: :func:`_own_query`); files of up to 2M rows keep one query, the fastest way.
ONE_QUERY_SLICES = 4
#: Rows per scan, at least, of a file whose scans each run in a query of their own (more
#: than ONE_QUERY_SLICES of SLICE_ROWS). Such a scan is collected whole before its rows go
#: on, so a smaller one bounds what is held at once: 10M-row sketch summaries, 10
#: alternating rounds, peaked at 269 instead of 291 MB (10k-row groups) and 251 instead of
#: 266 MB (100k-row groups), for 3-6% more time; exact mode 40 MB lower, 0-6% slower. A
#: target of 250k rows did as well on the first layout, not on the second (whose slices
#: then hold 300k rows: 274 MB).
OWN_QUERY_SLICE_ROWS = 200_000


def _conform(name: str, actual: pl.DataType, expected: pl.DataType, file: str) -> pl.Expr:
    col = pl.col(name)
    if name == "timestamp":
        if actual == expected:  # as is: --since/--until then reach the reader's statistics
            return col
        if actual == pl.String:  # the JSONL reader's parser (imported only then: numpy)
            from genailog.ingest.jsonl import parse_timestamps

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
        names = pl.scan_parquet(file).collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    return shape_of(names)


def shape_of(columns: Iterable[str]) -> str:
    """:func:`shape` from a file's column names."""
    names = set(columns)
    if {"context.span_id", "span_kind"} & names or ("span_id" in names and "trace_id" in names
                                                   and "model" not in names):
        return "spans"
    if "model" in names or "timestamp" in names:
        return "canonical"
    return "records"


#: What :func:`read_parquet` returns: the frame, its valid rows, its invalid rows.
_Judged = tuple[pl.LazyFrame, int, list[InvalidRecord]]


@dataclass(frozen=True)
class ParquetScan:
    """One parse of a file's footer, shared by every later step: the scan with a row
    index (column ``index``, a name no column of the file has) and the file's own schema.

    A footer is parsed into about 22 MB for a 10M-row file of 1,000 row groups; parsing
    it once per file instead of three times (format, schema, row-indexed scan) saves
    about 50 ms there, and the RSS after reading falls from 111 to 100 MB (the peak of a
    whole command hardly moves: the freed parses were reused). A scan made by
    :func:`read_ahead` also holds what :func:`read_parquet` makes of it (``judged``)."""

    indexed: pl.LazyFrame
    index: str
    schema: pl.Schema
    judged: _Judged | None = None


def open_scan(file: str) -> ParquetScan:
    """The file's :class:`ParquetScan` (its footer parsed, no row read): the one
    :func:`read_ahead` made, when it read this file as it is now."""
    return _taken(file) or _open_scan(file)


def _open_scan(file: str) -> ParquetScan:
    index = "__row"
    # The row index belongs to the scan itself (on a scan whose schema was collected, a
    # later with_row_index stays a step of its own and filters above it, past the
    # statistics). A file holding a column of that name is told by polars at once.
    while True:
        try:
            indexed = pl.scan_parquet(file, row_index_name=index)
            schema = indexed.collect_schema()
        except pl.exceptions.DuplicateError:
            index += "_"
            continue
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read {file} as Parquet: {exc}") from None
        return ParquetScan(indexed, index, pl.Schema({name: dtype for name, dtype in
                                                      schema.items() if name != index}))


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


Problem = tuple[str, str]


def _checks(column: dict[str, pl.Expr]) -> dict[Problem, pl.Expr]:
    """Per problem (path, message), the expression that is true on the rows that have it;
    ``column`` holds each canonical column in its canonical type."""
    model = column["model"]
    checks: dict[Problem, pl.Expr] = {
        ("/timestamp", "missing, null or not an RFC 3339 date-time"):
            column["timestamp"].is_null(),
        ("/model", "missing, null or empty"): model.is_null() | (model == ""),
    }
    for name in _NON_NEGATIVE:
        checks[(f"/{name}", "must be >= 0")] = column[name] < 0
    for name, allowed in _ENUMS.items():
        checks[(f"/{name}", f"must be one of {', '.join(allowed)}")] = (
            column[name].is_not_null() & ~column[name].is_in(allowed))
    return checks


def _flagged(indexed: pl.LazyFrame, column: dict[str, pl.Expr],
             index: str) -> list[pl.LazyFrame]:
    """Per check, the row numbers (column ``index`` of the scan ``indexed``) of the rows
    that fail it.

    One query per check, each a filter on the bare scan: the Parquet reader then skips
    every row group whose statistics (minimum, null count) or dictionary prove that no
    row fails, so a clean file is judged from its metadata at a few milliseconds. The
    checks of one filter joined by ``|`` would be evaluated row by row (10-20x slower),
    and a list of problems per row (the former way) builds one list per row."""
    return [indexed.filter(check).select(index) for check in _checks(column).values()]


def _problem_rows(indexed: pl.LazyFrame, column: dict[str, pl.Expr], index: str,
                  total: int) -> dict[int, list[Problem]]:
    """Per invalid row number, its problems in the order of :func:`_checks`. A small file
    is judged in one pass (every check a column, the flagged rows kept): per query,
    polars' fixed cost is about 0.4 ms, which 13 queries per file would pay a thousand
    times over a folder of small partitions; a large one by :func:`_flagged`."""
    checks = _checks(column)
    problems: dict[int, list[Problem]] = {}
    if total <= ONE_PASS_ROWS:
        flags = [f"__check{i}" for i in range(len(checks))]
        flagged = (indexed.select(index, *(e.fill_null(False).alias(f) for e, f in
                                           zip(checks.values(), flags, strict=True)))
                   .filter(pl.any_horizontal(flags)).collect())
        for row, *hits in flagged.iter_rows():
            problems[row] = [p for p, hit in zip(checks, hits, strict=True) if hit]
        return problems
    return _flagged_rows(checks, pl.collect_all(_flagged(indexed, column, index)), index)


def _flagged_rows(checks: dict[Problem, pl.Expr], found: list[pl.DataFrame],
                  index: str) -> dict[int, list[Problem]]:
    """:func:`_problem_rows` from the answers of :func:`_flagged`'s queries."""
    problems: dict[int, list[Problem]] = {}
    for problem, failed in zip(checks, found, strict=True):
        for row in failed[index].to_list():
            problems.setdefault(row, []).append(problem)
    return problems


def _counted_and_judged(file: str, indexed: pl.LazyFrame, column: dict[str, pl.Expr],
                        index: str) -> tuple[int, dict[int, list[Problem]]]:
    """The file's number of rows and :func:`_problem_rows`. A local file of more than
    :data:`LARGE_FILE_BYTES` has its rows counted by the same batch of queries as
    :func:`_flagged`'s, rather than by a query of its own first (1M rows: 14-17 vs
    14-33 ms); the answers are the same either way."""
    try:
        large = os.stat(file).st_size > LARGE_FILE_BYTES
    except (OSError, ValueError):  # a URL, or a name os cannot stat
        large = False
    if not large:
        total = int(indexed.select(pl.len()).collect().item())  # from the footer
        return total, _problem_rows(indexed, column, index, total)
    count, *found = pl.collect_all([indexed.select(pl.len()),
                                    *_flagged(indexed, column, index)])
    return int(count.item()), _flagged_rows(_checks(column), found, index)


def _keeps_nulls(actual: pl.DataType | None) -> bool:
    """A timestamp column whose conversion to the canonical type is null exactly where the
    column is: a time zone set or replaced and convert to UTC, microseconds from
    microseconds or nanoseconds (milliseconds could overflow, so they are checked as
    converted)."""
    return isinstance(actual, pl.Datetime) and actual.time_unit in ("us", "ns")


def read_parquet(file: str, scan: ParquetScan | None = None,
                 ) -> tuple[pl.LazyFrame, int, list[InvalidRecord]]:
    """A lazy scan of a Parquet file in canonical columns, its number of valid rows, and
    its invalid rows (line = row). Only the checked columns are read here, and only where
    their statistics leave a doubt; the rest are read when (and if) a command uses them.
    ``scan``: the file's :func:`open_scan`, when the caller has it already."""
    scan = scan or open_scan(file)
    return scan.judged if scan.judged is not None else _read_parquet(file, scan)


def _read_parquet(file: str, scan: ParquetScan) -> _Judged:
    schema, indexed, index = scan.schema, scan.indexed, scan.index
    column = {
        name: _conform(name, schema[name], dtype, file) if name in schema
        else pl.lit(None, dtype=dtype)
        for name, dtype in CANONICAL_DTYPES.items()
    }
    checked = dict(column)
    if _keeps_nulls(schema.get("timestamp")):  # the bare column: statistics judge it
        checked["timestamp"] = pl.col("timestamp")
    try:
        # the checks, the slices and the frame share the one row-indexed scan
        total, problems = _counted_and_judged(file, indexed, checked, index)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    rows = sorted(problems)
    invalid = [InvalidRecord(file, row + 1, tuple(problems[row])) for row in rows]
    read = (_sliced(indexed, _starts(total, row_groups(file)), total, rows, index, schema)
            if rows or total > SLICE_ROWS else indexed)
    extras = [pl.col(name) for name in schema.names() if name not in CANONICAL_DTYPES]
    frame = read.select(*(expr.alias(name) for name, expr in column.items()), *extras)
    return frame, total - len(rows), invalid


def row_groups(file: str) -> tuple[int, ...] | None:
    """The number of rows of each of a local Parquet file's row groups, from its footer
    (read by the C scanner, a few ms for a 5 MB footer of 1,000 row groups); None without
    the scanner, or when the footer cannot be read that far."""
    from genailog.ingest.scanner import SCANNER

    if SCANNER is None:
        return None
    try:
        with open(file, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size < 12:
                return None
            handle.seek(size - 8)
            tail = handle.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != b"PAR1" or not 0 < length <= size - 12:
                return None
            handle.seek(size - 8 - length)
            footer = handle.read(length)
    except OSError:
        return None
    groups: tuple[int, ...] | None = SCANNER.row_group_rows(footer)
    return groups


def _starts(total: int, groups: Sequence[int] | None) -> list[int]:
    """Where each slice of a file of ``total`` rows (row groups ``groups``) starts: cut
    at ``SLICE_ROWS`` (:func:`_cut`), or at ``OWN_QUERY_SLICE_ROWS`` when that makes more
    than ``ONE_QUERY_SLICES`` slices, which are then each read in a query of their own."""
    starts = _cut(total, groups, SLICE_ROWS)
    if len(starts) <= ONE_QUERY_SLICES:
        return starts
    return _cut(total, groups, OWN_QUERY_SLICE_ROWS)


def _cut(total: int, groups: Sequence[int] | None, size: int) -> list[int]:
    """Slices of at least ``size`` rows, each starting at the first row-group boundary
    ``size`` rows or more after the one before it. A row group that a slice cut through
    would be decoded by both slices (DuckDB writes groups of about 122,880 rows: at
    500,000 rows, a 1M-row file's fifth group was decoded twice, and a summary took 18 ms
    more, median of 15 alternating runs). Without the groups (no scanner, a footer it
    cannot read, a file changed since polars read it), every ``size`` rows."""
    if groups is None or sum(groups) != total:
        return list(range(0, max(total, 1), size))
    starts, end = [0], 0
    for rows in groups[:-1]:
        end += rows
        if end - starts[-1] >= size:
            starts.append(end)
    return starts


def _sliced(indexed: pl.LazyFrame, starts: list[int], total: int, invalid: list[int],
            index: str, schema: pl.Schema) -> pl.LazyFrame:
    """The file's valid rows as consecutive scans, one from each of ``starts`` to the
    next (:func:`_starts`), in order.

    Polars' streaming reader runs ahead of a slow consumer (summarize's per-batch
    aggregation) by as many row groups as it can: over a whole 10M-row file with 100k-row
    groups that reached 700 MB, against 340 MB at 1M. A scan limited to a range of row
    numbers reads only the row groups in that range (the range is a predicate on the row
    index, which the reader resolves from the row counts without decoding), so the
    read-ahead is bounded by one slice whatever the file's size; filters from the command
    (--where, --since) still reach each scan. Row numbers are those the checks used, so
    the invalid rows (sorted) are left out slice by slice. Beyond
    :data:`ONE_QUERY_SLICES` slices, each is read by :func:`_own_query`."""
    pieces = []
    for start, stop in zip(starts, [*starts[1:], max(total, 1)], strict=True):
        keep = pl.col(index).is_between(start, stop, closed="left")
        dropped = invalid[bisect_left(invalid, start):bisect_left(invalid, stop)]
        if dropped:
            keep &= ~pl.col(index).is_in(dropped)
        pieces.append(indexed.filter(keep).drop(index))
    if len(pieces) == 1:
        return pieces[0]
    if len(pieces) > ONE_QUERY_SLICES:
        pieces = [_own_query(piece, schema) for piece in pieces]
    return pl.concat(pieces, how="vertical")


def _own_query(piece: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """``piece`` (a slice's scan) as a source that runs a query of its own when the
    engine reaches it, with the projection and the filters the engine hands down.

    Scans of one query keep what they hold until the query ends: over the 40 slices (of
    250k rows) of a 10M-row file the peak crept from 235 to 268 MB while a sketch summary
    read them (sketch mode's memory then followed the number of records); a query per
    slice frees each slice's as it ends, and the peak stayed at 240-259 MB (the same
    output: batches are cut from the rows, in order, whatever their source). The engine
    starts each source only when the slices before it are read (a single source yielding
    every slice was read ahead to 1 GB). Each slice is then one frame of its columns
    (about 60 MB for a summary at 500,000 rows); a few slices stay in one query, which is
    faster."""
    from polars.io.plugins import register_io_source

    def read(columns: list[str] | None, predicate: pl.Expr | None, rows: int | None,
             batch_rows: int | None) -> Iterator[pl.DataFrame]:
        frame = piece if predicate is None else piece.filter(predicate)
        if columns is not None:
            frame = frame.select(columns)
        yield (frame if rows is None else frame.head(rows)).collect()

    return register_io_source(read, schema=schema)


@dataclass
class _Ahead:
    """A file read ahead: its stat signature when the read began, and, once ``done`` is
    set, its scan (judged too, for canonical columns), or None when the read failed."""

    signature: list[int]
    done: threading.Event
    scan: ParquetScan | None = None


#: Files being read ahead, by name (:func:`read_ahead`); each is taken once.
_AHEAD: dict[str, _Ahead] = {}


def _signature(file: str) -> list[int] | None:
    """The cache's stat signature of a regular file (``cache.stat_signature``)."""
    try:
        info = os.stat(file)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):  # never a pipe: its first bytes would be gone
        return None
    return stat_signature(info)


def read_ahead(paths: Sequence[str | Path], input_format: str = "auto") -> None:
    """Start reading the first of ``paths`` on a thread of its own, when it is a local
    Parquet file: its footer parsed and its rows judged (:func:`read_parquet`), while the
    caller does the Python work before its read (imports, the price table, option
    checks); the read then finds them done. Polars releases the GIL while it reads, so
    the two overlap on a second core (1M rows: the 15-30 ms of the checks).

    The file must be Parquet by name and by its magic number; anything that goes wrong
    there is left for the read itself to meet and report, as it would without this. A
    file changed since is read again."""
    if input_format not in ("auto", "parquet") or not paths:
        return
    first = str(paths[0])
    if first.lower().endswith(".parquet") and "://" not in first:
        _start(str(Path(first)))  # the name the reader gives it (sources.discover)


def _start(file: str) -> None:
    if file in _AHEAD:  # the CLI and the library function both ask
        return
    signature = _signature(file)
    if signature is None:
        return
    try:
        with open(file, "rb") as handle:
            if handle.read(4) != b"PAR1":
                return
    except OSError:
        return
    ahead = _Ahead(signature, threading.Event())
    _AHEAD[file] = ahead

    def run() -> None:
        try:
            scan = _open_scan(file)
            if shape_of(scan.schema) == "canonical":
                scan = replace(scan, judged=_read_parquet(file, scan))
            ahead.scan = scan
        except Exception:  # noqa: BLE001 - the read itself meets it again, and says so
            ahead.scan = None
        finally:
            ahead.done.set()

    # Not a daemon: a command that ends before its read (a refused option) lets Python
    # wait for the thread, instead of finalizing while polars is inside its query.
    threading.Thread(target=run, name="genailog-read-ahead").start()


def _taken(file: str) -> ParquetScan | None:
    """The scan read ahead for ``file`` (with its judgement, for :func:`read_parquet`),
    when that read finished well and the file is unchanged."""
    ahead = _AHEAD.pop(file, None)
    if ahead is None:
        return None
    ahead.done.wait()
    return ahead.scan if _signature(file) == ahead.signature else None
