"""Reading OTLP JSON (traces and logs) into plain spans, for the otlp and openinference adapters.

OTLP/JSON uses camelCase keys, 64-bit integers as decimal strings, and hex ids; attribute
values are ``AnyValue`` objects. A file holds one ``Export*ServiceRequest`` per line or
one whole document. Some exporters write ids as base64 (protobuf's JSON mapping); both
are accepted and returned as hex.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from genailog.errors import InvalidRecordError
from genailog.ingest.formats._common import decode, json_lines, not_object

_STATUS_ERROR = ("STATUS_CODE_ERROR", 2, "2", "ERROR")


@dataclass
class Span:
    """One span with its attributes decoded to Python values."""

    file: str
    line: int
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    name: str
    start: Any
    end: Any
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_error: bool
    status_message: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    scope: str = ""


@dataclass
class LogRecord:
    """One OTLP log record (GenAI instrumentations emit message content as these)."""

    trace_id: str | None
    span_id: str | None
    event_name: str | None
    attributes: dict[str, Any]
    body: Any
    file: str = ""
    line: int = 0
    time: Any = None
    resource: dict[str, Any] = field(default_factory=dict)


def any_value(value: dict[str, Any] | None) -> Any:
    """The Python value of an OTLP ``AnyValue``."""
    if not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        return int(inner)
    if kind == "doubleValue":
        return float(inner)
    if kind == "arrayValue":
        return [any_value(v) for v in (inner or {}).get("values", [])]
    if kind == "kvlistValue":
        return attributes((inner or {}).get("values", []))
    return inner


def attributes(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: any_value(item.get("value")) for item in items or [] if "key" in item}


def hex_id(value: str | None, size: int) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex, from hex or base64."""
    if not value:
        return None
    if len(value) == size * 2:
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value


def documents(file: str, data: bytes
              ) -> Iterator[tuple[int, dict[str, Any] | InvalidRecordError]]:
    """(line, request) for each export request in the file: whole document or per line;
    a line that is no request gives its error instead."""
    try:
        whole = decode(data.removeprefix(b"\xef\xbb\xbf"))
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        yield 1, whole
        return
    for line, value in json_lines(file, data):
        error = not_object(file, line, value, "an OTLP export request")
        yield line, error or value


def _span(file: str, line: int, raw: dict[str, Any], resource: dict[str, Any],
          scope: str) -> Span:
    status = raw.get("status") or {}
    return Span(
        file=file, line=line,
        trace_id=hex_id(raw.get("traceId"), 16), span_id=hex_id(raw.get("spanId"), 8),
        parent_span_id=hex_id(raw.get("parentSpanId"), 8), name=str(raw.get("name", "")),
        start=raw.get("startTimeUnixNano"), end=raw.get("endTimeUnixNano"),
        attributes=attributes(raw.get("attributes")), resource=resource,
        status_error=status.get("code") in _STATUS_ERROR,
        status_message=status.get("message") or None,
        events=[{"name": e.get("name"), "time": e.get("timeUnixNano"),
                 "attributes": attributes(e.get("attributes"))} for e in raw.get("events") or []],
        scope=scope,
    )


def spans(file: str, data: bytes) -> Iterator[Span | InvalidRecordError]:
    """Every span of an OTLP traces file, and the error of each unreadable line."""
    for line, request in documents(file, data):
        if isinstance(request, InvalidRecordError):
            yield request
            continue
        for resource_spans in request.get("resourceSpans") or []:
            resource = attributes((resource_spans.get("resource") or {}).get("attributes"))
            scopes = (resource_spans.get("scopeSpans")
                      or resource_spans.get("instrumentationLibrarySpans") or [])
            for scope in scopes:
                name = str((scope.get("scope") or scope.get("instrumentationLibrary") or {})
                           .get("name", ""))
                for raw in scope.get("spans") or []:
                    yield _span(file, line, raw, resource, name)


def log_records(file: str, data: bytes) -> Iterator[LogRecord]:
    """Every log record of an OTLP logs file."""
    for line, request in documents(file, data):
        if isinstance(request, InvalidRecordError):
            continue  # the traces give the records; a bad logs line only loses content
        for resource_logs in request.get("resourceLogs") or []:
            resource = attributes((resource_logs.get("resource") or {}).get("attributes"))
            for scope in resource_logs.get("scopeLogs") or []:
                for raw in scope.get("logRecords") or []:
                    attrs = attributes(raw.get("attributes"))
                    yield LogRecord(
                        trace_id=hex_id(raw.get("traceId"), 16),
                        span_id=hex_id(raw.get("spanId"), 8),
                        event_name=raw.get("eventName") or attrs.get("event.name"),
                        attributes=attrs, body=any_value(raw.get("body")), file=file,
                        line=line, resource=resource,
                        time=raw.get("timeUnixNano") or raw.get("observedTimeUnixNano"))


def is_logs(data: bytes) -> bool:
    return b'"resourceLogs"' in data[:65536]


def exception_message(span: Span) -> tuple[str | None, str | None]:
    """(type, message) of the span's ``exception`` event, if any."""
    for event in span.events:
        if event["name"] == "exception":
            attrs = event["attributes"]
            return attrs.get("exception.type"), attrs.get("exception.message")
    return None, None
