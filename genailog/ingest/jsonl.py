"""Reading canonical JSONL: validate every line, then type it by the schema.

A chunk of lines takes the fast road when it can: msgspec checks the whole chunk against
the schema's compiled twin in one call, and polars parses it with an explicit schema (no
inference). Lines the twin rejects are judged one by one by jsonschema; those it accepts
after all (rare corner cases) are typed through :mod:`genailog.ingest.frame`. Nothing is
dropped or coerced without being counted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import polars as pl

from genailog.ingest.frame import canonical_frame, canonical_value, extra_dtype, json_text
from genailog.ingest.report import InvalidRecord
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS, TIMESTAMP_DTYPE
from genailog.schema.diagnose import diagnose
from genailog.schema.fastcheck import FIELD_NAMES, closed_batch, open_batch, open_one, raw_batch

BOM = b"\xef\xbb\xbf"
_IRREGULAR = re.compile(rb"\r|\n[ \t]*\n|^[ \t]*\n")

#: Columns typed from decoded values rather than by polars' parser.
_REBUILT = (*sorted(JSON_TEXT_COLUMNS), "messages")

#: What polars reads each canonical column as; timestamps are parsed afterwards.
LOAD_SCHEMA: dict[str, pl.DataType] = {
    name: (pl.String() if name == "timestamp" else dtype)
    for name, dtype in CANONICAL_DTYPES.items()
}


def parse_timestamps(column: pl.Expr) -> pl.Expr:
    """RFC 3339 text to UTC datetimes; anything unparseable (e.g. Feb 30) becomes null."""
    return (
        column.str.replace(r"[zZ]$", "+00:00")
        .str.replace("t", "T", literal=True)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC",
                         strict=False)
    )


@dataclass
class Lines:
    """The non-blank lines of a chunk with their 1-based line numbers."""

    items: list[bytes]
    numbers: list[int]

    @classmethod
    def split(cls, chunk: bytes, first_line: int) -> Lines:
        parts = chunk.split(b"\n")
        if parts and parts[-1] == b"":
            parts.pop()
        if not _IRREGULAR.search(chunk):
            return cls(parts, list(range(first_line, first_line + len(parts))))
        items: list[bytes] = []
        numbers: list[int] = []
        for offset, line in enumerate(parts):
            line = line.removesuffix(b"\r")
            if line.strip():
                items.append(line)
                numbers.append(first_line + offset)
        return cls(items, numbers)


@dataclass
class ChunkResult:
    """The typed records of a chunk and the lines set aside."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    invalid: list[InvalidRecord] = field(default_factory=list)
    json_columns: set[str] = field(default_factory=set)

    @property
    def records(self) -> int:
        return sum(f.height for f in self.frames)


def _joined(lines: Sequence[bytes]) -> bytes:
    return b"[" + b",".join(lines) + b"]"


def triage(lines: Sequence[bytes]) -> tuple[list[int], list[int], bool]:
    """Indices the twin accepts, indices it rejects, and whether user fields may exist."""
    everything = list(range(len(lines)))
    for decoder, extras in ((closed_batch, False), (open_batch, True)):
        try:
            if len(decoder.decode(_joined(lines))) == len(lines):
                return everything, [], extras
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            continue
    good: list[int] = []
    bad: list[int] = []
    for index, line in enumerate(lines):
        try:
            open_one.decode(line)
            good.append(index)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            bad.append(index)
    return good, bad, True


class ChunkReader:
    """Turns chunks of one file into typed frames and invalid-record entries."""

    def __init__(self, file: str, *, build_frames: bool = True) -> None:
        self.file = file
        self.build_frames = build_frames

    def read(self, chunk: bytes, first_line: int, *, final: bool) -> ChunkResult:
        lines = Lines.split(chunk, first_line)
        result = ChunkResult()
        if not lines.items:
            return result
        good, bad, extras = triage(lines.items)
        exact: list[tuple[int, dict[str, Any]]] = []
        last_open = final and not chunk.endswith(b"\n")
        for index in bad:
            self._judge(lines, index, last_open and index == len(lines.items) - 1, result, exact)
        if good:
            frame, late = self._fast_frame([lines.items[i] for i in good], extras, result)
            for position in late:
                self._judge(lines, good[position], False, result, exact)
            if frame is not None:
                result.frames.append(frame)
        if exact and self.build_frames:
            frame, json_columns = canonical_frame([record for _, record in exact])
            result.frames.append(frame)
            result.json_columns |= json_columns
        return result

    def _judge(self, lines: Lines, index: int, last_open: bool, result: ChunkResult,
               exact: list[tuple[int, dict[str, Any]]]) -> None:
        value, problems = diagnose(lines.items[index], last_unterminated=last_open)
        if problems:
            result.invalid.append(InvalidRecord(
                self.file, lines.numbers[index], tuple((p.path, p.message) for p in problems),
                raw=lines.items[index]))
        else:
            exact.append((index, value))

    def _fast_frame(self, lines: list[bytes], extras: bool,
                    result: ChunkResult) -> tuple[pl.DataFrame | None, list[int]]:
        """Type the accepted lines with polars; positions whose timestamp did not parse."""
        if not self.build_frames:
            return None, self._bad_timestamps(lines)
        try:
            frame = pl.read_ndjson(io.BytesIO(b"\n".join(lines)), schema=LOAD_SCHEMA)
        except pl.exceptions.PolarsError:
            # e.g. 430.0 in an integer field: valid JSON Schema, not for polars' parser
            frame, json_columns = canonical_frame(raw_batch.decode(_joined(lines)))
            result.json_columns |= json_columns
            return frame, []
        stamps = frame.select(parse_timestamps(pl.col("timestamp"))).to_series()
        frame = frame.with_columns(stamps.alias("timestamp"))
        rebuild = [name for name in _REBUILT if frame.get_column(name).null_count() < frame.height]
        if extras or rebuild:
            frame = self._from_values(frame, lines, rebuild, extras, result)
        late = stamps.is_null().arg_true().to_list()
        if late:
            frame = frame.filter(stamps.is_not_null())
        return frame, late

    @staticmethod
    def _bad_timestamps(lines: list[bytes]) -> list[int]:
        decoded = open_batch.decode(_joined(lines))
        stamps = pl.Series([r.timestamp for r in decoded], dtype=pl.String)
        parsed = pl.select(parse_timestamps(pl.lit(stamps))).to_series()
        return parsed.is_null().arg_true().to_list()

    @staticmethod
    def _from_values(frame: pl.DataFrame, lines: list[bytes], rebuild: list[str], extras: bool,
                     result: ChunkResult) -> pl.DataFrame:
        """Columns polars cannot be trusted with (it writes nested values as JSON text
        without escaping control characters), and the user's own fields."""
        records = raw_batch.decode(_joined(lines))
        columns = [
            pl.Series(name, [canonical_value(name, r.get(name)) for r in records],
                      dtype=CANONICAL_DTYPES[name], strict=True)
            for name in rebuild
        ]
        names = sorted(set().union(*records) - FIELD_NAMES) if extras else []
        for name in names:
            values = [r.get(name) for r in records]
            dtype, as_json = extra_dtype(values)
            if as_json:
                result.json_columns.add(name)
                values = [json_text(v) for v in values]
            elif dtype == pl.Float64:
                values = [None if v is None else float(v) for v in values]
            columns.append(pl.Series(name, values, dtype=dtype, strict=True))
        return frame.with_columns(columns) if columns else frame


__all__ = ["BOM", "ChunkReader", "ChunkResult", "LOAD_SCHEMA", "TIMESTAMP_DTYPE"]
