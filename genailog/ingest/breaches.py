"""The parse-level rules the compiled twin cannot see, checked on what it decoded.

The JSONL reader decodes a chunk's lines once, with msgspec, into the schema's twin; this
module finds, among those records, the ones that break a rule of
:mod:`genailog.schema.limits` anyway: token counts that do not add up, numbers beyond 64
bits or a double where the twin reads plain values or keeps them raw (``metadata``,
message contents, user fields), nesting deeper than the limit inside them, and duplicate
keys at any depth (:mod:`genailog.schema.duplicates`). Number fields need nothing here:
the twin reads an integer literal in them as an integer held to 64 bits. Flagged records are
judged line by line by the exact parser, which has the last word and writes the message;
this module never decides that a record is invalid, only that it must be looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import polars as pl
from msgspec import UNSET
from msgspec.structs import astuple

from genailog.schema import limits
from genailog.schema.duplicates import (
    has_duplicate,
    key_ends,
    member_count,
    members_per_line,
    quoted_colons,
)

#: A number in compact JSON with 19 or more digits before any fraction (beyond 64 bits
#: when an integer, beyond a double from 309 digits) or a three-digit exponent (a double
#: ends at 1.8e308): a record whose metadata holds one is judged line by line.
_BIG_NUMBER = r"[:,\[]-?(?:[0-9]{19}|[0-9]+(?:\.[0-9]+)?[eE][+-]?0*[1-9][0-9]{2})"
_TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens")
#: Levels (the record is 1) of a metadata value and of a message's content list.
_METADATA_VALUE_LEVEL, _CONTENT_LEVEL = 3, 4


def breaches(records: list[Any], extras: tuple[str, ...], text: bytes) -> set[int]:
    """Positions of decoded records that break a rule of :mod:`genailog.schema.limits`
    the compiled twin cannot see: cached and cache-write tokens above the input tokens,
    numbers beyond 64 bits or a double in ``metadata`` (which the twin keeps raw),
    values nested too deeply or integers beyond 64 bits in metadata, message contents and
    user fields, and duplicate keys anywhere (``text`` holds the records' lines)."""
    names = (*_TOKENS, "metadata", *_NESTED, *(f"x{i}" for i in range(len(extras))))
    columns = _columns(records, names)
    tokens = zip(*(columns[name] for name in _TOKENS), strict=True)
    flagged = {i for i, (total, cached, written) in enumerate(tokens)
               if (cached or written) and isinstance(total, int)
               and (cached or 0) + (written or 0) > total}
    metadata = columns["metadata"]
    nested: dict[int, int] = {}
    if any(metadata):
        joined = msgspec.json.encode([m or None for m in metadata])
        if _big_numbers([joined]).any():
            found = _big_numbers([msgspec.json.encode(m) if m else b"" for m in metadata])
            flagged.update(found.arg_true().to_list())
        # msgspec writes `"key":` right before a raw value: `:{` or `:[` marks a nested one
        if b":{" in joined or b":[" in joined:
            nested = _nested_metadata(metadata, flagged)
    _flag_deep(columns, flagged)
    held = _held_total(records, columns, nested)
    if quoted_colons(text) != held:
        ends = key_ends(text)
        if ends.size != held:
            flagged.update(_duplicates(text, ends, _held_each(records, columns, nested)))
    return flagged


def _columns(records: list[Any], names: tuple[str, ...]) -> dict[str, Sequence[Any]]:
    """Each attribute of ``names`` over every record, in one pass (UNSET where a record
    decoded before a user field was seen lacks it)."""
    try:
        rows = list(map(attrgetter(*names), records))
    except AttributeError:
        return {name: column(records, name) for name in names}
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, zip(*rows, strict=True), strict=True))


#: Fields whose values hold objects the twin decodes (metadata's are kept raw).
_NESTED = ("messages", "retrieval_docs", "eval_scores", "moderation_flags")


def _nested_metadata(metadata: Sequence[Any], flagged: set[int]) -> dict[int, int]:
    """The members held inside each record's nested metadata values (by position);
    flags values nested too deeply or holding numbers beyond the limits."""
    members: dict[int, int] = {}
    for position, value in enumerate(metadata):
        for raw in value.values() if value else ():
            if memoryview(raw)[0] not in (123, 91):  # an object or an array
                continue
            try:
                decoded = msgspec.json.decode(raw)
            except (msgspec.DecodeError, RecursionError):
                flagged.add(position)  # e.g. 1e400 inside: the exact parser judges it
                continue
            members[position] = members.get(position, 0) + member_count(decoded)
            if limits.value_problem(decoded, _METADATA_VALUE_LEVEL) is not None:
                flagged.add(position)
    return members


def _flag_deep(columns: dict[str, Sequence[Any]], flagged: set[int]) -> None:
    """Flag message contents and user fields nested too deeply or holding integers
    beyond 64 bits (the twin decodes them as plain values, unchecked)."""
    messages = columns["messages"]
    contents = map(attrgetter("content"), chain.from_iterable(filter(None, messages)))
    if list in set(map(type, contents)):
        flagged.update(i for i, value in enumerate(messages) if value and any(
            type(m.content) is list and limits.value_problem(m.content, _CONTENT_LEVEL)
            for m in value))
    for name, values in columns.items():
        if name.startswith("x") and set(map(type, values)) & {dict, list, int}:
            flagged.update(i for i, v in enumerate(values) if type(v) in (dict, list, int)
                           and _user_problem(v))


def _user_problem(value: Any) -> bool:
    if type(value) is int:
        return not limits.INT64_MIN <= value <= limits.INT64_MAX
    return limits.value_problem(value, level=2) is not None


def _present(structs: Iterable[Any]) -> int:
    """How many fields of ``structs`` the lines set (left out: UNSET)."""
    return sum(len(t) - t.count(UNSET) for t in map(astuple, structs))


def _held_total(records: list[Any], columns: dict[str, Sequence[Any]],
                nested: dict[int, int]) -> int:
    """The object members all records hold once decoded (a duplicate key counts once),
    at every depth: summed field by field, without a walk of each record."""
    messages = list(chain.from_iterable(filter(None, columns["messages"])))
    contents = list(map(attrgetter("content"), messages))
    docs = chain.from_iterable(filter(None, columns["retrieval_docs"]))
    total = (_present(records) + sum(nested.values())
             + 2 * len(messages) - contents.count(UNSET)
             + sum(member_count(c) for c in contents if type(c) is list)
             + _present(d for d in docs if type(d) is not str)
             + sum(map(len, filter(None, columns["eval_scores"])))
             + sum(len(v) for v in columns["moderation_flags"] if type(v) is dict)
             + sum(map(len, filter(None, columns["metadata"]))))
    for name, values in columns.items():
        if name.startswith("x") and set(map(type, values)) & {dict, list}:
            total += sum(member_count(v) for v in values if type(v) in (dict, list))
    return total


def _held_each(records: list[Any], columns: dict[str, Sequence[Any]],
               nested: dict[int, int]) -> list[int]:
    """:func:`_held_total` record by record (only when some line may hold a duplicate)."""
    held = [len(t) - t.count(UNSET) for t in map(astuple, records)]
    for position, members in nested.items():
        held[position] += members
    for name, values in columns.items():
        for position, value in enumerate(values):
            if not value:
                continue
            if name == "messages":
                held[position] += 2 * len(value) - sum(m.content is UNSET for m in value) + sum(
                    member_count(m.content) for m in value if type(m.content) is list)
            elif name == "retrieval_docs":
                held[position] += _present(d for d in value if type(d) is not str)
            elif name in ("eval_scores", "moderation_flags", "metadata"):
                held[position] += len(value) if type(value) is dict else 0
            elif type(value) in (dict, list):
                held[position] += member_count(value)
    return held


def _duplicates(text: bytes, ends: Any, held: list[int]) -> list[int]:
    """Positions of lines of ``text`` that name some key twice: they write more members
    (``ends``, from :func:`key_ends`) than their records hold. A line whose decoded form
    hides members (a message's own extra keys, which the twin skips) is decoded again to
    tell; see :mod:`genailog.schema.duplicates`."""
    written = members_per_line(text, ends, len(held))
    suspects = np.flatnonzero(written != np.asarray(held, dtype=np.int64)).tolist()
    if not suspects:
        return []
    lines = text.split(b"\n")
    return [i for i in suspects if has_duplicate(lines[i], int(written[i]))]


def _big_numbers(texts: list[bytes]) -> pl.Series:
    """Whether each JSON text holds a number :data:`_BIG_NUMBER` matches (in Rust's
    regex engine: Python's takes ten times as long on this pattern)."""
    return pl.Series(texts, dtype=pl.Binary).cast(pl.String).str.contains(_BIG_NUMBER)


def column(records: list[Any], name: str) -> list[Any]:
    """Every record's attribute ``name``, UNSET where a record decoded before the field
    was seen lacks it."""
    try:
        return list(map(attrgetter(name), records))
    except AttributeError:
        return [getattr(r, name, UNSET) for r in records]
