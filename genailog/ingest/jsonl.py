"""Reading canonical JSONL: validate every line, then type it by the schema.

A chunk of lines takes the fast road when it can: msgspec checks the whole chunk against
the schema's compiled twin in one call, and polars parses it with an explicit schema (no
inference). Lines the twin rejects are judged one by one by jsonschema; those it accepts
after all (rare corner cases) are typed through :mod:`genailog.ingest.frame`. Nothing is
dropped or coerced without being counted.
"""

from __future__ import annotations

import gc
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

import msgspec
import polars as pl
from msgspec import UNSET

from genailog.ingest import scanner
from genailog.ingest.frame import canonical_frame, extra_series
from genailog.ingest.report import InvalidRecord
from genailog.ingest.sources import Chunk
from genailog.schema import limits
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS, TIMESTAMP_DTYPE
from genailog.schema.fastcheck import (
    FIELD_NAMES,
    RFC3339_RUST,
    closed_batch,
    closed_record,
    raw_batch,
    unknown_field,
)

_CONTROL = re.compile(r"[\x00-\x1f]")


def _escape_controls(column: pl.Expr) -> pl.Expr:
    """polars writes nested values as JSON text without escaping control characters
    inside strings (a raw newline); its own output has none elsewhere, so escape them."""
    for code in range(32):
        column = column.str.replace_all(chr(code), f"\\u{code:04x}", literal=True)
    return column


def _escape_nested_text(frame: pl.DataFrame) -> pl.DataFrame:
    fixes = [_escape_controls(pl.col(name)).alias(name) for name in sorted(JSON_TEXT_COLUMNS)
             if frame.get_column(name).str.contains(_CONTROL.pattern).any()]
    return frame.with_columns(fixes) if fixes else frame


def _ambiguous_messages(frame: pl.DataFrame) -> bool:
    """True when a message's content may be a list that polars wrote as text with a raw
    control character; text and list cannot be told apart then, so the exact path types it."""
    content = frame.get_column("messages").explode().struct.field("content")
    return bool((content.str.starts_with("[") & content.str.contains(_CONTROL.pattern)).any())


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
    #: The chunk itself when it is exactly its lines, one per row (no blank lines, no CR).
    text: bytes | None = None

    @classmethod
    def split(cls, chunk: bytes, first_line: int) -> Lines:
        parts = chunk.split(b"\n")
        if parts and parts[-1] == b"":
            parts.pop()
        # Regular: every line starts with "{" and none has a CR (no blank lines either).
        starts = chunk.count(b"\n{") + chunk.startswith(b"{") - chunk.endswith(b"\n{")
        if starts == len(parts) and b"\r" not in chunk:
            return cls(parts, list(range(first_line, first_line + len(parts))), chunk)
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
    #: Records (non-blank lines) looked at, valid or not.
    checked: int = 0

    @property
    def records(self) -> int:
        return sum(f.height for f in self.frames)


def _joined(lines: Sequence[bytes]) -> bytes:
    return b"[" + b",".join(lines) + b"]"


@dataclass
class Triage:
    """The twin's verdict on a chunk's lines.

    ``records`` are the decoded records of the ``good`` lines, ``extras`` the user field
    names they carry (a record's value of ``extras[i]`` is its attribute ``x{i}``).
    """

    good: list[int]
    bad: list[int]
    records: list[Any]
    extras: tuple[str, ...]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector off while a chunk is read: decoding makes millions of small
    objects and the checks after it allocate more, so the collector would only walk them
    again and again (it doubled the checks' time); none of them form cycles."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


MAX_EXTRA_FIELDS = 64
_RENAMEABLE = re.compile(r'[^\\"\x00-\x1f]*\Z')


def one_object_per_line(data: bytes) -> bool:
    """Whether every line of ``data`` starts with ``{`` and ends with ``}`` (no blank
    lines, no CR, no surrounding spaces). Then a stream of as many JSON values as lines is
    one value per line: a value cannot run on to the next line, since ``}`` followed by
    ``{`` is never valid inside a value."""
    if not data.startswith(b"{") or b"\r" in data:
        return False
    find, end = data.find, data.find(b"\n")
    while end >= 0:
        if data[end - 1] != 125 or (end + 1 < len(data) and data[end + 1] != 123):
            return False
        end = find(b"\n", end + 1)
    return data.endswith((b"}", b"}\n"))


def _decode_batch(joined: bytes, expected: int, extras: tuple[str, ...] = (), *,
                  lines: bool = False) -> tuple[list[Any], tuple[str, ...]] | None:
    """Decode ``expected`` records at once, learning user field names as they turn up
    (starting from ``extras``); None when some record is rejected for any other reason.
    ``joined`` is a JSON array of them, or with ``lines`` the lines themselves (which must
    pass :func:`one_object_per_line`)."""
    with _collector_paused():
        return _decode_learning(joined, expected, extras, lines)


def _decode_learning(joined: bytes, expected: int, extras: tuple[str, ...],
                     lines: bool) -> tuple[list[Any], tuple[str, ...]] | None:
    while len(extras) <= MAX_EXTRA_FIELDS:
        try:
            records = (closed_record(extras).decode_lines(joined) if lines
                       else closed_batch(extras).decode(joined))
        except msgspec.ValidationError as exc:
            name = unknown_field(exc)
            if name is None or name in extras or not _RENAMEABLE.match(name):
                return None  # msgspec cannot name a field with `\`, `"` or controls
            extras = (*extras, name)
            continue
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return None  # judged line by line (RecursionError: nested too deeply)
        return (records, extras) if len(records) == expected else None
    return None


BLOCK_LINES = 64


def triage(lines: Sequence[bytes], extras: tuple[str, ...] = ()) -> Triage:
    """Which lines the compiled twin accepts; the others go to jsonschema.

    The whole chunk is tried at once; when some line is rejected, blocks of
    :data:`BLOCK_LINES` are, and only the lines of a rejected block one by one. Every
    accepted line is decoded once."""
    decoded = _decode_batch(_joined(lines), len(lines), extras)
    if decoded is not None:
        return Triage(list(range(len(lines))), [], *decoded)
    verdict = Triage([], [], [], extras)
    for start in range(0, len(lines), BLOCK_LINES):
        block = lines[start:start + BLOCK_LINES]
        if not _accept(verdict, _joined(block), range(start, start + len(block))):
            for index in range(start, start + len(block)):
                if not _accept(verdict, b"[" + lines[index] + b"]", range(index, index + 1)):
                    verdict.bad.append(index)
    return verdict


def _accept(verdict: Triage, joined: bytes, indices: range) -> bool:
    """Decode ``joined`` (the lines ``indices``); on success, add them to ``verdict``."""
    decoded = _decode_batch(joined, len(indices), verdict.extras)
    if decoded is None:
        return False
    records, verdict.extras = decoded
    verdict.good.extend(indices)
    verdict.records.extend(records)
    return True


class ChunkReader:
    """Turns chunks of one file into typed frames and invalid-record entries."""

    def __init__(self, file: str, *, build_frames: bool = True,
                 columns: Sequence[str] | None = None) -> None:
        self.file = file
        self.build_frames = build_frames
        self.extras: tuple[str, ...] = ()  # user fields seen so far: the next chunk has them
        #: Only these columns in the frames (scalar canonical fields, see
        #: :func:`projection`); None for every column and the user's own fields.
        self.columns = None if columns is None else tuple(columns)

    def read(self, chunk: Chunk, verdicts: scanner.Verdicts | None = None) -> ChunkResult:
        """Records and invalid lines of a chunk. A line over the length limit is one
        invalid record however the chunk was read (the chunk producers of
        :mod:`genailog.ingest.sources` replace such lines already; this covers callers
        that read their own ranges). ``verdicts`` are the scanner's on the chunk's lines
        when the caller has them already (:func:`genailog.ingest.scanner.verdicts`; only
        for a reader that builds no frames). Which lines are invalid never depends on
        :attr:`columns`."""
        bounded = limits.bound_lines(chunk.data)
        if bounded is not chunk.data:
            chunk, verdicts = replace(chunk, data=bounded), None
        with _collector_paused():
            result = self._read(chunk, verdicts)
        if self.columns is not None:
            result.frames = [frame.select(self.columns) for frame in result.frames]
            result.json_columns = set()
        return result

    def _read(self, chunk: Chunk, verdicts: scanner.Verdicts | None) -> ChunkResult:
        if scanner.SCANNER is not None and chunk.data:
            scanned = _Scanned(self, chunk.data, chunk.first_line, chunk.final, verdicts)
            if self.columns is not None and self.build_frames:
                projected = scanned.projected(self.columns)
                if projected is not None:
                    return projected
            if (full := scanned.read()) is not None:
                return full
        return self._read_whole(chunk) or self._read_lines(chunk.data, chunk.first_line,
                                                           chunk.final)

    def _read_whole(self, chunk: Chunk) -> ChunkResult | None:
        """The common case, without splitting lines: every line is one valid record.
        None when that does not hold, and the chunk must be read line by line."""
        data = chunk.data
        if not data or data[:1].isspace():
            return None  # blank or indented lines: the line-by-line path knows them
        terminated = data.endswith(b"\n")
        count = chunk.newlines + (0 if terminated else 1)
        if one_object_per_line(data):  # decoded in place, no copy of the chunk
            decoded = _decode_batch(data, count, self.extras, lines=True)
        else:
            commas = memoryview(data.replace(b"\n", b","))
            decoded = _decode_batch(b"".join((b"[", commas[:-1] if terminated else commas,
                                              b"]")), count, self.extras)
        if decoded is None:
            return None
        records, self.extras = decoded
        result = ChunkResult(checked=count)
        frame, late = self._typed(data, records, self.extras, result)
        if late:
            return None  # a timestamp like Feb 30: judged line by line
        if frame is not None:
            result.frames.append(frame)
        return result

    def _read_lines(self, chunk: bytes, first_line: int, final: bool) -> ChunkResult:
        lines = Lines.split(chunk, first_line)
        result = ChunkResult(checked=len(lines.items))
        if not lines.items:
            return result
        verdict = triage(lines.items, self.extras)
        self.extras = verdict.extras
        exact: list[tuple[int, dict[str, Any]]] = []
        last_open = final and not chunk.endswith(b"\n")
        for index in verdict.bad:
            self._judge(lines, index, last_open and index == len(lines.items) - 1, result, exact)
        late: list[int] = []
        if verdict.good:
            good = [lines.items[i] for i in verdict.good]
            frame, late = self._typed(b"\n".join(good), verdict.records, verdict.extras, result)
            for position in late:
                self._judge(lines, verdict.good[position], False, result, exact)
            if frame is not None and not exact:
                result.frames.append(frame)
        if exact and self.build_frames:
            # Some valid records need the exact path: type the whole chunk that way, so
            # that records keep their order.
            late_lines = {verdict.good[p] for p in late} if verdict.good else set()
            fast = [i for i in verdict.good if i not in late_lines]
            by_line = dict(exact)
            if fast:
                values = raw_batch.decode(_joined([lines.items[i] for i in fast]))
                by_line |= dict(zip(fast, values, strict=True))
            frame, json_columns = canonical_frame([by_line[i] for i in sorted(by_line)])
            result.frames = [frame]
            result.json_columns = json_columns
        return result

    def _judge(self, lines: Lines, index: int, last_open: bool, result: ChunkResult,
               exact: list[tuple[int, dict[str, Any]]]) -> None:
        from genailog.schema.diagnose import diagnose  # jsonschema: only for rejected lines

        value, problems = diagnose(lines.items[index], last_unterminated=last_open)
        if problems:
            result.invalid.append(InvalidRecord(
                self.file, lines.numbers[index], tuple((p.path, p.message) for p in problems),
                raw=lines.items[index]))
        else:
            exact.append((index, value))

    def _typed(self, text: bytes, records: list[Any], extras: tuple[str, ...],
               result: ChunkResult) -> tuple[pl.DataFrame | None, list[int]]:
        """Type accepted records (``text`` is their lines); also the positions of records
        for jsonschema and :mod:`genailog.schema.limits` to judge: a timestamp that breaks
        the RFC 3339 pattern, names no real instant (e.g. Feb 30) or falls outside the
        years 1-9999 in UTC, inconsistent token counts, a user field beyond the limits."""
        stamps = pl.Series([r.timestamp for r in records], dtype=pl.String)
        parsed = pl.select(
            pl.when(pl.lit(stamps).str.contains(RFC3339_RUST))
            .then(parse_timestamps(pl.lit(stamps)))).to_series()
        parsed = parsed.set(~parsed.dt.year().is_between(1, 9999).fill_null(True), None)
        late = parsed.is_null().arg_true().to_list()
        from genailog.ingest.breaches import breaches  # numpy: only on the twin's road

        flagged = breaches(records, extras, text)
        if flagged:
            late = sorted(set(late) | flagged)
            parsed = parsed.scatter(sorted(flagged), None)
        if not self.build_frames:
            return None, late
        try:
            frame = pl.read_ndjson(io.BytesIO(text), schema=LOAD_SCHEMA)
        except pl.exceptions.PolarsError:
            frame = None  # e.g. 430.0 in an integer field: valid, but not to polars' parser
        if frame is None or _ambiguous_messages(frame):
            return self._exact(text, parsed.is_null(), result), late
        frame = _escape_nested_text(frame.with_columns(parsed.alias("timestamp")))
        if extras:  # the values of records set aside (late) do not type a column
            frame = frame.with_columns(_extra_columns(records, extras, result, set(late)))
        return (frame.filter(parsed.is_not_null()) if late else frame), late

    @staticmethod
    def _exact(text: bytes, late: pl.Series, result: ChunkResult) -> pl.DataFrame:
        """Type accepted lines through Python values (the rare corner cases)."""
        records = raw_batch.decode(b"[" + text.strip().replace(b"\n", b",") + b"]")
        frame, json_columns = canonical_frame(
            [r for r, bad in zip(records, late, strict=True) if not bad])
        result.json_columns |= json_columns
        return frame


class _Scanned:
    """A chunk read with the C scanner's verdicts (:mod:`genailog.ingest.scanner`).

    The lines it vouches for are typed by polars straight from their text, with no
    decode in Python; the lines it hands on are judged as before (the compiled twin, then
    jsonschema). When the twin accepts a line the scanner handed on (an escaped key, a
    timestamp near year 9999, ...), or polars cannot type what the scanner passed, the
    chunk goes the twin's road instead (:meth:`read` returns None), so the result never
    depends on whether the scanner is there.
    """

    def __init__(self, reader: ChunkReader, data: bytes, first_line: int, final: bool,
                 verdicts: scanner.Verdicts | None = None) -> None:
        self.reader, self.data, self.first_line, self.final = reader, data, first_line, final
        self.verdicts = None if reader.build_frames else verdicts

    def read(self) -> ChunkResult | None:
        blob = None
        found = self.verdicts
        if found is None:
            flags, blob, spans = scanner.SCANNER.scan(self.data, self.reader.build_frames)
            found = scanner.Verdicts(flags, spans)
        if found.clean:  # every line is a valid record: the common case
            users = None if blob is None else msgspec.json.decode(blob)
            extras = self.reader.extras if users is None else _learned(self.reader.extras,
                                                                       users)
            return self._typed(self.data, users, extras,
                               ChunkResult(checked=len(found.flags)))
        handed = found.handed()  # (line index in the chunk, start, end)
        taken = ChunkResult()  # the twin's road's frame of the lines it takes
        lines, raw, twin, frame, late = self._twin_road(handed, taken)
        if twin.good:
            if self.reader.build_frames and len(late) < len(twin.good):
                return None  # a valid line only the twin's road types: that road
            if frame is not None:
                taken.frames.append(frame)
        result, exact = self._judged(found.flags, len(handed), lines, raw, twin, late)
        if not self.reader.build_frames:
            return result
        return self._frames(found.flags, handed, blob, lines, raw, twin, taken, exact, result)

    def projected(self, columns: tuple[str, ...]) -> ChunkResult | None:
        """Only ``columns`` of the records, typed by the scanner in the pass that judges
        the lines (no other field is decoded). The handed-on lines are judged as on the
        other roads; those valid after all (an escaped key, a year near 9999) are typed
        on the twin's road or through Python, and take their places among the scanner's
        rows. None when a value's text is ambiguous to the scanner: the chunk is then read
        in full and narrowed."""
        got = scanner.typed(self.data, columns)
        if got is None or got.columns is None:
            return None
        found, typed = got.verdicts, got.columns
        if found.clean:
            return ChunkResult([pl.DataFrame(typed)], checked=len(found.flags))
        handed = found.handed()
        lines, raw, twin, taken, late = self._twin_road(handed, ChunkResult())
        result, exact = self._judged(found.flags, len(handed), lines, raw, twin, late)
        frame = pl.DataFrame(typed)
        pieces: list[tuple[list[int], pl.DataFrame]] = []
        if taken is not None and taken.height:
            set_aside = set(late)
            pieces.append(([raw[i] for p, i in enumerate(twin.good) if p not in set_aside],
                           taken.select(columns)))
        if exact:  # valid records only jsonschema accepts
            pieces.append(([raw[index] for index, _ in exact],
                           canonical_frame([value for _, value in exact])[0].select(columns)))
        if pieces:  # every record in the order of its line
            vouched = [i for i, flag in enumerate(found.flags) if not flag]
            order = pl.Series("_line", vouched + [i for at, _ in pieces for i in at],
                              dtype=pl.Int64)
            frame = (pl.concat([frame, *(piece for _, piece in pieces)])
                     .with_columns(order).sort("_line").drop("_line"))
        result.frames.append(frame)
        return result

    def _twin_road(self, handed: list[tuple[int, int, int]], taken: ChunkResult,
                   ) -> tuple[Lines, list[int], Triage, pl.DataFrame | None, list[int]]:
        """The handed-on lines, each one's index in the chunk, and the twin's verdict on
        them; for the lines it takes, its road's frame and the positions of those its road's
        own rules set aside (``taken`` gathers that road's JSON columns)."""
        lines, raw = self._handed_lines(handed)
        twin = triage(lines.items, self.reader.extras)
        if not twin.good:
            return lines, raw, twin, None, []
        frame, late = self.reader._typed(b"\n".join(lines.items[i] for i in twin.good),
                                         twin.records, twin.extras, taken)
        return lines, raw, twin, frame, late

    def _judged(self, flags: bytes, handed: int, lines: Lines, raw: list[int], twin: Triage,
                late: list[int]) -> tuple[ChunkResult, list[tuple[int, dict[str, Any]]]]:
        """The handed-on lines the twin refused (``twin.bad``), then those its road's own
        rules set aside (``late``), judged by jsonschema in that order: the invalid ones
        go to the result, the valid ones (rare) are returned."""
        result = ChunkResult(checked=len(flags) - handed + len(lines.items))
        exact: list[tuple[int, dict[str, Any]]] = []
        last = self._last_record(flags, raw)
        last_open = self.final and not self.data.endswith(b"\n")
        for index in twin.bad:
            self.reader._judge(lines, index, last_open and raw[index] == last, result, exact)
        for position in late:  # after the rejected lines, as on the twin's road
            self.reader._judge(lines, twin.good[position], False, result, exact)
        return result, exact

    def _frames(self, flags: bytes, handed: list[tuple[int, int, int]], blob: bytes | None,
                lines: Lines, raw: list[int], twin: Triage, taken: ChunkResult,
                exact: list[tuple[int, dict[str, Any]]], result: ChunkResult,
                ) -> ChunkResult | None:
        """The frame of a chunk whose handed-on lines are judged: the vouched-for lines
        typed from their text, or every valid record through Python when jsonschema found
        valid records the twin could not type (``exact``). ``taken`` holds the twin's
        road's frame of the handed-on lines it decoded (empty: its checks rejected all)."""
        if len(handed) == len(flags) and not exact:
            if twin.good:  # all rejected by the checks: the twin's road's empty frame
                result.frames.extend(taken.frames)
                result.json_columns |= taken.json_columns
                self.reader.extras = twin.extras
            return result
        sure = [i for i, flag in enumerate(flags) if not flag]
        # The twin's road learns user fields from every line it decodes, those its checks
        # then reject included (their columns stay empty): learn them in the same order.
        users = [{} for _ in flags] if blob is None else msgspec.json.decode(blob)
        if twin.good:
            decoded = raw_batch.decode(_joined([lines.items[i] for i in twin.good]))
            for index, record in zip(twin.good, decoded, strict=True):
                users[raw[index]] = {k: None for k in record if k not in FIELD_NAMES}
        extras = _learned(self.reader.extras, users)
        if not exact:
            return self._typed(_without(self.data, handed), [users[i] for i in sure],
                               extras, result)
        self.reader.extras = extras  # valid records the twin cannot type: through Python
        values = {raw[index]: value for index, value in exact}
        if sure:
            chunk_lines = self.data.split(b"\n")
            decoded = raw_batch.decode(_joined([chunk_lines[i] for i in sure]))
            values |= dict(zip(sure, decoded, strict=True))
        frame, json_columns = canonical_frame([values[i] for i in sorted(values)])
        result.frames.append(frame)
        result.json_columns |= json_columns
        return result

    def _handed_lines(self, handed: list[tuple[int, int, int]]) -> tuple[Lines, list[int]]:
        """The handed-on lines that are not blank (a CR before the newline dropped), as
        :class:`Lines` with their line numbers, and each one's index in the chunk."""
        items, numbers, raw = [], [], []
        for index, start, end in handed:
            line = self.data[start:end].removesuffix(b"\r")
            if line.strip():
                items.append(line)
                numbers.append(self.first_line + index)
                raw.append(index)
        return Lines(items, numbers), raw

    @staticmethod
    def _last_record(flags: bytes, raw: list[int]) -> int:
        """The index in the chunk of its last non-blank line (blank lines are handed on
        and left out of ``raw``)."""
        kept = set(raw)
        last = len(flags) - 1
        while last >= 0 and flags[last] and last not in kept:
            last -= 1
        return last

    def _typed(self, text: bytes, users: list[dict[str, Any]] | None,
               extras: tuple[str, ...], result: ChunkResult) -> ChunkResult | None:
        """``result`` with the frame of ``text`` (vouched-for lines; ``users`` their user
        fields, one dict a line, None when none has any; ``extras`` every user field
        learned so far); None when polars cannot type them as the twin's road would."""
        if not self.reader.build_frames:
            return result
        if len(extras) > MAX_EXTRA_FIELDS:
            return None
        try:
            frame = pl.read_ndjson(io.BytesIO(text), schema=LOAD_SCHEMA)
        except pl.exceptions.PolarsError:
            return None  # e.g. 430.0 in an integer field: the twin's road types it
        if _ambiguous_messages(frame):
            return None
        stamps = parse_timestamps(pl.col("timestamp"))
        frame = frame.with_columns(stamps)
        if frame.get_column("timestamp").null_count():
            return None
        frame = _escape_nested_text(frame)
        if extras:
            frame = frame.with_columns(
                _user_columns(extras, users, frame.height, result))
        self.reader.extras = extras
        result.frames.append(frame)
        return result


def _without(data: bytes, handed: list[tuple[int, int, int]]) -> bytes:
    """``data`` without the ``handed`` lines ((index, start, end), each with its
    newline)."""
    view, pieces, start = memoryview(data), [], 0
    for _, begin, end in handed:
        pieces.append(view[start:begin])
        start = end + 1
    pieces.append(view[start:])
    return b"".join(pieces)


def _learned(extras: tuple[str, ...], users: list[dict[str, Any]]) -> tuple[str, ...]:
    """``extras`` followed by the user fields of ``users`` not among them, in the order
    they first appear (the order in which the twin learns them)."""
    return tuple(dict.fromkeys(chain(extras, chain.from_iterable(users))))


def _user_columns(extras: tuple[str, ...], users: list[dict[str, Any]] | None, height: int,
                  result: ChunkResult) -> list[pl.Series]:
    """The user's own fields of vouched-for lines (``users``: each line's, from the
    scanner; None when no line has any), typed as :func:`_extra_columns` types them."""
    columns = []
    for name in extras:
        values = [None] * height if users is None else [u.get(name) for u in users]
        series, as_json = extra_series(name, values)
        if as_json:
            result.json_columns.add(name)
        columns.append(series)
    return columns


def _attribute(records: list[Any], name: str) -> list[Any]:
    """Every record's attribute ``name``, None where a record lacks it (left out of the
    line, or decoded before the field was seen)."""
    from genailog.ingest.breaches import column

    values = column(records, name)
    if UNSET in values:
        values = [None if v is UNSET else v for v in values]
    return values


def _extra_columns(records: list[Any], extras: tuple[str, ...], result: ChunkResult,
                   flagged: set[int]) -> list[pl.Series]:
    """The user's own fields, each typed from every one of its values (those of
    ``flagged`` records, which are judged and filtered out, left null: a record set aside
    never decides a column's type)."""
    columns = []
    for index, name in enumerate(extras):
        values = _attribute(records, f"x{index}")
        for position in flagged:
            values[position] = None
        series, as_json = extra_series(name, values)
        if as_json:
            result.json_columns.add(name)
        columns.append(series)
    return columns


__all__ = ["ChunkReader", "ChunkResult", "LOAD_SCHEMA", "TIMESTAMP_DTYPE"]
