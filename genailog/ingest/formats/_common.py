"""Helpers every format adapter shares: times, token normalization, messages, JSON lines.

Nothing here knows a particular source; each adapter states its own semantics and calls
these to land on the canonical meaning (``input_tokens`` includes cached tokens).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from genailog.errors import InvalidRecordError

Record = dict[str, Any]
#: (file, 1-based line or 0, canonical record)
Located = tuple[str, int, Record]


class OtherLine:
    """A line (or object) that is no LLM call: another logger's line, plain text, a span
    that is not a call. Counted and reported, never a record and never invalid."""

    __slots__ = ()


#: What an adapter yields: a record, the error of a line it could not read, or an other line.
Item = tuple[str, int, "Record | InvalidRecordError | OtherLine"]


def from_unix_nanos(value: Any) -> datetime | None:
    """An OTLP ``*UnixNano`` (int or decimal string) as an aware UTC datetime."""
    if value in (None, "", 0, "0"):
        return None
    nanos = int(value)
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC).replace(
        microsecond=(nanos % 1_000_000_000) // 1000)


def from_unix_seconds(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(float(value), UTC)


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 or ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC when no offset) as aware UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return from_unix_seconds(value)
    text = str(value).strip().replace(" ", "T", 1)
    if text[-1:] in "zZ":
        text = text[:-1] + "+00:00"
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def millis_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds() * 1000.0, 0.0)


def as_int(value: Any) -> int | None:
    """An integer count from an int, float or decimal string; None when absent."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return int(float(value))


def as_float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    return float(value)


def normalize_tokens(record: Record, *, cache_excluded: bool = False) -> Record:
    """Make ``input_tokens`` include cached tokens, in place.

    ``cache_excluded`` says the source reports cache reads and writes beside the input
    count (Anthropic style). Without it, a count smaller than its own cached part cannot
    include it either, so it is treated the same way.
    """
    total = record.get("input_tokens")
    cached = (record.get("cached_input_tokens") or 0) + (record.get("cache_write_tokens") or 0)
    if total is not None and cached and (cache_excluded or total < cached):
        record["input_tokens"] = total + cached
    return record


def text_of(content: Any) -> str | None:
    """Text of a message content: a string, or the text parts of a list of parts."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [text_of(p.get("text", p.get("content")) if isinstance(p, dict) else p)
                 for p in content]
        texts = [p for p in parts if p]
        return "\n".join(texts) if texts else None
    if isinstance(content, dict):
        return text_of(content.get("text", content.get("content")))
    return str(content)


def chat_messages(items: Any) -> list[dict[str, Any]] | None:
    """OpenAI-style ``[{role, content}]`` (content string or parts) as canonical messages."""
    if not isinstance(items, list):
        return None
    out = [{"role": str(m.get("role") or "user"), "content": text_of(m.get("content"))}
           for m in items if isinstance(m, dict)]
    return out or None


def fill_prompts(record: Record) -> Record:
    """Set ``prompt`` (last user message) and ``system_prompt`` from ``messages``."""
    messages = record.get("messages") or []
    if record.get("prompt") is None:
        users = [m["content"] for m in messages if m["role"] == "user" and m["content"]]
        record["prompt"] = users[-1] if users else None
    if record.get("system_prompt") is None:
        systems = [m["content"] for m in messages if m["role"] in ("system", "developer")
                   and m["content"]]
        record["system_prompt"] = "\n".join(systems) if systems else None
    return record


def loads_maybe(value: Any) -> Any:
    """A value that may be JSON text (CSV cells, MLflow attributes) decoded; else as is."""
    if isinstance(value, str) and value[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return value
    return value


def not_object(file: str, line: int, value: Any, what: str) -> InvalidRecordError | None:
    """The error to yield for a line that is not the JSON object a format expects."""
    if isinstance(value, InvalidRecordError):
        return value
    if not isinstance(value, dict):
        return InvalidRecordError(file, line, f"expected {what} (a JSON object)")
    return None


def compact(record: Mapping[str, Any]) -> Record:
    """The record without None values or empty containers (the frame fills nulls)."""
    return {k: v for k, v in record.items() if v is not None and v != {} and v != []}


def decode(raw: bytes | str) -> Any:
    """JSON decoded in C (msgspec, about 3x the standard library); raises ValueError."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("JSON nested deeper than genailog reads") from None


def json_lines(file: str, data: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) of each non-blank line; a malformed line gives an
    :class:`InvalidRecordError` as its value, so reading goes on past it."""
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, decode(raw)
        except ValueError as exc:
            yield number, InvalidRecordError(file, number, f"not valid JSON: {exc}")


def _array_items(file: str, text: str) -> Iterator[tuple[int, Any]]:
    """Elements of a JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    at = text.index("[") + 1
    line, counted = 1, 0  # counted as the reading goes, so linear in the file
    while True:
        at = _skip_space(text, at)
        if text.startswith("]", at):
            return
        try:
            value, end = decoder.raw_decode(text, at)
        except (json.JSONDecodeError, RecursionError) as exc:
            where = getattr(exc, "lineno", line)
            why = getattr(exc, "msg", "nested deeper than genailog reads")
            yield where, InvalidRecordError(file, where, f"not valid JSON: {why}")
            return
        line += text.count("\n", counted, at)
        counted = at
        yield line, value
        at = _skip_space(text, end)
        if text.startswith(",", at):
            at += 1
        elif not text.startswith("]", at):
            line += text.count("\n", counted, at)
            counted = at
            yield line, InvalidRecordError(file, line, "not valid JSON: expected , or ]")
            return


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def json_items(file: str, data: bytes) -> Iterator[tuple[int, Any]]:
    """Items of a JSON array, of one (pretty-printed) object, or of JSON lines, each with
    the line it starts on; an unreadable item gives its error instead."""
    text = data.decode("utf-8-sig")
    stripped = text.strip()
    if stripped.startswith("["):
        yield from _array_items(file, text)
        return
    if "\n" not in stripped:
        yield from json_lines(file, data)
        return
    try:
        document = decode(stripped)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        yield from json_lines(file, data)
        return
    yield text.count("\n", 0, text.index("{")) + 1 if "{" in text else 1, document
