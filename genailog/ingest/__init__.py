"""The one ingest gateway every command uses: :func:`read_logs`.

It finds the files, detects each one's format, validates every record, types the columns
by the schema (never by inference), applies the ``--on-invalid`` policy, and returns the
logs as a LazyFrame in canonical columns together with a report of what was read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from genailog.errors import InputError, InvalidRecordError, UnknownFormatError, UsageError
from genailog.ingest.jsonl import BOM, ChunkReader
from genailog.ingest.parquet import read_parquet
from genailog.ingest.policy import InvalidPolicy
from genailog.ingest.report import FileReport, InvalidRecord, ReadReport
from genailog.ingest.sources import Source, buffered, discover, iter_chunks
from genailog.schema.columns import CANONICAL_DTYPES

__all__ = ["InvalidPolicy", "Logs", "ReadReport", "read_logs"]

CHUNK_BYTES = 64 * 1024 * 1024
INPUT_FORMATS = ("auto", "genailog", "otlp", "openinference", "litellm", "langfuse", "mlflow",
                 "llm")


@dataclass
class Logs:
    """Logs in canonical columns, and what was read to get them."""

    frame: pl.LazyFrame
    report: ReadReport

    def collect(self) -> pl.DataFrame:
        return self.frame.collect()


def _apply_policy(invalid: list[InvalidRecord], policy: InvalidPolicy,
                  report: ReadReport) -> None:
    if not invalid:
        return
    if policy.mode == "fail":
        first = min(invalid, key=lambda r: r.line)
        more = len(invalid) - 1
        hint = (f"{more} more invalid record(s) in this part of the file; " if more else "")
        raise InvalidRecordError(
            first.file, first.line, first.message,
            hint=hint + "fix the record, or pass --on-invalid skip (or quarantine=PATH) "
            "to set invalid records aside")
    report.invalid.extend(invalid)


def _detect(source: Source, head: bytes, input_format: str) -> str:
    if source.kind == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if input_format != "auto":
        return input_format
    try:
        from genailog.ingest import formats
    except ImportError:  # adapters not installed in this build
        formats = None  # type: ignore[assignment]
    if formats is not None and hasattr(formats, "detect_format"):
        return str(formats.detect_format(source.name, head))
    first = head.removeprefix(BOM).lstrip().split(b"\n", 1)[0]
    try:
        value = json.loads(first)
    except ValueError:
        value = None
    if isinstance(value, dict) and "timestamp" in value and "model" in value:
        return "genailog"
    raise UnknownFormatError(
        f"{source.name}: not a log format genailog knows; formats: "
        + ", ".join(INPUT_FORMATS[1:]) + ", parquet")


ChunkOut = tuple[list[pl.DataFrame], list[InvalidRecord], set[str]]


def _read_jsonl(source: Source, stream: Any, chunk_bytes: int) -> Iterator[ChunkOut]:
    reader = ChunkReader(source.name)
    line = 1
    first = True
    chunks = iter_chunks(stream, chunk_bytes)
    pending = next(chunks, None)
    while pending is not None:
        chunk = pending
        pending = next(chunks, None)
        if first:
            chunk = chunk.removeprefix(BOM)
            first = False
        result = reader.read(chunk, line, final=pending is None)
        line += chunk.count(b"\n")
        yield result.frames, result.invalid, result.json_columns


def _json_text_series(series: pl.Series) -> pl.Series:
    """A user field's values as JSON text, for a field whose type differs across files."""
    if series.dtype == pl.String:
        return series.map_elements(json.dumps, return_dtype=pl.String)
    if series.dtype == pl.Boolean:
        return series.replace_strict({True: "true", False: "false"}, return_dtype=pl.String)
    return series.cast(pl.String)


def read_logs(
    paths: Sequence[str | Path],
    *,
    on_invalid: str | InvalidPolicy = "fail",
    input_format: str = "auto",
    stdin: BinaryIO | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Logs:
    """Read log files into canonical columns.

    ``paths`` are files, directories (recursive), globs or ``-`` (stdin); JSONL (also
    ``.gz``/``.zst``), Parquet, and the formats of :mod:`genailog.ingest.formats`.
    Raises :class:`InvalidRecordError` on the first invalid record under ``fail``.
    """
    policy = InvalidPolicy.parse(on_invalid)
    if input_format not in INPUT_FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}, "
                         f"not {input_format!r}")
    report = ReadReport(policy=policy.mode)
    frames: list[pl.DataFrame] = []
    foreign: dict[str, list[tuple[Source, bytes]]] = {}
    json_marks: list[tuple[pl.DataFrame, set[str]]] = []
    for source in discover(paths):
        _read_source(source, policy, input_format, stdin, chunk_bytes, report, frames, foreign,
                     json_marks)
    for fmt, items in foreign.items():
        _read_foreign(fmt, items, policy, report, frames, json_marks)
    frame = _concat(frames, json_marks, report)
    if policy.mode == "quarantine" and policy.quarantine_path is not None:
        _write_quarantine(policy.quarantine_path, report.invalid)
    return Logs(frame.lazy(), report)


def _concat(frames: list[pl.DataFrame], json_marks: list[tuple[pl.DataFrame, set[str]]],
            report: ReadReport) -> pl.DataFrame:
    """One frame. A user field held as JSON text anywhere, or typed differently in
    different parts (other than ints beside floats), becomes JSON text everywhere."""
    if not frames:
        return pl.DataFrame(schema=CANONICAL_DTYPES)
    marks = {id(frame): names for frame, names in json_marks}
    kinds: dict[str, set[pl.DataType]] = {}
    for frame in frames:
        for name, dtype in frame.schema.items():
            if name not in CANONICAL_DTYPES:
                kinds.setdefault(name, set()).add(dtype)
    to_text = set().union(*marks.values()) | {
        name for name, found in kinds.items()
        if len(found) > 1 and not found <= {pl.Int64(), pl.Float64()}}
    converted = []
    for frame in frames:
        fix = [n for n in to_text if n in frame.columns and n not in marks.get(id(frame), ())]
        converted.append(frame.with_columns([_json_text_series(frame[n]) for n in fix]))
    report.json_columns = to_text
    return pl.concat(converted, how="diagonal_relaxed")


def _read_source(source: Source, policy: InvalidPolicy, input_format: str,
                 stdin: BinaryIO | None, chunk_bytes: int, report: ReadReport,
                 frames: list[pl.DataFrame], foreign: dict[str, list[tuple[Source, bytes]]],
                 json_marks: list[tuple[pl.DataFrame, set[str]]]) -> None:
    if source.is_stdin:
        stream = buffered(source.open(stdin).read())
        head = stream.read(65536)
    else:
        stream = source.open()
        head = _peek(stream, source)
    fmt = _detect(source, head, input_format)
    file_report = FileReport(source.name, fmt)
    report.files.append(file_report)
    if fmt == "parquet":
        stream.close()
        frame, invalid = read_parquet(source.name)
        _apply_policy(invalid, policy, report)
        file_report.records, file_report.invalid = frame.height, len(invalid)
        frames.append(frame)
        return
    if fmt != "genailog":
        data = head + stream.read()
        stream.close()
        foreign.setdefault(fmt, []).append((source, data))
        return
    prefixed = _Prefixed(head, stream)
    try:
        for part, invalid, json_columns in _read_jsonl(source, prefixed, chunk_bytes):
            _apply_policy(invalid, policy, report)
            file_report.invalid += len(invalid)
            for frame in part:
                file_report.records += frame.height
                frames.append(frame)
                json_marks.append((frame, json_columns))
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {source.name}: {exc}") from None
    finally:
        prefixed.close()


def _peek(stream: BinaryIO, source: Source) -> bytes:
    try:
        return stream.read(65536)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"cannot read or decompress {source.name}: {exc}") from None


class _Prefixed:
    """A stream with already-read bytes put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()


def _read_foreign(fmt: str, items: list[tuple[Source, bytes]], policy: InvalidPolicy,
                  report: ReadReport, frames: list[pl.DataFrame],
                  json_marks: list[tuple[pl.DataFrame, set[str]]]) -> None:
    from genailog.ingest import formats
    from genailog.ingest.frame import canonical_frame
    from genailog.schema.diagnose import check_value

    records: list[dict[str, Any]] = []
    invalid: list[InvalidRecord] = []
    counts: dict[str, int] = {}
    for file, line, record in _foreign_records(formats, fmt, items, invalid):
        problems = check_value(_jsonable(record))
        if problems:
            invalid.append(InvalidRecord(file, line, tuple((p.path, p.message)
                                                           for p in problems)))
            continue
        counts[file] = counts.get(file, 0) + 1
        records.append(record)
    _apply_policy(invalid, policy, report)
    for file_report in report.files:
        if file_report.format == fmt:
            file_report.records = counts.get(file_report.path, 0)
            file_report.invalid = sum(1 for r in invalid if r.file == file_report.path)
    if records:
        frame, json_columns = canonical_frame(records)
        frames.append(frame)
        json_marks.append((frame, json_columns))


def _foreign_records(formats: Any, fmt: str, items: list[tuple[Source, bytes]],
                     invalid: list[InvalidRecord]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    files = [(source.name, data) for source, data in items]
    try:
        if hasattr(formats, "load_many"):
            yield from formats.load_many(files, fmt)
        else:
            for name, data in files:
                for line, record in formats.load_records(name, data, fmt):
                    yield name, line, record
    except InvalidRecordError as exc:
        invalid.append(InvalidRecord(exc.file, exc.line, (("", exc.detail),)))


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    stamp = record.get("timestamp")
    if isinstance(stamp, datetime):
        record = {**record, "timestamp": stamp.isoformat().replace("+00:00", "Z")}
    return record


def _write_quarantine(path: Path, invalid: list[InvalidRecord]) -> None:
    from genailog.cli.render import atomic_writer

    with atomic_writer(path, "wb") as handle:
        for record in sorted(invalid, key=lambda r: (r.file, r.line)):
            handle.write(record.raw.rstrip(b"\r\n") + b"\n")
