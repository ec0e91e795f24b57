"""Hive-style partitioned folders: ``date=2026-11-29/hour=13/part-0.parquet``.

Every ``key=value`` folder between an input's root (the folder, prefix or glob root named)
and a file becomes a column of that file's records, local or in object storage, JSONL or
Parquet. A key whose every value is a whole number is an integer column (``hour=07`` is
7), any other is text (``date`` stays ``'2026-11-29'``, which orders like the date).
Values are URL-decoded (``%2F``), ``__HIVE_DEFAULT_PARTITION__`` is null, and a value is
data only: it is never parsed as anything but text or a whole number. A record that
carries the field itself keeps its own value; the partition's fills it where null.

Pruning happens before any file is opened, on the listing:

* ``--since``/``--until`` skip a file whose partitions put it wholly outside the window:
  ``date``/``dt``/``ds``/``day`` (YYYY-MM-DD) or ``year``/``month``/``day`` give its day,
  ``hour`` narrows it to an hour, all in UTC. This assumes a partition holds the records
  of its own time span, which is what such a layout means.
* ``--where``: each top-level ``AND`` term that names partition keys only is evaluated on
  the file's partition values (by a predicate the query layer builds, see
  :func:`genailog.query.prune.partition_predicate`); a file for which a term is not true
  holds no record the filter keeps, so it is skipped.

The read report says how many files were skipped and by what.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import polars as pl

from genailog.ingest.sources import Source

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_INT = re.compile(r"^[+-]?\d{1,18}$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
NULL_VALUE = "__HIVE_DEFAULT_PARTITION__"
DATE_KEYS = ("date", "dt", "ds", "day")

Values = dict[str, str | None]


@dataclass(frozen=True)
class Prune:
    """What a read may skip files by: a time window and a predicate over partition values
    (one row per file, a column per key; True keeps the file)."""

    since: datetime | None = None
    until: datetime | None = None
    where: Callable[[pl.DataFrame], pl.Series] | None = None
    #: The options that built it, for the report ("--since", "--where").
    options: tuple[str, ...] = ()


@dataclass
class PartitionReport:
    """The partition keys found and the files skipped before opening."""

    keys: list[str] = field(default_factory=list)
    files: int = 0
    skipped: int = 0
    by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"keys": self.keys, "files": self.files, "files_skipped": self.skipped,
                "pruned_by": self.by}

    def message(self) -> str | None:
        if not self.skipped:
            return None
        return (f"{self.skipped:,} of {self.files:,} file(s) skipped unopened: their "
                f"partitions ({', '.join(self.keys)}) are excluded by {' and '.join(self.by)}")


def values_of(source: Source) -> Values:
    """The ``key=value`` folders of a source below its root, innermost last."""
    name = source.name
    if source.root and name.startswith(source.root):
        rest = name[len(source.root):]
    else:
        rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*/", "", name)  # not the bucket
    out: Values = {}
    for segment in re.split(r"[/\\]", rest)[:-1]:
        key, sep, value = segment.partition("=")
        if sep and _KEY.match(key):
            out[key] = None if value == NULL_VALUE else unquote(value)
    return out


def dtypes_of(values: Sequence[Values]) -> dict[str, pl.DataType]:
    """Each key's column type: Int64 when every value is a whole number, else String."""
    seen: dict[str, list[str]] = {}
    for file_values in values:
        for key, value in file_values.items():
            seen.setdefault(key, [])
            if value is not None:
                seen[key].append(value)
    return {key: pl.Int64() if found and all(_INT.match(v) for v in found) else pl.String()
            for key, found in seen.items()}


def typed(values: Values, dtypes: dict[str, pl.DataType]) -> dict[str, Any]:
    """A file's partition values in their column types."""
    return {key: int(value) if value is not None and dtypes[key] == pl.Int64 else value
            for key, value in values.items()}


def table(values: Sequence[Values], dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    """One row per file, one column per key (null where a file lacks the key)."""
    rows = [typed(v, dtypes) for v in values]
    return pl.DataFrame({key: pl.Series(key, [r.get(key) for r in rows], dtype=dtype)
                         for key, dtype in dtypes.items()}, height=len(rows))


def span_of(values: Values) -> tuple[datetime, datetime] | None:
    """The UTC time span a file's partitions give it, or None when they give none."""
    day = _day(values)
    if day is None:
        return _year_month(values)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hour = values.get("hour")
    if hour is not None and hour.isdigit() and int(hour) < 24:
        start += timedelta(hours=int(hour))
        return start, start + timedelta(hours=1)
    return start, start + timedelta(days=1)


def _day(values: Values) -> date | None:
    for key in DATE_KEYS:
        match = _DAY.match(values.get(key) or "")
        if match:
            try:
                return date(*map(int, match.groups()))
            except ValueError:
                return None
    parts = [values.get(k) or "" for k in ("year", "month", "day")]
    if all(p.isdigit() for p in parts):
        try:
            return date(*map(int, parts))
        except ValueError:
            return None
    return None


def _year_month(values: Values) -> tuple[datetime, datetime] | None:
    year, month = values.get("year") or "", values.get("month") or ""
    if not (year.isdigit() and len(year) == 4):
        return None
    if month.isdigit() and 1 <= int(month) <= 12:
        start = datetime(int(year), int(month), 1, tzinfo=UTC)
        end = (datetime(int(year) + 1, 1, 1, tzinfo=UTC) if int(month) == 12
               else datetime(int(year), int(month) + 1, 1, tzinfo=UTC))
        return start, end
    return datetime(int(year), 1, 1, tzinfo=UTC), datetime(int(year) + 1, 1, 1, tzinfo=UTC)


def _in_window(values: Values, since: datetime | None, until: datetime | None) -> bool:
    span = span_of(values)
    if span is None:
        return True
    start, end = span
    return not ((since is not None and end <= since) or (until is not None and start >= until))


def prune(sources: list[Source], rule: Prune | None
          ) -> tuple[list[Source], list[dict[str, Any]], dict[str, pl.DataType],
                     PartitionReport]:
    """The sources to open, each one's typed partition values, the keys' column types,
    and what was skipped."""
    values = [values_of(s) for s in sources]
    dtypes = dtypes_of(values)
    report = PartitionReport(keys=sorted(dtypes), files=len(sources))
    keep = [True] * len(sources)
    if dtypes and rule is not None:
        by_time = [_in_window(v, rule.since, rule.until) for v in values]
        by_where = (rule.where(table(values, dtypes)).fill_null(False).to_list()
                    if rule.where is not None else keep)
        keep = [bool(t and w) for t, w in zip(by_time, by_where, strict=True)]
        report.skipped = keep.count(False)
        report.by = [o for o in rule.options if (o == "--where" and not all(by_where))
                     or (o != "--where" and not all(by_time))]
    kept = [i for i, k in enumerate(keep) if k]
    return ([sources[i] for i in kept], [typed(values[i], dtypes) for i in kept], dtypes,
            report)


def with_values(frame: pl.LazyFrame, values: dict[str, Any],
                dtypes: dict[str, pl.DataType]) -> pl.LazyFrame:
    """A file's records with its partition columns: a field the record carries keeps its
    value, the partition's fills it where null (a column of another type is left as is)."""
    if not values:
        return frame
    schema = frame.collect_schema()
    exprs = []
    for key, value in values.items():
        dtype = dtypes[key]
        if key not in schema:
            exprs.append(pl.lit(value, dtype=dtype).alias(key))
        elif schema[key] == dtype or schema[key] == pl.Null:
            exprs.append(pl.coalesce(pl.col(key).cast(dtype), pl.lit(value, dtype=dtype))
                         .alias(key))
        elif schema[key] == pl.String:
            text = None if value is None else str(value)
            exprs.append(pl.coalesce(pl.col(key), pl.lit(text, dtype=pl.String)).alias(key))
    return frame.with_columns(exprs) if exprs else frame


def with_columns(frame: pl.LazyFrame, dtypes: dict[str, pl.DataType]) -> pl.LazyFrame:
    """Every partition column, null where no file had it (also when every file was
    skipped, so that a filter naming a key still knows it)."""
    names = frame.collect_schema().names()
    missing = [pl.lit(None, dtype=d).alias(k) for k, d in dtypes.items() if k not in names]
    return frame.with_columns(missing) if missing else frame


@dataclass
class SpanCheck:
    """Counts the records of the files read whose time lies outside their partition's
    span, when files were skipped by time: such records mean the skipped files may hold
    records the window keeps, and the read says so."""

    rule: Prune | None
    report: PartitionReport
    strays: int = 0
    example: str = ""

    @property
    def active(self) -> bool:
        return bool(self.rule is not None and self.report.skipped
                    and {"--since", "--until"} & set(self.report.by))

    def check(self, source: Source, frames: Sequence[pl.LazyFrame]) -> None:
        span = span_of(values_of(source)) if self.active else None
        if span is None:
            return
        outside = (pl.col("timestamp") < span[0]) | (pl.col("timestamp") >= span[1])
        for frame in frames:
            found = int(frame.select(outside.sum()).collect().item() or 0)
            if found and not self.example:
                self.example = source.name
            self.strays += found

    def message(self) -> str | None:
        if not self.strays:
            return None
        return (f"{self.strays:,} record(s) lie outside their partition's time span (e.g. in "
                f"{self.example}): files skipped by --since/--until may hold records the "
                "window keeps; to read every file, filter with --where on timestamp instead")


def fill_record(record: dict[str, Any], values: dict[str, Any]) -> None:
    """The same for a record an adapter produced: its own values win."""
    for key, value in values.items():
        if record.get(key) is None:
            record[key] = value
