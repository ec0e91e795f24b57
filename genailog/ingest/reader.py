""":func:`read_logs`, the one ingest gateway every command uses.

It finds the files, detects each one's format, validates every record, types the columns
by the schema (never by inference), applies the ``--on-invalid`` policy, and returns the
logs as a LazyFrame in canonical columns together with a report of what was read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import polars as pl

from genailog.errors import InputError, InvalidRecordError, UsageError
from genailog.ingest import cache, parallel, partitions, progress
from genailog.ingest.context import ReadContext, ReadOptions, current_options
from genailog.ingest.detect import detect
from genailog.ingest.parquet import open_scan, read_parquet, rows_as_jsonl, shape_of
from genailog.ingest.policy import InvalidPolicy
from genailog.ingest.report import FileReport, InvalidRecord, ReadReport
from genailog.ingest.sources import (
    BOM,
    CHUNK_BYTES,
    Prefixed,
    Source,
    discover,
    numbered_chunks,
    open_peeked,
    size_of,
)
from genailog.schema.columns import CANONICAL_DTYPES, SCALAR_COLUMNS

if TYPE_CHECKING:  # the JSONL parser (and numpy under it) loads only when a file needs it:
    # Parquet and the columnar cache start faster without it
    from genailog.ingest.jsonl import ChunkResult


@dataclass
class Logs:
    """Logs in canonical columns, and what was read to get them."""

    frame: pl.LazyFrame
    report: ReadReport

    def collect(self) -> pl.DataFrame:
        return self.frame.collect()


@dataclass
class _Parts:
    """The frames read so far, each with the user fields it holds as JSON text."""

    frames: list[pl.LazyFrame] = field(default_factory=list)
    json_names: list[set[str]] = field(default_factory=list)

    def add(self, frame: pl.LazyFrame | pl.DataFrame, json_columns: set[str]) -> None:
        self.frames.append(frame.lazy())
        self.json_names.append(set(json_columns))


def apply_policy(invalid: list[InvalidRecord], policy: InvalidPolicy, report: ReadReport) -> None:
    """Raise on the first invalid record under ``fail``; otherwise count them."""
    if not invalid:
        return
    if policy.mode == "fail":
        first = min(invalid, key=lambda r: r.line)
        more = len(invalid) - 1
        hint = f"{more} more invalid record(s) in this part of the file; " if more else ""
        raise InvalidRecordError(
            first.file, first.line, first.message,
            hint=hint + "fix the record, or pass --on-invalid skip (or quarantine=PATH) "
            "to set invalid records aside")
    report.invalid.extend(sorted(invalid, key=lambda r: (r.file, r.line)))


def read_logs(
    paths: str | Path | Sequence[str | Path],
    *,
    on_invalid: str | InvalidPolicy = "fail",
    input_format: str = "auto",
    stdin: BinaryIO | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    options: ReadOptions | None = None,
    require_calls: bool = True,
    prune: partitions.Prune | None = None,
    columns: Collection[str] | None = None,
) -> Logs:
    """Read log files into canonical columns.

    ``paths`` are files, directories (recursive), globs or ``-`` (stdin); JSONL (also
    ``.gz``/``.zst``), Parquet, and the formats of :mod:`genailog.ingest.formats`.
    ``options`` sets the field map, default model and timezone for logs that are not
    canonical. ``prune`` skips partitioned files unopened (:mod:`.partitions`: build it
    with :func:`genailog.query.prune.partition_prune`). Raises
    :class:`InvalidRecordError` on the first invalid record under ``fail``, and
    :class:`InputError` when non-empty input holds no LLM call.

    ``columns`` says which columns the caller will read (e.g.
    :func:`genailog.analysis.summarize.columns_needed`): when they are all scalar fields
    (:data:`~genailog.schema.columns.SCALAR_COLUMNS`), canonical JSONL files are typed
    only for those, in the C scanner's one pass, and the frame holds only them (plus
    partition columns). Validation is the same: every field of every record is judged.
    """
    policy = InvalidPolicy.parse(on_invalid)
    _check_input_format(input_format)
    report = ReadReport(policy=policy.mode)
    ctx = ReadContext(options or current_options(), explain=not require_calls)
    parts = _Parts()
    wanted = projection(columns)
    foreign: dict[str, list[tuple[Source, bytes]]] = {}
    sources, tags, dtypes, pruned = partitions.prune(discover(as_paths(paths)), prune)
    report.partitions = pruned.to_dict()
    spans = partitions.SpanCheck(prune, pruned)
    for source, tag in zip(sources, tags, strict=True):
        start = len(parts.frames)
        try:
            _read_source(source, policy, input_format, stdin, chunk_bytes, report, parts,
                         foreign, ctx, wanted)
            parts.frames[start:] = [partitions.with_values(f, tag, dtypes)
                                    for f in parts.frames[start:]]
            spans.check(source, parts.frames[start:])
        except InputError as exc:
            if policy.mode == "fail" or len(sources) == 1 or isinstance(
                    exc, InvalidRecordError):
                raise
            _forget(source, start, report, parts)
            report.unreadable.append((source.name, str(exc)))
    by_name = {s.name: tag for s, tag in zip(sources, tags, strict=True) if tag}
    for fmt, items in foreign.items():
        _read_foreign(fmt, items, policy, report, parts, ctx, by_name)
    for message in (pruned.message(), spans.message()):
        if message:
            ctx.note(message)
    report.absorb(ctx)
    report.notes += [n for n in cache.refusals() if n not in report.notes]
    frame = partitions.with_columns(_concat(parts, report), dtypes)
    if policy.mode == "quarantine" and policy.quarantine_path is not None:
        write_quarantine(policy.quarantine_path, report.invalid)
    if require_calls:
        _check_not_empty(report, input_format)
        for text in report.messages():
            progress.notice(text)
    return Logs(frame, report)


def _forget(source: Source, start: int, report: ReadReport, parts: _Parts) -> None:
    """Drop what was read of a file before it failed (a truncated .gz, a dropped
    connection): a file listed as not read gives no record, not its first part."""
    del parts.frames[start:]
    del parts.json_names[start:]
    report.files = [f for f in report.files if f.path != source.name]
    report.invalid = [r for r in report.invalid if r.file != source.name]


def _check_input_format(input_format: str) -> None:
    if input_format == "auto":  # the registry's modules load only when a file needs them
        return
    from genailog.ingest.formats import INPUT_FORMATS

    if input_format not in INPUT_FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}, "
                         f"not {input_format!r}")


def as_paths(paths: str | Path | Sequence[str | Path]) -> list[str | Path]:
    """One path or many: a lone string is one path, never a sequence of characters."""
    if isinstance(paths, str | Path):
        return [paths]
    return list(paths)


def _check_not_empty(report: ReadReport, input_format: str) -> None:
    """Non-empty input that yields no LLM call is an error, never a silent zero."""
    if report.records:
        return
    found = report.found_without_calls()
    if not found:
        return
    forced = f" as --input-format {input_format}" if input_format != "auto" else ""
    raise InputError(f"no LLM call found{forced}: {found}; see `genailog inspect` for what "
                     "was read, and docs/formats.md for the shapes genailog reads")


def _json_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A user field's values as JSON text, for a field whose type differs across parts."""
    column = pl.col(name)
    if dtype == pl.String:
        return column.map_elements(json.dumps, return_dtype=pl.String)
    if dtype == pl.Boolean:
        return column.replace_strict({True: "true", False: "false"}, return_dtype=pl.String)
    return column.cast(pl.String)


def _concat(parts: _Parts, report: ReadReport) -> pl.LazyFrame:
    """One frame. A user field held as JSON text anywhere, or typed differently in
    different parts (other than ints beside floats), becomes JSON text everywhere."""
    if not parts.frames:
        return pl.LazyFrame(schema=CANONICAL_DTYPES)
    schemas = [frame.collect_schema() for frame in parts.frames]
    kinds: dict[str, set[pl.DataType]] = {}
    for schema in schemas:
        for name, dtype in schema.items():
            if name not in CANONICAL_DTYPES:
                kinds.setdefault(name, set()).add(dtype)
    to_text = set().union(*parts.json_names) | {
        name for name, found in kinds.items()
        if len(found) > 1 and not found <= {pl.Int64(), pl.Float64()}}
    converted = []
    for frame, schema, marked in zip(parts.frames, schemas, parts.json_names, strict=True):
        fix = [_json_text(n, schema[n]).alias(n) for n in sorted(to_text)
               if n in schema and n not in marked]
        converted.append(frame.with_columns(fix) if fix else frame)
    report.json_columns = to_text
    if len(converted) == 1:
        return converted[0]
    return pl.concat(converted, how="diagonal_relaxed")


def _read_source(source: Source, policy: InvalidPolicy, input_format: str,
                 stdin: BinaryIO | None, chunk_bytes: int, report: ReadReport, parts: _Parts,
                 foreign: dict[str, list[tuple[Source, bytes]]], ctx: ReadContext,
                 columns: tuple[str, ...] | None = None) -> None:
    head, stream = open_peeked(source, stdin)
    try:
        fmt = detect(source, head, input_format, ctx)
        file_report = FileReport(source.name, fmt)
        report.files.append(file_report)
        file_report.empty = not head.removeprefix(BOM).strip()
        scan = open_scan(source.local()) if fmt == "parquet" else None  # its footer, once
        if scan is not None and shape_of(scan.schema) != "canonical":
            data = rows_as_jsonl(source.local())
            fmt = _parquet_adapter(source.name, data)
            file_report.format = fmt
            foreign.setdefault(fmt, []).append((source, data))
        elif scan is not None:
            frame, records, invalid = read_parquet(source.local(), scan)
            invalid = [r if source.remote is None else replace(r, file=source.name)
                       for r in invalid]
            apply_policy(invalid, policy, report)
            file_report.records, file_report.invalid = records, len(invalid)
            file_report.empty = not records and not invalid  # no calls were logged
            parts.add(frame, set())
        elif fmt != "genailog":
            if fmt == "json" and not source.is_stdin and _looks_prefixed(head):
                if _read_prefixed(source, stream, chunk_bytes, policy, report, file_report,
                                  parts):
                    return
                stream.close()
                stream = Prefixed(b"", source.open())  # the fast path read part of it
            foreign.setdefault(fmt, []).append((source, stream.read()))
        else:
            _read_jsonl(source, stream, chunk_bytes, policy, report, file_report, parts,
                        columns)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {source.name}: {exc}") from None
    except InputError as exc:
        if source.remote is None or type(exc) is not InputError:
            raise
        raise InputError(source.named(str(exc))) from None
    finally:
        stream.close()


def _read_prefixed(source: Source, stream: Prefixed, chunk_bytes: int, policy: InvalidPolicy,
                   report: ReadReport, file_report: FileReport, parts: _Parts) -> bool:
    """Canonical records behind text prefixes, read as canonical JSONL (see prefixed.py);
    False, with nothing recorded, when the file needs the line-by-line reader."""
    from genailog.ingest import prefixed

    size = size_of(source)
    try:
        spread = parallel.read_ranges(source.name, size, chunk_bytes, None, keep_frames=True,
                                      strip_prefix=True) if size is not None else None
        if spread is not None:  # on every core, like canonical JSONL
            outs = [(out.invalid, out.records, out.other_lines, out.frames, out.json_columns)
                    for out in spread]
        else:
            outs = [(o.result.invalid, o.result.records, o.other_lines, o.result.frames,
                     o.result.json_columns) for o in prefixed.read(source, stream, chunk_bytes)]
    except prefixed.NotSimple:
        return False
    for invalid, records, others, frames, json_columns in outs:
        apply_policy(invalid, policy, report)
        file_report.records += records
        file_report.invalid += len(invalid)
        file_report.other_lines += others
        for frame in frames:
            parts.add(frame, json_columns)
    return True


def _parquet_adapter(name: str, data: bytes) -> str:
    """The adapter for a Parquet file that is not canonical: its rows decide."""
    from genailog.ingest.formats import detect_format

    return "json" if not data.strip() else detect_format(name, data[:65536])


def projection(columns: Collection[str] | None) -> tuple[str, ...] | None:
    """``columns`` in a fixed order when canonical JSONL can be read as only those (all
    scalar fields, and the C scanner is there to type them), else None."""
    from genailog.ingest import scanner

    if columns is None or scanner.SCANNER is None or not set(columns) <= SCALAR_COLUMNS:
        return None
    return tuple(sorted(set(columns)))


def _read_jsonl(source: Source, stream: Prefixed, chunk_bytes: int, policy: InvalidPolicy,
                report: ReadReport, file_report: FileReport, parts: _Parts,
                columns: tuple[str, ...] | None = None) -> None:
    root = cache.cache_root()
    entry = None
    if root is not None and cache.cacheable(source):
        # The whole file goes into the cache before the policy applies, so that a rerun
        # with --on-invalid skip after an error reads the cache. A file whose hash is
        # remembered is looked up at once; another is hashed while it is parsed.
        key = cache.cache_key(source, root, chunk_bytes=chunk_bytes, remembered=True)
        if key is not None:
            entry = cache.load(root, key, columns)
        if entry is None:
            try:
                entry = _parse_into_cache(source, stream, chunk_bytes, root, key,
                                          columns if key is None else
                                          cache.widened(root, key, columns))
            except Exception:  # noqa: BLE001 - e.g. a read-only or full cache folder
                # Read without the cache; an error of the input itself comes again there.
                with Prefixed(b"", source.open()) as again:
                    _read_chunks(source, again, chunk_bytes, policy, report, file_report,
                                 parts, columns)
                return
    if entry is None:
        _read_chunks(source, stream, chunk_bytes, policy, report, file_report, parts, columns)
        return
    apply_policy(entry.invalid, policy, report)
    file_report.records, file_report.invalid = entry.records, len(entry.invalid)
    for part, marks in entry.parts:
        parts.add(part, marks)


def _read_chunks(source: Source, stream: Prefixed, chunk_bytes: int, policy: InvalidPolicy,
                 report: ReadReport, file_report: FileReport, parts: _Parts,
                 columns: tuple[str, ...] | None = None) -> None:
    """A file read without the cache: on every core when it is large and workers are
    allowed (the typed records come back from the workers), else chunk by chunk."""
    size = size_of(source)
    spread = parallel.read_ranges(source.name, size, chunk_bytes, None, keep_frames=True,
                                  columns=columns) if size is not None else None
    if spread is not None:
        for out in spread:
            apply_policy(out.invalid, policy, report)
            file_report.records += out.records
            file_report.invalid += len(out.invalid)
            for frame in out.frames:
                parts.add(frame, out.json_columns)
        return
    for result in _chunks(source, stream, chunk_bytes, columns):
        apply_policy(result.invalid, policy, report)
        file_report.records += result.records
        file_report.invalid += len(result.invalid)
        for frame in result.frames:
            parts.add(frame, result.json_columns)


@dataclass
class _Parsed:
    """What a parse into a new cache entry has gathered so far."""

    records: int = 0
    invalid: list[InvalidRecord] = field(default_factory=list)


def _parse_into_cache(source: Source, stream: Prefixed, chunk_bytes: int, root: Path,
                      key: str | None, columns: tuple[str, ...] | None) -> cache.CacheEntry:
    """Parse ``source`` into a new entry; ``key`` None: the ranges read on every core
    bring back their digests, from which the key is made once they are all read, or,
    when an entry of this file may exist already (:func:`cache.may_hold`), the file is
    hashed meanwhile on a thread of its own, and an entry that the hash finds is kept
    instead (the parse stops there)."""
    writer = cache.CacheWriter(root, key, columns)
    parsed = _Parsed()
    try:
        size = size_of(source)
        before = cache.stat_for_key(source) if key is None else None
        digests = before is not None and cache.hash_in_ranges(root, source)
        started = time.time_ns()
        # the command streams the parts back (a narrowed read's are Arrow IPC: as fast as
        # keeping the frames, which would hold every record's columns at once)
        spread = parallel.read_ranges(source.name, size, chunk_bytes, writer.folder,
                                      columns=columns, digests=digests,
                                      ) if size is not None else None
        if spread is not None:
            keyed = (cache.KeyMeanwhile(source, root, chunk_bytes)
                     if key is None and not digests else None)
            key, found, pieces = _spread_into(writer, spread, parsed, keyed, key, columns)
            if key is None and digests and before is not None:
                key = cache.key_from_digests(source, root, before, pieces, chunk_bytes,
                                             started)
                if key is None and None in pieces:  # a range with an over-long line has
                    # no digest (read through its stand-in): the file is hashed now
                    key = cache.cache_key(source, root, chunk_bytes=chunk_bytes)
                    if not cache.unchanged(source, before):
                        key = None  # what was parsed is not what was hashed
        else:  # hashed first (one core reads it either way): an entry found is not parsed
            key = key or cache.cache_key(source, root, chunk_bytes=chunk_bytes)
            found = cache.load(root, key, columns) if key is not None else None
            for result in ([] if found is not None else
                           _chunks(source, stream, chunk_bytes, columns)):
                parsed.records += result.records
                parsed.invalid += result.invalid
                for frame in result.frames:
                    writer.add(frame, result.json_columns)
        if key is None:
            raise OSError(f"cannot hash {source.name}")
        found = found or cache.load(root, key, columns)  # the same content, cached meanwhile
        if found is not None:
            writer.abort()
            return found
        writer.commit(parsed.records, parsed.invalid, key)
    except BaseException:
        writer.abort()
        raise
    entry = cache.load(root, key, columns)
    if entry is None:
        raise InputError(f"cannot read back the cache entry of {source.name} in {root}")
    return entry


def _spread_into(writer: cache.CacheWriter, spread: Generator[parallel.RangeOut],
                 parsed: _Parsed, keyed: cache.KeyMeanwhile | None, key: str | None,
                 columns: tuple[str, ...] | None,
                 ) -> tuple[str | None, cache.CacheEntry | None, list[bytes | None]]:
    """Gather each range's parts into ``writer``; the key (``keyed``'s, once hashed), an
    entry of the same content found meanwhile, which stops the parse, and the ranges'
    digests (those they brought back)."""
    pieces: list[bytes | None] = []
    for out in spread:
        parsed.records += out.records
        parsed.invalid += out.invalid
        pieces.append(out.digest)
        for name, marks in out.parts.items():
            writer.register(name, marks)
        if keyed is not None and keyed.done():  # cached already? stop the parse
            key, keyed = keyed.result(), None
            found = cache.load(writer.root, key, columns) if key is not None else None
            if found is not None:
                spread.close()  # cancels the ranges not started
                return key, found, pieces
    return (keyed.result() if keyed is not None else key), None, pieces


def _looks_prefixed(head: bytes) -> bool:
    from genailog.ingest import prefixed

    return prefixed.looks_simple(head)


def _chunks(source: Source, stream: Prefixed, chunk_bytes: int,
            columns: tuple[str, ...] | None = None) -> Iterator[ChunkResult]:
    from genailog.ingest.jsonl import ChunkReader

    reader = ChunkReader(source.name, columns=columns)
    for chunk in numbered_chunks(stream, chunk_bytes, source.name, size_of(source)):
        yield reader.read(chunk)


def _read_foreign(fmt: str, items: list[tuple[Source, bytes]], policy: InvalidPolicy,
                  report: ReadReport, parts: _Parts, ctx: ReadContext,
                  tags: dict[str, dict[str, Any]]) -> None:
    from genailog.ingest import formats
    from genailog.ingest.formats._common import OtherLine
    from genailog.ingest.frame import canonical_frame

    records: list[dict[str, Any]] = []
    errors: list[InvalidRecordError] = []
    invalid: list[InvalidRecord] = []
    counts: dict[str, int] = {}
    others: dict[str, int] = {}
    files = [(source.name, data) for source, data in items]
    lenient = fmt == "json"
    raw = dict(files)
    for file, line, record in formats.load_many(files, fmt, errors=errors, ctx=ctx):
        if isinstance(record, OtherLine):
            others[file] = others.get(file, 0) + 1
            continue
        if record.get("model") is None and ctx.options.model:
            record["model"] = ctx.options.model
        partitions.fill_record(record, tags.get(file, {}))
        problems = _problems(record, lenient=lenient)
        if problems:
            invalid.append(InvalidRecord(file, line, problems, raw=_line_of(raw, file, line)))
            continue
        counts[file] = counts.get(file, 0) + 1
        records.append(record)
    invalid += [InvalidRecord(e.file, e.line, (("", e.detail),), raw=_line_of(raw, e.file, e.line))
                for e in errors]
    invalid.sort(key=lambda r: (r.file, r.line))
    apply_policy(invalid, policy, report)
    for file_report in report.files:
        if file_report.format == fmt:
            file_report.records = counts.get(file_report.path, 0)
            file_report.invalid = sum(1 for r in invalid if r.file == file_report.path)
            file_report.other_lines = others.get(file_report.path, 0)
    if records:
        frame, json_columns = canonical_frame(records)
        parts.add(frame, json_columns)


#: Stand-ins that let an alias-read record without a model or a time pass the schema's
#: "required"; the record itself keeps them null (an unknown model, no time).
_STAND_INS = {"model": "(unknown)", "timestamp": "1970-01-01T00:00:00Z"}


def _problems(record: dict[str, Any], *, lenient: bool = False) -> tuple[tuple[str, str], ...]:
    """Schema problems of an adapter's record: the compiled twin first, jsonschema only
    for what the twin rejects. ``lenient`` allows a missing model or time (logs that
    never name them are still analysable)."""
    import msgspec

    from genailog.schema import limits
    from genailog.schema.diagnose import check_value
    from genailog.schema.fastcheck import OpenRecord

    value = _jsonable(record)
    if lenient:
        value = {**{k: v for k, v in _STAND_INS.items() if value.get(k) is None}, **{
            k: v for k, v in value.items() if v is not None or k not in _STAND_INS}}
    found = list(limits.record_problems(value))  # the parse-level list, as for JSONL
    bad = limits.value_problem(value)
    if bad is not None:
        found.append(("", bad))
    if found:
        return tuple(found)
    try:
        msgspec.convert(value, OpenRecord)
        return ()
    except msgspec.ValidationError:
        return tuple((p.path, p.message) for p in check_value(value))


def _line_of(raw: dict[str, bytes], file: str, line: int) -> bytes:
    if line < 1 or file not in raw:
        return b""
    lines = raw[file].split(b"\n", line)
    return lines[line - 1] if len(lines) >= line else b""


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    stamp = record.get("timestamp")
    if isinstance(stamp, datetime):
        record = {**record, "timestamp": stamp.isoformat().replace("+00:00", "Z")}
    return record


def write_quarantine(path: Path, invalid: list[InvalidRecord]) -> None:
    """Write the raw lines of invalid records, in file and line order, atomically."""
    from genailog.outputs import atomic_writer

    with atomic_writer(path, "wb") as handle:
        for record in sorted(invalid, key=lambda r: (r.file, r.line)):
            handle.write(record.raw.rstrip(b"\r\n") + b"\n")
