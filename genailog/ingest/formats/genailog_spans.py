"""Canonical span records: genailog JSONL that carries the spans of a trace.

One JSON object per line, described by ``schemas/genailog.span.v1.schema.json``
(docs/traces.md)::

    {"record_type": "span", "trace_id": "4bf92f35...", "span_id": "00f067aa0ba902b7",
     "parent_span_id": null, "name": "rerank", "kind": "reranker",
     "start": "2026-03-01T10:00:00.120Z", "end": "2026-03-01T10:00:00.180Z",
     "status": "ok", "attributes": {"reranker.top_k": 5}}

``genailog traces`` reads them (:func:`span_rows`). For every other command a span line is
an other line, not a call: the LLM calls of an application that writes spans and calls
are the records of its call file, so a span of kind ``llm`` is never counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from genailog.errors import InvalidRecordError
from genailog.ingest.formats._common import Item, OtherLine, parse_time

MARKER = "record_type"
KINDS = ("llm", "retriever", "reranker", "embedding", "tool", "agent", "chain", "guardrail",
         "evaluator", "span")
_OPTIONAL_TEXT = ("parent_span_id", "status_message", "model", "app")


def is_span_record(obj: dict[str, Any]) -> bool:
    return obj.get(MARKER) == "span"


def load_records(file: str, data: bytes) -> Iterator[Item]:
    """Every line is an other line for the commands that analyse calls (a line that is
    no JSON is still reported as invalid)."""
    for line, row in span_rows(file, data):
        yield file, line, row if isinstance(row, InvalidRecordError) else OtherLine()


def span_rows(file: str, data: bytes
              ) -> Iterator[tuple[int, dict[str, Any] | InvalidRecordError]]:
    """(line, span row in ``read_spans``' columns) for each line, or the line's error."""
    for number, raw in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            yield number, InvalidRecordError(file, number, f"not valid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield number, InvalidRecordError(file, number, "a span record must be an object")
            continue
        yield number, _row(file, number, obj)


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None or value == "" else str(value)


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**17:
        return datetime.fromtimestamp(value // 1_000_000_000, UTC).replace(
            microsecond=(value % 1_000_000_000) // 1000)  # Unix nanoseconds
    return parse_time(value)


def _row(file: str, line: int, obj: dict[str, Any]) -> dict[str, Any] | InvalidRecordError:
    def bad(message: str) -> InvalidRecordError:
        return InvalidRecordError(file, line, message, hint="fix the span record "
                                  "(schemas/genailog.span.v1.schema.json)")

    if not is_span_record(obj):
        return bad('a span record needs "record_type": "span"')
    missing = [k for k in ("trace_id", "span_id", "name", "start", "end") if obj.get(k) in
               (None, "")]
    if missing:
        return bad(f"span record without {', '.join(missing)}")
    kind = obj.get("kind", "span")
    if kind not in KINDS:
        return bad(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    status = obj.get("status", "ok")
    if status not in ("ok", "error"):
        return bad(f"status {status!r} must be ok or error")
    try:
        start, end = _time(obj["start"]), _time(obj["end"])
    except (ValueError, TypeError, OverflowError):
        return bad("start and end must be RFC 3339 times or Unix nanoseconds")
    attributes = obj.get("attributes") or {}
    if not isinstance(attributes, dict):
        return bad("attributes must be an object")
    return {
        "trace_id": str(obj["trace_id"]), "span_id": str(obj["span_id"]),
        **{key: _text(obj, key) for key in _OPTIONAL_TEXT},
        "name": str(obj["name"]), "kind": kind, "start": start, "end": end,
        "duration_ms": (end - start).total_seconds() * 1000.0 if start and end else None,
        "status": status, "attributes": json.dumps(attributes, ensure_ascii=False),
        "file": file, "line": line,
    }
