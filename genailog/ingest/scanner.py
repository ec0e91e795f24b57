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


def vouched_lines(data: bytes) -> int | None:
    """The number of lines of ``data`` when the scanner vouches for every one (each is a
    valid record, none too long), else None: then the chunk must be read in full."""
    if SCANNER is None or not data or limits.bound_lines(data) is not data:
        return None
    flags, _ = SCANNER.scan(data, False)
    return None if flags.count(1) else len(flags)
