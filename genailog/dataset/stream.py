"""Records as they were logged, redacted line by line: the export path for genailog JSONL.

When an export keeps every valid record of genailog JSONL files and writes JSONL, there is
no need to build a table at all. Each piece of a file is validated (the same compiled twin
and jsonschema verdicts as every command), and each valid line is written back:

* byte for byte, when it holds nothing to redact;
* decoded, redacted and encoded again when it does: keys keep their order and numbers keep
  their exact value (floats are read as decimals), only strings change.

Which lines may hold something to redact is decided in polars (Rust regexes) over the raw
lines: the union of the redaction triggers, plus every line with a ``\\u`` escape (an
escaped character could hide a match from a test on raw text). Those lines are decoded and
their strings tested again per field, exactly as :func:`redact.redact_frame` does, so only
the detectors a field triggers run in Python.

Pieces of a large plain file are processed in worker processes when the CLI allows them
(:mod:`genailog.ingest.parallel`); the output and its sha256 are written in file order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import IO, Any

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from genailog.dataset.redact import trigger_codes
from genailog.errors import InputError
from genailog.ingest import parallel
from genailog.ingest.report import InvalidRecord
from genailog.ingest.sources import BOM, Chunk, Source, newline_cuts, numbered_chunks, size_of
from genailog.redaction import PREFILTER, RecordRedactor, detectors_for
from genailog.schema.columns import CANONICAL_DTYPES

#: Pieces of about this many bytes are validated and redacted at a time.
PIECE_BYTES = 16 * 1024 * 1024

_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # numbers keep their exact value
_ENCODER = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True)
class RedactSpec:
    """What to redact in a raw record: the named canonical fields, in this order, then
    every user field (a field outside the schema) not in ``keep``, by name (the order of
    :func:`redact.resolve_fields`, so that placeholders are numbered alike)."""

    fields: tuple[str, ...]
    keep: frozenset[str] = frozenset()

    def cells(self, record: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for name in self.fields:
            value = record.get(name)
            if value is not None:
                yield name, value
        users = [n for n in record if n not in CANONICAL_DTYPES and n not in self.keep]
        for name in sorted(users) if len(users) > 1 else users:
            value = record[name]
            if value is not None:
                yield name, value


def _strings(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, list):
        for item in value:
            _strings(item, into)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, into)


def _trigger_codes(texts: list[str]) -> list[int]:
    """For each text, a bit per trigger it matches; the union of triggers first, so that
    most texts are tested once."""
    series = pl.Series(texts, dtype=pl.String)
    codes = np.zeros(len(texts), dtype=np.int64)
    rows = np.flatnonzero(series.str.contains(PREFILTER).to_numpy())
    if len(rows):
        codes[rows] = trigger_codes(series.gather(rows))
    result: list[int] = codes.tolist()
    return result


def redact_lines(lines: Sequence[bytes], spec: RedactSpec,
                 counts: Counter[str]) -> dict[int, bytes]:
    """The lines (JSON records) that redaction changes, by position, re-encoded.

    Numbering of placeholders runs per record over ``spec.cells`` in order."""
    records: list[dict[str, Any]] = [_DECODER.decode(line) for line in lines]
    owners: list[tuple[int, str]] = []
    texts: list[str] = []
    for index, record in enumerate(records):
        for name, value in spec.cells(record):
            found: list[str] = []
            _strings(value, found)
            if found:
                owners.append((index, name))
                texts.append("\n".join(found))
    changed: dict[int, bytes] = {}
    if not texts:
        return changed
    wanted: dict[int, list[tuple[str, int]]] = {}
    for (index, name), code in zip(owners, _trigger_codes(texts), strict=True):
        if code:
            wanted.setdefault(index, []).append((name, code))
    for index, cells in wanted.items():
        record = records[index]
        redactor = RecordRedactor(counts)
        for name, code in cells:
            redactor.detectors = detectors_for(code)
            record[name] = redactor.walk(record[name])
        if redactor.per_kind:
            changed[index] = _ENCODER.encode(record)
    return changed


# ---------------------------------------------------------------- pieces


#: A piece of output: a span ``(start, end)`` of the piece's bytes, or new bytes.
Segment = tuple[int, int] | bytes


def buffers(segments: list[Segment], data: bytes | memoryview) -> Iterator[bytes | memoryview]:
    """The output that ``segments`` describe over ``data`` (the piece's bytes)."""
    view = memoryview(data)
    for segment in segments:
        yield view[segment[0]:segment[1]] if isinstance(segment, tuple) else segment


@dataclass
class Piece:
    """What one piece of a file gave: how its records were counted, and its output as
    segments. Workers send segments (spans of the piece, and the text of redacted lines)
    rather than output, so a piece's bytes cross between processes once, as a file read."""

    newlines: int = 0
    records: int = 0
    invalid: list[InvalidRecord] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    records_changed: int = 0
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Selection:
    """What a piece gives each part (segments of output and a record count), how many of
    its records were valid, and what redaction replaced."""

    parts: list[tuple[list[Segment], int]]
    records: int
    counts: Counter[str]
    changed: int


def _line_starts(data: bytes) -> list[int]:
    """Where each line starts, and the end of the data last."""
    starts = [0]
    find, position = data.find, data.find(b"\n")
    while position >= 0:
        starts.append(position + 1)
        position = find(b"\n", position + 1)
    if starts[-1] != len(data):
        starts.append(len(data))
    return starts


@dataclass
class _Lines:
    """The lines of a piece: where they start, which hold records, and whether every line
    starts with ``{`` and none has a CR (then no line is blank)."""

    starts: list[int]
    kept: list[int]
    regular: bool
    cr: bool

    @classmethod
    def of(cls, data: bytes, bad: set[int], starts: list[int] | None = None) -> _Lines:
        """``bad``: indices of lines that are not records (invalid)."""
        starts = _line_starts(data) if starts is None else starts
        lines = range(len(starts) - 1)
        cr = b"\r" in data
        regular = not cr and all(data[i] == 123 for i in starts[:-1])  # "{"
        if regular:
            kept = [i for i in lines if i not in bad] if bad else list(lines)
        else:
            kept = [i for i in lines if i not in bad and data[starts[i]:starts[i + 1]].strip()]
        return cls(starts, kept, regular, cr)

    @property
    def count(self) -> int:
        return len(self.starts) - 1

    def content(self, data: bytes, index: int) -> bytes:
        return data[self.starts[index]:self.starts[index + 1]].rstrip(b"\r\n")

    def redacted(self, data: bytes, chosen: list[int], spec: RedactSpec,
                 counts: Counter[str]) -> dict[int, bytes]:
        """The new text of the ``chosen`` lines that redaction changes, by line."""
        every = self.regular and len(chosen) == self.count
        candidates = _candidates(data, self.starts, chosen, every)
        found = redact_lines([self.content(data, i) for i in candidates], spec, counts)
        return {candidates[k]: line for k, line in found.items()}

    def gather(self, data: bytes, chosen: list[int], changed: dict[int, bytes]) -> list[Segment]:
        """Lines ``chosen`` (in order), each ending with LF: runs of unchanged lines as
        spans, changed lines (and, with CRs, every line) as new text."""
        starts = self.starts
        out: list[Segment] = []
        if not self.cr and len(chosen) == self.count:  # every line: only changes break runs
            position = 0
            for i in sorted(changed):
                if starts[i] > position:
                    out.append((position, starts[i]))
                out.append(changed[i] + b"\n")
                position = starts[i + 1]
            if position < len(data):
                out.append((position, len(data)))
                if not data.endswith(b"\n"):
                    out.append(b"\n")
            return out
        first = last = -2
        for i in chosen:
            if i == last + 1 and not self.cr and i not in changed:
                last = i
                continue
            if first >= 0:
                out.append((starts[first], starts[last + 1]))
                first = last = -2
            if self.cr or i in changed:
                out.append((changed.get(i) or self.content(data, i)) + b"\n")
            else:
                first = last = i
        if first >= 0:
            out.append((starts[first], starts[last + 1]))
            if last == self.count - 1 and not data.endswith(b"\n"):
                out.append(b"\n")
        return out


def _candidates(data: bytes, starts: list[int], chosen: list[int], every: bool) -> list[int]:
    """The ``chosen`` lines that may hold something to redact (``every``: all lines are
    chosen and none has a CR, so they are read in place)."""
    if every:  # the lines as one Arrow array over the piece's own buffer, no copies
        offsets = pa.py_buffer(np.asarray(starts, dtype=np.int64))
        array = pa.LargeStringArray.from_buffers(len(starts) - 1, offsets, pa.py_buffer(data))
        series = pl.Series(pl.from_arrow(array))
    else:
        series = pl.Series([data[starts[i]:starts[i + 1]] for i in chosen], dtype=pl.Binary
                           ).cast(pl.String)
    hit = (series.str.contains(PREFILTER) | series.str.contains("\\u", literal=True)).to_numpy()
    return [chosen[i] for i in np.flatnonzero(hit).tolist()]


def edit_piece(data: bytes, first_line: int, final: bool, file: str,
               spec: RedactSpec | None) -> Piece:
    """Validate a piece of whole lines (numbered from ``first_line``; no BOM) and say how
    its valid records become output lines, redacted by ``spec`` (None: not redacted)."""
    from genailog.ingest.jsonl import ChunkReader

    starts = _line_starts(data)
    newlines = len(starts) - 1 - (1 if data and not data.endswith(b"\n") else 0)
    piece = Piece(newlines=newlines)
    result = ChunkReader(file, build_frames=False).read(Chunk(data, first_line, newlines, final))
    piece.invalid = result.invalid
    lines = _Lines.of(data, {r.line - first_line for r in result.invalid}, starts)
    piece.records = len(lines.kept)
    changed: dict[int, bytes] = {}
    if spec is not None and lines.kept:
        changed = lines.redacted(data, lines.kept, spec, piece.counts)
        piece.records_changed = len(changed)
    piece.segments = lines.gather(data, lines.kept, changed)
    return piece


def _read_range(path: str, start: int, end: int, digest: Any = None) -> bytes:
    """Bytes ``start:end`` of a file (BOM removed), fed to ``digest`` as read."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    if digest is not None:
        digest.update(data)
    return data.removeprefix(BOM) if start == 0 else data


def _piece_of_file(path: str, start: int, end: int, final: bool,
                   spec: RedactSpec | None) -> Piece:
    """A worker's task: one newline-aligned range of a plain file."""
    return edit_piece(_read_range(path, start, end), 1, final, path, spec)


def select_piece(data: bytes, first_line: int, bad: set[int], chosen: np.ndarray,
                 parts: int, spec: RedactSpec | None) -> Selection:
    """The records of a piece already validated, for the parts that chose them.

    The piece's valid records are its lines that are neither blank nor in ``bad`` (by
    absolute number; lines are numbered from ``first_line``); ``chosen`` holds the part
    of each (or -1), in order, and may run past the piece. Redaction by ``spec``."""
    lines = _Lines.of(data, {n - first_line for n in bad if n >= first_line})
    kept = lines.kept
    if len(kept) > len(chosen):
        raise InputError("the input holds more records than when it was read; it changed "
                         "during the export")
    chosen = chosen[:len(kept)]
    picked = np.flatnonzero(chosen >= 0)
    selected = [kept[j] for j in picked.tolist()]
    counts: Counter[str] = Counter()
    changed: dict[int, bytes] = {}
    if spec is not None and selected:
        changed = lines.redacted(data, selected, spec, counts)
    owners = chosen[picked].tolist()
    out = []
    for part in range(parts):
        mine = [i for i, owner in zip(selected, owners, strict=True) if owner == part]
        out.append((lines.gather(data, mine, changed), len(mine)))
    return Selection(out, len(kept), counts, len(changed))


def _scan_range(path: str, start: int, end: int) -> tuple[int, int, int]:
    """A worker's first task when selecting: the range's newlines, lines and blank lines."""
    data = _read_range(path, start, end)
    lines = _Lines.of(data, set())
    newlines = lines.count - (1 if data and not data.endswith(b"\n") else 0)
    return newlines, lines.count, lines.count - len(lines.kept)


def _select_range(path: str, start: int, end: int, first_line: int, bad: set[int],
                  chosen: np.ndarray, parts: int, spec: RedactSpec | None) -> Selection:
    """A worker's second task when selecting: one range's records for their parts."""
    return select_piece(_read_range(path, start, end), first_line, bad, chosen, parts, spec)


def selections(source: Source, bad: set[int], part_of: np.ndarray, first_index: int,
               parts: int, spec: RedactSpec | None) -> Iterator[tuple[bytes, Selection]]:
    """The pieces of a genailog JSONL file read again, each with what it gives each part
    (``part_of`` from record ``first_index`` on); on every core when allowed."""
    from genailog.ingest.progress import report

    size = size_of(source)
    count = parallel.workers()
    index = first_index
    if size is not None and count >= 2 and size >= 2 * PIECE_BYTES:
        ranges = newline_cuts(source.name, size, PIECE_BYTES)
        workers = min(count, len(ranges))
        executor = parallel.pool(workers)
        tasks: list[tuple[Any, tuple[Any, ...]]] = []
        try:
            scans = list(parallel.ordered(executor, source.name, [
                (_scan_range, (source.name, start, end)) for start, end in ranges], workers,
                close=False))
            line = 1
            for (start, end), (newlines, lines, blank) in zip(ranges, scans, strict=True):
                local = {n for n in bad if line <= n < line + lines}
                records = lines - blank - len(local)
                tasks.append((_select_range, (source.name, start, end, line, local,
                                              part_of[index:index + records], parts, spec)))
                index += records
                line += newlines
        except BaseException:
            executor.shutdown(cancel_futures=True)
            raise
        for (start, end), selection in zip(
                ranges, parallel.ordered(executor, source.name, tasks, workers), strict=True):
            yield _read_range(source.name, start, end), selection
            report(source.name, end, size)
        return
    with source.open() as stream:
        for chunk in numbered_chunks(stream, PIECE_BYTES, source.name, size):
            selection = select_piece(chunk.data, chunk.first_line, bad, part_of[index:],
                                     parts, spec)
            index += selection.records
            yield chunk.data, selection


# ---------------------------------------------------------------- files


def pieces(source: Source, stream: IO[bytes] | Any, spec: RedactSpec | None,
           digest: Any = None, piece_bytes: int | None = None,
           ) -> Iterator[tuple[bytes | memoryview, Piece]]:
    """A genailog JSONL source's pieces in order, each with its bytes (BOM removed), line
    numbers absolute; on every core when the file is large and workers are allowed.
    ``digest`` (a hashlib object) is fed the bytes as read, BOM included."""
    from genailog.ingest.progress import report

    piece_bytes = piece_bytes or PIECE_BYTES
    size = size_of(source)
    count = parallel.workers()
    if size is not None and count >= 2 and size >= 2 * piece_bytes:
        ranges = newline_cuts(source.name, size, piece_bytes)
        done = offset = 0
        # One buffer for every piece: the main process reads 1 GB per GB of input, and
        # fresh buffers would be faulted in page by page each time.
        buffer = memoryview(bytearray(max(end - start for start, end in ranges)))
        with open(source.name, "rb") as handle:
            for (start, end), piece in zip(ranges, _spread(source.name, ranges, spec, count),
                                           strict=True):
                piece.invalid = [replace(r, line=r.line + offset) for r in piece.invalid]
                offset += piece.newlines
                done += end - start
                handle.seek(start)
                read = buffer[:handle.readinto(buffer[:end - start])]
                if digest is not None:
                    digest.update(read)
                yield (read[len(BOM):] if start == 0 and read[:len(BOM)] == BOM else read), piece
                report(source.name, done, size)
        return
    for chunk in numbered_chunks(stream, piece_bytes, source.name, size, strip_bom=False):
        if digest is not None:
            digest.update(chunk.data)
        data = chunk.data.removeprefix(BOM) if chunk.first_line == 1 else chunk.data
        yield data, edit_piece(data, chunk.first_line, chunk.final, source.name, spec)


def _spread(path: str, ranges: list[tuple[int, int]], spec: RedactSpec | None,
            count: int) -> Iterator[Piece]:
    tasks = [(_piece_of_file, (path, start, end, number == len(ranges) - 1, spec))
             for number, (start, end) in enumerate(ranges)]
    workers = min(count, len(ranges))
    return parallel.ordered(parallel.pool(workers), path, tasks, workers)


__all__ = ["Piece", "RedactSpec", "Selection", "buffers", "edit_piece", "pieces",
           "redact_lines", "select_piece", "selections"]
