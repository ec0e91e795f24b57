"""The C scanner's handle, and the reads that need nothing else.

``genailog/_scan.c`` vouches for clean canonical JSONL lines in one pass, without making
Python objects (see its header and docs/architecture.md). This module imports only the
standard library and :mod:`genailog.schema.limits`, so that a process that only checks
lines (``validate``'s workers) never loads polars unless some line needs judging.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from genailog.schema import limits

_compiled: Any
try:  # built at install time when a C compiler is there (hatch_build.py)
    from genailog import _scan as _compiled
except ImportError:  # pragma: no cover - exercised by installs without a C compiler
    _compiled = None

#: The scanner, or None: then every line goes through the compiled msgspec twin
#: (``GENAILOG_NO_EXTENSION=1`` forces that, for comparisons).
SCANNER: Any = None if os.environ.get("GENAILOG_NO_EXTENSION") == "1" else _compiled


def count_newlines(data: bytes) -> int:
    """``data.count(b"\\n")``, four times faster with the scanner (memchr)."""
    return SCANNER.count_lines(data) if SCANNER is not None else data.count(b"\n")


@dataclass(frozen=True)
class Verdicts:
    """The scanner's verdict on each line of a chunk (0: certainly a valid record; 1:
    handed on), and where each handed-on line starts and ends (native int64 pairs)."""

    flags: bytes
    spans: bytes

    @property
    def clean(self) -> bool:
        return not self.flags.count(1)

    def handed(self) -> list[tuple[int, int, int]]:
        """(line index in the chunk, start, end) of each handed-on line."""
        pairs = memoryview(self.spans).cast("q")
        found, index = [], self.flags.find(1)
        for number in range(len(pairs) // 2):
            found.append((index, pairs[2 * number], pairs[2 * number + 1]))
            index = self.flags.find(1, index + 1)
        return found


def verdicts(data: bytes) -> Verdicts | None:
    """The scanner's verdicts on ``data``'s lines, or None when there is no scanner or
    some line is too long (the reader replaces it)."""
    if SCANNER is None or not data or limits.bound_lines(data) is not data:
        return None
    flags, _, spans = SCANNER.scan(data, False)
    return Verdicts(flags, spans)


class ArrowColumns:
    """Columns the scanner typed (a pair of Arrow PyCapsules), for ``pl.DataFrame(...)``,
    which takes them without copying the numbers. They can be taken once."""

    def __init__(self, capsules: tuple[object, object]) -> None:
        self.capsules = capsules

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        return self.capsules


@dataclass(frozen=True)
class Typed:
    """What :func:`typed` found: the verdicts, the typed columns (None when a value could
    be typed in more than one way) and, when asked for, the digest of the data."""

    verdicts: Verdicts
    columns: ArrowColumns | None
    digest: bytes | None = None


def typed(data: bytes | memoryview, columns: tuple[str, ...], *, mapped: bool = False,
          digest: bool = False) -> Typed | None:
    """The scanner's verdicts on ``data``'s lines, and the ``columns`` (scalar fields:
    schema.columns.SCALAR_COLUMNS) of the lines it vouches for, typed (None when a value
    could be typed in more than one way: the reader then types the chunk as before).
    None when there is no scanner or some line is too long. ``mapped``: ``data`` is a
    file's mapped pages (OSError when the file is truncated under the scan). ``digest``:
    also :func:`digest` of ``data``, taken in the same pass."""
    if SCANNER is None or not data:
        return None
    if len(data) > limits.max_line_bytes() and (
            isinstance(data, memoryview) or limits.bound_lines(data) is not data):
        return None
    names = SCANNER.field_names()
    flags, spans, capsules, digested = SCANNER.scan_columns(
        data, bytes(names.index(c) for c in columns), mapped, digest)
    return Typed(Verdicts(flags, spans), None if capsules is None else ArrowColumns(capsules),
                 digested)


def digest(data: bytes | memoryview, *, mapped: bool = False) -> bytes:
    """The scanner's 128-bit digest of ``data`` (16 bytes; not a cryptographic hash: it
    keys the read cache, see genailog/ingest/cache.py). ``mapped``: ``data`` is a file's
    mapped pages (OSError when the file is truncated under the read). Only with the
    scanner (:data:`SCANNER` not None)."""
    return bytes(SCANNER.digest(data, mapped))


def vouched(found: Verdicts | None) -> int | None:
    """The number of lines when ``found`` (from :func:`verdicts`) vouches for every one,
    else None: then the chunk must be read in full (pass ``found`` on to the reader)."""
    return len(found.flags) if found is not None and found.clean else None
