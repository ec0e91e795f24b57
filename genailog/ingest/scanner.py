"""The C scanner's handle, and the reads that need nothing else.

``genailog/_scan.c`` vouches for clean canonical JSONL lines in one pass, without making
Python objects (see its header and docs/architecture.md). This module imports only the
standard library and :mod:`genailog.schema.limits`, so that a process that only checks
lines (``validate``'s workers) never loads polars unless some line needs judging.
"""

from __future__ import annotations

import os
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


def verdicts(data: bytes) -> bytes | None:
    """The scanner's verdict on each line of ``data`` (0: certainly a valid record), or
    None when there is no scanner or some line is too long (the reader replaces it)."""
    if SCANNER is None or not data or limits.bound_lines(data) is not data:
        return None
    flags: bytes = SCANNER.scan(data, False)[0]
    return flags


def vouched(flags: bytes | None) -> int | None:
    """The number of lines when ``flags`` (from :func:`verdicts`) vouch for every one,
    else None: then the chunk must be read in full (pass ``flags`` on to the reader)."""
    return None if flags is None or flags.count(1) else len(flags)
