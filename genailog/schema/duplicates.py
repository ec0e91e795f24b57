"""Duplicate keys in lines a fast decoder has accepted: found by counting, not by parsing
every line again.

msgspec, like most decoders, keeps the last value of a repeated key without a word, so a
line with a duplicate decodes to fewer object members than it writes. Counting the members
a line *writes* is one vectorised pass over its bytes: a key ends where a quote that
closes a string is followed, after optional whitespace, by a colon (quotes that are not
escaped alternate between opening and closing strings, and every line is a whole JSON
value). Counting the members a record *holds* is a walk of the decoded values, done by
the reader that decoded them.

The count on the bytes first takes every colon right after a quote (:func:`quoted_colons`):
an upper bound, since a quote before a colon may also be escaped or open a string, so
when it equals the members held no line can hold a repeat. Only otherwise are the key
ends told apart exactly (:func:`key_ends`, which follows the strings) and counted line
by line. Where the two counts differ the line is decoded once more into plain values
(:func:`has_duplicate`), which settles it; lines whose decoded form hides some members (a
message's own extra keys, which the compiled twin skips) only pay that second decode. A
count can make a line look suspect but never hide a duplicate: each repeat adds a written
member and no held one.

This module must not judge anything else; :mod:`genailog.schema.limits` holds the rules.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

_QUOTE, _COLON, _BACKSLASH, _NEWLINE, _SPACE = 34, 58, 92, 10, 32


def _is_space(values: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """JSON whitespace, given valid JSON: no other byte below 33 can stand outside a
    string, and one inside a string is never raw."""
    return values <= _SPACE


def _escaped(data: npt.NDArray[np.uint8], quotes: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    """Whether each quote at ``quotes`` is escaped: an odd run of backslashes before it."""
    escaped = np.zeros(quotes.size, dtype=bool)
    before = quotes - 1
    live = (before >= 0) & (data[np.maximum(before, 0)] == _BACKSLASH)
    while live.any():
        escaped[live] = ~escaped[live]
        before = before - 1
        live &= (before >= 0) & (data[np.maximum(before, 0)] == _BACKSLASH)
    return escaped


def quoted_colons(text: bytes) -> int | None:
    """An upper bound on the object members ``text`` (valid JSON lines) writes, found
    cheaply: the colons right after a quote. Every key ends that way unless whitespace
    stands between its closing quote and the colon, so None when some colon follows
    whitespace (then count with :func:`key_ends`)."""
    data = np.frombuffer(text, dtype=np.uint8)
    colons = np.flatnonzero(data == _COLON)
    before = data[colons[colons > 0] - 1]
    if _is_space(before).any():
        return None
    return int(np.count_nonzero(before == _QUOTE))


def key_ends(text: bytes) -> npt.NDArray[np.intp]:
    """Where each object member written in ``text`` ends its key: the offsets of the
    closing quotes followed, after optional whitespace, by a colon. ``text`` must be
    valid JSON values, one per line, so that quotes that are not escaped alternate
    between opening and closing a string from the first byte on."""
    data = np.frombuffer(text, dtype=np.uint8)
    quotes = np.flatnonzero(data == _QUOTE)
    maybe = np.flatnonzero(data[np.maximum(quotes - 1, 0)] == _BACKSLASH)
    if maybe.size:
        quotes = np.delete(quotes, maybe[_escaped(data, quotes[maybe])])
    closing = quotes[1::2]
    after = closing + 1
    following = data[np.minimum(after, data.size - 1)]
    spaced = np.flatnonzero(_is_space(following) & (after < data.size))
    while spaced.size:  # `"key" : value`: step over the whitespace
        after[spaced] += 1
        spaced = spaced[after[spaced] < data.size]
        following[spaced] = data[after[spaced]]
        spaced = spaced[_is_space(following[spaced])]
    ends: npt.NDArray[np.intp] = closing[following == _COLON]
    return ends


def members_per_line(text: bytes, ends: npt.NDArray[np.intp], lines: int,
                     ) -> npt.NDArray[np.int64]:
    """How many of ``ends`` (from :func:`key_ends`) fall in each of the ``lines`` lines."""
    newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == _NEWLINE)
    return np.bincount(np.searchsorted(newlines, ends), minlength=lines)[:lines].astype(
        np.int64)


def written_members(text: bytes, lines: int) -> npt.NDArray[np.int64]:
    """How many object members (keys) each of the ``lines`` lines of ``text`` writes,
    counted on the bytes. ``text`` must be valid JSON, one value per line."""
    return members_per_line(text, key_ends(text), lines)


def member_count(value: Any) -> int:
    """Object members held by a plain decoded value, at every depth."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += len(item)
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return total


_PLAIN = msgspec.json.Decoder()


def has_duplicate(line: bytes, written: int | None = None) -> bool:
    """Whether ``line`` (one JSON value that a strict decoder accepted) names a key twice
    in some object: it writes more members than its plain decoding holds."""
    if written is None:
        written = int(written_members(line, 1)[0])
    try:
        value = _PLAIN.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return True  # the exact parser will say what is wrong
    return member_count(value) != written
