"""The fast path for canonical records behind a text prefix (``INFO:root:{...}``).

A log written by Python ``logging`` whose JSON objects are canonical records is read like
canonical JSONL: each chunk has its prefixes cut off and its other lines blanked (line
numbers stay), in C-speed regular expressions, then goes through the canonical chunk
reader. This holds only while nothing in the file needs the line-by-line reader's rules,
so a chunk with a traceback, a record continued on the next line, an error-level line
whose record has no status of its own, or a record the canonical reader finds without
its timestamp or model, sends the whole file back to the ``json`` reader: both paths give
the same records, this one faster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from genailog.ingest.jsonl import ChunkReader, ChunkResult
from genailog.ingest.sources import Chunk, Prefixed, Source, numbered_chunks, size_of

#: One pass per chunk: a line with no ``{`` goes (newline and all); a prefix before the
#: ``{`` of a record line goes. What is left is canonical JSONL, one record per line.
_STRIP = re.compile(rb"(?m)^[^{\n]*(?:\n|(?=\{))")
#: An error-level line whose record has no status of its own (the level gives the status).
_ERROR_LINE = re.compile(
    rb"(?m)^[^{\n]*(?<![A-Za-z])(?:ERROR|CRITICAL|FATAL|EXCEPTION|error|critical|fatal)"
    rb"(?![A-Za-z])[^{\n]*\{(?![^\n]*\"status\")[^\n]*$")
_MISSING = ("/timestamp", "/model")


def _needs_lines(data: bytes) -> bool:
    """What only the line-by-line reader handles: a traceback, a record continued on the
    next line. (An error-level line whose record has no status is checked in ``strip``.)"""
    if b"Traceback (most recent call last)" in data:
        return True
    return b"{\n" in data or b"{\r\n" in data or b"{ \n" in data


class NotSimple(Exception):
    """The file needs the line-by-line reader."""


@dataclass
class Stripped:
    result: ChunkResult
    other_lines: int


def strip(data: bytes) -> tuple[bytes, int]:
    """The chunk as canonical JSONL (other lines and prefixes gone), and how many other
    lines there were (blank lines are not counted, as everywhere)."""
    if _needs_lines(data):
        raise NotSimple
    compact = _STRIP.sub(b"", data)
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    kept = compact.count(b"\n") + (0 if compact.endswith(b"\n") or not compact else 1)
    if compact.count(b'"status"') < kept and _ERROR_LINE.search(data) is not None:
        raise NotSimple  # a record whose status only its log level gives
    blank = len(_BLANK.findall(data)) if b"\n\n" in data or data[:1] == b"\n" or (
        b"\n \n" in data or b"\n\r\n" in data) else 0
    return compact, lines - kept - blank


#: A blank (or white) line, which no reader counts as an other line.
_BLANK = re.compile(rb"(?m)^[ \t\r]*\n")


def remap(result: ChunkResult, data: bytes, first_line: int) -> None:
    """Give the invalid records of a stripped chunk their lines in the file, and their raw
    text as logged (prefix included)."""
    if not result.invalid:
        return
    lines = data.split(b"\n")
    kept = [number for number, line in enumerate(lines) if b"{" in line]
    result.invalid = [
        replace(record, line=first_line + kept[record.line - first_line],
                raw=lines[kept[record.line - first_line]])
        for record in result.invalid]


def read(source: Source, stream: Prefixed, chunk_bytes: int) -> Iterator[Stripped]:
    """The chunks of a prefixed canonical file; raises :class:`NotSimple` (before or
    between chunks) when the file needs the line-by-line reader."""
    reader = ChunkReader(source.name)
    for chunk in numbered_chunks(stream, chunk_bytes, source.name, size_of(source)):
        result, others = read_chunk(reader, chunk)
        yield Stripped(result, others)


def read_chunk(reader: ChunkReader, chunk: Chunk) -> tuple[ChunkResult, int]:
    """One chunk of a prefixed file through the canonical reader: its records (invalid
    ones at their lines in the file) and how many other lines it held. Raises
    :class:`NotSimple` when the chunk needs the line-by-line reader."""
    compact, others = strip(chunk.data)
    result = reader.read(Chunk(compact, chunk.first_line, compact.count(b"\n"), chunk.final))
    check(result)
    remap(result, chunk.data, chunk.first_line)
    return result, others


def check(result: ChunkResult) -> None:
    """Raise :class:`NotSimple` when a record lacks its time or model: the line-by-line
    reader takes those from the prefix, or reads them leniently."""
    if any(record.path in _MISSING for record in result.invalid):
        raise NotSimple


def looks_simple(head: bytes) -> bool:
    """Whether the head's objects are canonical records behind prefixes (the only case
    this path serves)."""
    from genailog.ingest.formats import _canonical_head

    if not head.strip() or _needs_lines(head) or _ERROR_LINE.search(head):
        return False
    lines = [line for line in head.split(b"\n") if b"{" in line]
    if not lines or all(line.lstrip().startswith(b"{") for line in lines):
        return False
    stripped = _STRIP.sub(b"", b"\n".join(lines))
    return _canonical_head(stripped) and b'"timestamp"' in stripped and b'"model"' in stripped
