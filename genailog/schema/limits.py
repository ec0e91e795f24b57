"""The one list of parse-level rejections: what makes a line an invalid record beyond what
the JSON Schema can say.

The verdict on a record is jsonschema's for everything a schema can express, plus the
rules of :data:`RULES`, applied the same way by ``validate`` (bundled schema or
``--schema``), by every command that reads logs, and by the format adapters. They exist
because JSON allows values that no column can hold (a token count of 2**70, a float that
overflows to infinity, a lone surrogate that is not text, a year after 9999 once the offset
is applied) and shapes that would exhaust memory or the stack (a 2 GB line, nesting 100,000
deep), and because a duplicate key has two readings (parsers keep the first or the last).
``docs/schema.md`` renders this list (``genailog/schema/docs.py``).

This module imports only the standard library: the JSONL reader's slow path, the exact
path and the adapters call it.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

#: The default longest line, in bytes (``GENAILOG_MAX_LINE_BYTES`` changes it).
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
#: The deepest nesting of arrays and objects in a line (the record itself is depth 1).
MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: The token fields whose sum may not exceed ``input_tokens`` (both are part of it).
INPUT_PARTS = ("cached_input_tokens", "cache_write_tokens")

#: Marks a line that was too long to keep: the chunk producers put this, the length and
#: the line's first bytes in its place, so every reader sees one invalid line there. A
#: NUL byte never starts a JSON text, so the stand-in is never a valid record itself.
LONG_LINE_MARK = b"\x00genailog:line-too-long:"
_HEAD_BYTES = 256

#: (rule, what is rejected), in the order checked; rendered into docs/schema.md.
RULES: tuple[tuple[str, str], ...] = (
    ("line length", "a line longer than 64 MiB (set `GENAILOG_MAX_LINE_BYTES` to change "
     "it); the line is read through without being held in memory, and a quarantine "
     "file gets a stand-in: a NUL byte, `genailog:line-too-long:`, the length and the "
     "line's first 256 bytes"),
    ("not JSON", "invalid UTF-8, a syntax error, or `NaN` / `Infinity` / `-Infinity`"),
    ("nesting depth", f"arrays and objects nested more than {MAX_DEPTH} deep (the record "
     "itself is level 1)"),
    ("duplicate keys", "an object, at any depth, that names the same key twice (parsers "
     "disagree on which value wins)"),
    ("lone surrogates", "a `\\ud800`-`\\udfff` escape that is not half of a pair: it is "
     "not text and cannot be written as UTF-8"),
    ("non-finite numbers", "a number too large for a double (`1e400`), which would read "
     "as infinity"),
    ("64-bit integers", f"an integer (written without fraction or exponent) outside "
     f"{INT64_MIN}..{INT64_MAX}, anywhere in the record; an integer field (token counts, "
     "`retries`) written as `1e20` is held to the same range"),
    ("timestamp range", "a `timestamp` whose instant, once its offset is applied, falls "
     "outside the years 1-9999 (`9999-12-31T23:59:59-01:00` is in the year 10000 UTC)"),
    ("token counts", "`cached_input_tokens + cache_write_tokens` above `input_tokens`: "
     "input includes both (see Token semantics), so such a record cannot be billed"),
)


#: How the bundled fast reader applies the list (rendered into docs/schema.md).
FAST_READER = (
    "The bundled fast reader first runs a C scanner over each chunk's bytes: it vouches for "
    "a line only when the line certainly keeps the schema and every rule above (it is "
    "stricter than what follows, never looser), and hands on anything unusual. Lines it "
    "hands on are decoded with a compiled twin of the schema, and the reader applies the "
    "rules the twin cannot see on what it decoded: it compares the object "
    "members each line writes (counted on its bytes) with those its record holds, so a "
    "repeated key at any depth is caught without parsing clean lines twice; the twin "
    "itself reads an integer written in a number field as an integer held to 64 bits, and "
    "the reader walks `metadata` values, message `content` lists and user fields for depth "
    "and 64-bit integers. "
    "Lines the twin sets aside are judged by the exact parser, which names the rule, so "
    "`validate`, `validate --schema` and every command reject the same lines."
)


class Rejected(ValueError):
    """A line breaks one of :data:`RULES`; the message says which and how to fix it."""


def max_line_bytes() -> int:
    """The longest line accepted: ``GENAILOG_MAX_LINE_BYTES`` (bytes; a suffix K, M or G
    is allowed), else :data:`DEFAULT_MAX_LINE_BYTES`."""
    text = os.environ.get("GENAILOG_MAX_LINE_BYTES", "").strip().upper()
    if not text:
        return DEFAULT_MAX_LINE_BYTES
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit() or int(digits) * scale < 1024:
        from genailog.errors import UsageError

        raise UsageError(f"GENAILOG_MAX_LINE_BYTES must be a byte count of at least 1024 "
                         f"(e.g. 128M), not {text!r}")
    return int(digits) * scale


def long_line_stand_in(length: int, head: bytes) -> bytes:
    """What replaces a line of ``length`` bytes that starts with ``head``."""
    return LONG_LINE_MARK + b"%d:" % length + head[:_HEAD_BYTES].replace(b"\r", b"")


def long_line_message(line: bytes) -> str | None:
    """The problem of a stand-in made by :func:`long_line_stand_in`, else None."""
    if not line.startswith(LONG_LINE_MARK):
        return None
    length = line[len(LONG_LINE_MARK):].split(b":", 1)[0].decode("ascii", "replace")
    return (f"line of {length} bytes is longer than the limit of {max_line_bytes()} bytes; "
            "split the record or raise GENAILOG_MAX_LINE_BYTES")


def bound_lines(data: bytes, limit: int | None = None) -> bytes:
    """``data`` with each line longer than ``limit`` replaced by its stand-in (the same
    object, without a copy, when no line can be that long)."""
    limit = max_line_bytes() if limit is None else limit
    if len(data) <= limit:
        return data
    lines = data.split(b"\n")
    if max(map(len, lines)) <= limit:
        return data
    return b"\n".join(long_line_stand_in(len(line), line) if len(line) > limit else line
                      for line in lines)


# ------------------------------------------------------------------ parsing one line


def _no_constant(name: str) -> Any:
    raise Rejected(f"{name} is not valid JSON; write null (or a number) instead")


def _integer(text: str) -> int:
    if len(text) > 20:
        raise Rejected(f"integer {text[:24]}… has {len(text.lstrip('-'))} digits, beyond 64 "
                       "bits; write it as a string if it is an id")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise Rejected(f"integer {text} is beyond 64 bits ({INT64_MIN}..{INT64_MAX}); write "
                       "it as a string if it is an id")
    return value


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Rejected(f"number {text[:40]} is too large for a double (it would read as "
                       "infinity)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise Rejected(f"duplicate key {json.dumps(key)[:80]} in an object; keep one")
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_integer,
                            parse_float=_number, parse_constant=_no_constant)


def _walk(value: Any, check_text: bool) -> None:
    """Depth, and lone surrogates in keys and strings when the line had ``\\ud`` escapes."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                break
            if check_text:
                for key in item:
                    _text(key)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                break
            stack.extend((v, depth + 1) for v in item)
        elif check_text and isinstance(item, str):
            _text(item)
    else:
        return
    raise Rejected(f"nested more than {MAX_DEPTH} deep; flatten the value")


def _text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Rejected(f"lone surrogate \\u{ord(text[exc.start]):04x} in a string: it is not "
                       "text; remove it or escape both halves of the pair") from None


def loads(text: str) -> Any:
    """Decode one line under the rules above; raises :class:`Rejected` (a message) or
    ``json.JSONDecodeError``."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise Rejected(f"nested more than {MAX_DEPTH} deep; flatten the value") from None
    except ValueError as exc:
        if isinstance(exc, Rejected | json.JSONDecodeError):
            raise
        raise Rejected(f"integer beyond 64 bits ({exc})") from None
    _walk(value, "\\ud" in text or "\\uD" in text)
    return value


# ------------------------------------------------------------------ the record's fields


def _instant_in_range(stamp: str) -> bool:
    text = stamp.strip()
    if text[-1:] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return True  # not a timestamp: the schema's format check says so
    if parsed.tzinfo is None:
        return True
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        return False
    return True


def record_problems(record: Any) -> list[tuple[str, str]]:
    """(JSON pointer, message) for the rules on a decoded record's own fields: the
    timestamp's range and consistent token counts. Values of the wrong type are left to
    the schema."""
    if not isinstance(record, dict):
        return []
    problems: list[tuple[str, str]] = []
    stamp = record.get("timestamp")
    if isinstance(stamp, str) and not _instant_in_range(stamp):
        problems.append(("/timestamp", f"{stamp!r} is outside the years 1-9999 once its "
                         "offset is applied (UTC); check the date"))
    for name in _integer_fields():
        value = record.get(name)
        if isinstance(value, float) and value.is_integer() and not (
                INT64_MIN <= value <= INT64_MAX):
            problems.append((f"/{name}", f"{value:g} is beyond 64 bits ({INT64_MAX} at most)"))
    total = record.get("input_tokens")
    parts = [(name, record.get(name)) for name in INPUT_PARTS]
    if _count(total) and all(v is None or _count(v) for _, v in parts):
        named = [(n, v) for n, v in parts if v is not None]
        if sum(v for _, v in named) > total:
            what = " + ".join(f"{n} ({v})" for n, v in named)
            problems.append(("/input_tokens", f"{what} exceed input_tokens ({total}), "
                             "which includes them; log the full prompt count as "
                             "input_tokens"))
    return problems


@cache
def _integer_fields() -> tuple[str, ...]:
    import polars as pl

    from genailog.schema.columns import CANONICAL_DTYPES

    return tuple(name for name, dtype in CANONICAL_DTYPES.items() if dtype == pl.Int64())


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def value_problem(value: Any, level: int = 1) -> str | None:
    """A decoded value's breach of the depth, integer and float rules, else None: for
    values a fast decoder has already read (a user field: ``level`` 2) or whole records
    from the format adapters (``level`` 1). ``level`` is the value's depth in its record,
    the record itself being 1, as in :func:`loads`."""
    try:
        _walk_numbers(value, level)
    except Rejected as exc:
        return str(exc)
    return None


def _walk_numbers(value: Any, level: int) -> None:
    stack: list[tuple[Any, int]] = [(value, level)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise Rejected(f"nested more than {MAX_DEPTH} deep; flatten the value")
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict)
                                                  else item))
        elif isinstance(item, int) and not isinstance(item, bool):
            if not INT64_MIN <= item <= INT64_MAX:
                raise Rejected(f"integer {item} is beyond 64 bits ({INT64_MIN}..{INT64_MAX}); "
                               "write it as a string if it is an id")
        elif isinstance(item, float) and not math.isfinite(item):
            raise Rejected("a non-finite number (NaN or infinity)")
