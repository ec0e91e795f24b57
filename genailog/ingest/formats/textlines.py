"""Splitting a text log into JSON objects (each with the text prefix before it) and other lines.

This is what Python ``logging`` and most loggers write: ``INFO:root:{...}``,
``2026-11-29 13:40:27,075 INFO root {...}``, syslog-like prefixes, a JSON object that runs
over several lines (``json.dumps(record, indent=2)``), and the traceback that
``logger.exception`` writes after its message. A prefix gives the time (when it holds
one; a time without an offset is in the reader's timezone, UTC unless set) and the level.
A traceback that follows a JSON object belongs to it; any other line is an *other line*,
counted but not a record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import msgspec

#: At most this many lines make one multi-line JSON object.
MAX_OBJECT_LINES = 10_000

_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "EXCEPTION",
           "NOTICE", "TRACE", "SUCCESS")
_LEVEL = re.compile(r"(?<![A-Za-z])(" + "|".join(_LEVELS) + r")(?![A-Za-z])", re.IGNORECASE)
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?"
                   r"(Z|[+-]\d{2}:?\d{2}|UTC)?")
_TRACEBACK_START = ("Traceback (most recent call last):", "During handling of the above",
                    "The above exception was the direct cause")
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|"
                             r"Warning|Failure|Timeout|Fault))(?::\s?(?P<message>.*))?$")


@dataclass
class Prefix:
    """What a text prefix says: its time (aware, or naive in the reader's timezone), its
    level (upper case), and whether its time had no offset."""

    text: str
    time: datetime | None = None
    level: str | None = None
    naive_time: bool = False


@dataclass
class Piece:
    """A JSON object with its prefix and first line, or an other line (``obj`` None)."""

    line: int
    obj: Any = None
    prefix: Prefix | None = None
    traceback: list[str] = field(default_factory=list)
    #: Why the object could not be decoded (an invalid record, not an other line).
    error: str | None = None


def parse_prefix(text: str, zone: tzinfo) -> Prefix:
    prefix = Prefix(text)
    match = _TIME.search(text)
    if match:
        date, clock, fraction, offset = match.groups()
        micros = (fraction or "0")[:6].ljust(6, "0")
        try:
            stamp = datetime.fromisoformat(f"{date}T{clock}.{micros}")
        except ValueError:
            stamp = None
        if stamp is not None:
            if offset in (None, "UTC"):
                prefix.naive_time = offset is None
                stamp = stamp.replace(tzinfo=zone)
            else:
                stamp = datetime.fromisoformat(
                    f"{date}T{clock}.{micros}{'+00:00' if offset == 'Z' else offset}")
            prefix.time = stamp
    level = _LEVEL.search(text[match.end():] if match else text) or _LEVEL.search(text)
    if level:
        prefix.level = level.group(1).upper()
    return prefix


def _decode(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return _NOT_JSON
    except RecursionError:
        return _TOO_DEEP


_NOT_JSON = object()
_TOO_DEEP = object()


def _opens_object(candidate: str) -> bool:
    """Whether a line's JSON part opens an object that later lines may close."""
    return candidate.count("{") > candidate.count("}")


def _starts_traceback(text: str) -> bool:
    return text.startswith(_TRACEBACK_START)


def split_text(lines: list[str], zone: tzinfo) -> list[Piece]:
    """Pieces of a text log, in order; blank lines are left out. A traceback is given to
    the piece before it, so the list is complete only once it is built."""
    pieces: list[Piece] = []
    index = 0
    while index < len(lines):
        text = lines[index].rstrip("\r\n")
        if not text.strip():
            index += 1
            continue
        if _starts_traceback(text) and pieces and pieces[-1].obj is not None:
            index = _take_traceback(lines, index, pieces[-1])
            continue
        piece, index = _piece_at(lines, index, zone)
        if _starts_traceback(text):
            index = _take_traceback(lines, index - 1, piece)
        pieces.append(piece)
    return pieces


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _piece_at(lines: list[str], index: int, zone: tzinfo) -> tuple[Piece, int]:
    text = lines[index].rstrip("\r\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)  # a console renderer's colours
    brace = text.find("{")
    if brace < 0:
        return _key_values(text, index, zone), index + 1
    prefix_text, candidate = text[:brace], text[brace:].rstrip()
    value = _decode(candidate)
    if value is _TOO_DEEP:
        return Piece(index + 1, error="JSON nested deeper than genailog reads"), index + 1
    if value is _NOT_JSON and candidate.startswith(("{'", "{}")):
        value = _python_dict(candidate)  # logging.info(record): a dict's repr, not JSON
    end = index + 1
    if value is _NOT_JSON and _opens_object(candidate):
        value, end = _multi_line(lines, index, candidate)
    if value is _NOT_JSON:
        if not prefix_text.strip():
            return Piece(index + 1, error="not valid JSON"), index + 1
        return Piece(index + 1), index + 1  # a message that merely holds a brace
    prefix = parse_prefix(prefix_text, zone) if prefix_text.strip() else None
    return Piece(index + 1, value, prefix), end


#: Longest Python dict repr read (``ast.literal_eval`` is safe, but not free).
MAX_REPR = 1 << 20


def _python_dict(text: str) -> Any:
    """A dict logged with ``logging.info(record)`` (its repr: single quotes, True, None),
    read as the literal it is; anything else is no object."""
    import ast

    if len(text) > MAX_REPR:
        return _NOT_JSON
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_JSON
    return value if isinstance(value, dict) else _NOT_JSON


_PAIR = re.compile(r"(?:^|(?<=\s))([A-Za-z_][\w.\-]*)="
                   r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s"']*)""")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _scalar(raw: str) -> Any:
    if raw[:1] in ("'", '"') and raw[-1:] == raw[:1] and len(raw) >= 2:
        return raw[1:-1].replace("\\" + raw[0], raw[0])
    if _NUMBER.fullmatch(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", "nil", ""):
        return None
    return raw


def _key_values(text: str, index: int, zone: tzinfo) -> Piece:
    """``key=value`` pairs (logfmt, structlog's console and key-value renderers) as an
    object, with the text before the first pair as the prefix; other text is no object."""
    pairs = list(_PAIR.finditer(text))
    if len(pairs) < 2:
        return Piece(index + 1)
    obj = {m.group(1): _scalar(m.group(2)) for m in pairs}
    head = text[: pairs[0].start()]
    prefix = parse_prefix(head, zone) if head.strip() else None
    return Piece(index + 1, obj, prefix)


def _multi_line(lines: list[str], index: int, first: str) -> tuple[Any, int]:
    parts = [first]
    depth = first.count("{") - first.count("}")
    stop = min(len(lines), index + MAX_OBJECT_LINES)
    for at in range(index + 1, stop):
        line = lines[at].rstrip("\r\n")
        parts.append(line)
        depth += line.count("{") - line.count("}")
        if depth <= 0:
            value = _decode("\n".join(parts))
            if value is not _NOT_JSON:
                return value, at + 1
            if depth < 0 or _TIME.match(line) or _LEVEL.match(line):
                break
    return _NOT_JSON, index + 1


def _in_traceback(text: str) -> bool:
    """A traceback's body line: indented (frames, code, loguru's value annotations),
    loguru's ``> File`` marker, or a chained traceback's header."""
    return text.startswith((" ", "\t", "> File")) or _starts_traceback(text)


def _next_text(lines: list[str], at: int) -> str:
    while at < len(lines) and not lines[at].strip():
        at += 1
    return lines[at].rstrip("\r\n") if at < len(lines) else ""


def _take_traceback(lines: list[str], index: int, owner: Piece) -> int:
    """Consume a traceback starting at ``index``; its lines go to ``owner``. Blank lines
    inside it (loguru's) are part of it when it goes on after them."""
    owner.traceback.append(lines[index].rstrip("\r\n"))
    at = index + 1
    while at < len(lines):
        text = lines[at].rstrip("\r\n")
        if not text.strip():
            following = _next_text(lines, at)
            if not (_in_traceback(following) or _EXCEPTION_LINE.match(following.strip())):
                break
        elif not _in_traceback(text):
            if _EXCEPTION_LINE.match(text.strip()):
                owner.traceback.append(text)
                at += 1
                if _starts_traceback(_next_text(lines, at)):
                    continue  # "During handling of the above exception ..."
            break
        owner.traceback.append(text)
        at += 1
    return at


def exception_of(traceback: list[str]) -> tuple[str | None, str | None]:
    """(type, message) of a traceback's last exception line."""
    for text in reversed(traceback):
        match = _EXCEPTION_LINE.match(text.strip())
        if match:
            return match["type"].rsplit(".", 1)[-1], (match["message"] or "").strip() or None
    return None, None
