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
from dataclasses import dataclass

from genailog.ingest.jsonl import ChunkReader, ChunkResult
from genailog.ingest.sources import Chunk, Prefixed, Source, numbered_chunks, size_of

#: A line with a JSON object after a prefix: the prefix (no brace in it) is cut off.
_PREFIX = re.compile(rb"(?m)^[^{\n]*(?=\{)")
#: A line with no JSON object: blanked, counted as an other line.
_NO_OBJECT = re.compile(rb"(?m)^[^{\n]+$")
#: What only the line-by-line reader handles.
_NEEDS_LINES = re.compile(
    rb"Traceback \(most recent call last\)|\{[ \t\r]*$|(?m:^[^{\n]*"
    rb"(?<![A-Za-z])(?:ERROR|CRITICAL|FATAL|EXCEPTION|error|critical|fatal)(?![A-Za-z])"
    rb"[^{\n]*\{(?![^\n]*\"status\")[^\n]*$)")
_MISSING = ("/timestamp", "/model")


class NotSimple(Exception):
    """The file needs the line-by-line reader."""


@dataclass
class Stripped:
    result: ChunkResult
    other_lines: int


def strip(data: bytes) -> tuple[bytes, int]:
    """The chunk with prefixes cut and other lines blanked, and how many were blanked."""
    if _NEEDS_LINES.search(data):
        raise NotSimple
    blanked, others = _NO_OBJECT.subn(b"", data)
    return _PREFIX.sub(b"", blanked), others


def read(source: Source, stream: Prefixed, chunk_bytes: int) -> Iterator[Stripped]:
    """The chunks of a prefixed canonical file; raises :class:`NotSimple` (before or
    between chunks) when the file needs the line-by-line reader."""
    reader = ChunkReader(source.name)
    for chunk in numbered_chunks(stream, chunk_bytes, source.name, size_of(source)):
        data, others = strip(chunk.data)
        result = reader.read(Chunk(data, chunk.first_line, chunk.newlines, chunk.final))
        check(result)
        yield Stripped(result, others)


def check(result: ChunkResult) -> None:
    """Raise :class:`NotSimple` when a record lacks its time or model: the line-by-line
    reader takes those from the prefix, or reads them leniently."""
    if any(record.path in _MISSING for record in result.invalid):
        raise NotSimple


def looks_simple(head: bytes) -> bool:
    """Whether the head's objects are canonical records behind prefixes (the only case
    this path serves)."""
    from genailog.ingest.formats import _canonical_head

    if not head.strip() or _NEEDS_LINES.search(head):
        return False
    lines = [line for line in head.split(b"\n") if b"{" in line]
    if not lines or all(line.lstrip().startswith(b"{") for line in lines):
        return False
    stripped = _PREFIX.sub(b"", b"\n".join(lines))
    return _canonical_head(stripped) and b'"timestamp"' in stripped and b'"model"' in stripped
