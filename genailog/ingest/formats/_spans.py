"""Reading OTLP JSON (traces and logs) into plain spans, for the otlp and openinference adapters.

OTLP/JSON uses camelCase keys, 64-bit integers as decimal strings, and hex ids; attribute
values are ``AnyValue`` objects. A file holds one ``Export*ServiceRequest`` per line or
one whole document. Some exporters write ids as base64 (protobuf's JSON mapping); both
are accepted and returned as hex.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from genailog.errors import InvalidRecordError
from genailog.ingest.formats._common import OtherLine, decode, not_object

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
              ) -> Iterator[tuple[int, dict[str, Any] | InvalidRecordError | OtherLine]]:
    """(line, document) for each JSON document in the file: one whole document, one per
    line, pretty-printed documents back to back (ConsoleSpanExporter), or the items of a
    JSON array; a stretch that is no JSON gives its error and reading goes on at the next
    line. ``{"data": [...]}`` wrappers (Phoenix's REST API) give their items."""
    text = data.decode("utf-8-sig", errors="replace")
    for line, value in _values(file, text):
        if isinstance(value, OtherLine):
            yield line, value
            continue
        if isinstance(value, dict) and isinstance(value.get("data"), list) and not (
                "resourceSpans" in value or "context" in value):
            for item in value["data"]:
                error = not_object(file, line, item, "a span or an OTLP export request")
                yield line, error or item
            continue
        error = not_object(file, line, value, "an OTLP export request or a span")
        yield line, error or value


def _values(file: str, text: str) -> Iterator[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    at, size = 0, len(text)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            whole = decode(stripped)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            whole = None
        if isinstance(whole, list):
            line = text.count("\n", 0, size - len(stripped)) + 1
            for item in whole:
                yield line, item
            return
    line, counted = 1, 0  # lines counted as the reading goes: linear in the file
    while at < size:
        while at < size and text[at] in " \t\r\n":
            at += 1
        if at >= size:
            return
        line += text.count("\n", counted, at)
        counted = at
        try:
            value, at = decoder.raw_decode(text, at)
        except (json.JSONDecodeError, RecursionError) as exc:
            if text[at] in "{[":
                why = getattr(exc, "msg", "nested deeper than genailog reads")
                yield line, InvalidRecordError(file, line, f"not valid JSON: {why}")
            else:
                yield line, OtherLine()  # a program's own output between the documents
            nxt = text.find("\n", at)
            at = size if nxt < 0 else nxt + 1
            continue
        yield line, value


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


def spans(file: str, data: bytes) -> Iterator[Span | InvalidRecordError | OtherLine]:
    """Every span of a traces file (OTLP JSON, OTel SDK span JSON, Phoenix span rows),
    and the error of each unreadable line."""
    if is_protobuf(data):
        from genailog.ingest.formats import _otlp_proto

        try:
            data = _otlp_proto.to_json(file, data)
        except InvalidRecordError as exc:
            yield exc
            return
    for line, request in documents(file, data):
        if isinstance(request, InvalidRecordError | OtherLine):
            yield request
            continue
        if "resourceSpans" not in request:
            if isinstance(request.get("attributes"), list) and "span_id" in request:
                yield _span(file, line, snake_otlp(request), {}, "")
            elif "resourceLogs" not in request:
                yield sdk_span(file, line, request)
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
        if isinstance(request, InvalidRecordError | OtherLine):
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


def is_protobuf(data: bytes) -> bool:
    """An OTLP protobuf body (ExportTraceServiceRequest): field 1, length-delimited."""
    return data[:1] == b"\x0a" and not data[:64].lstrip().startswith((b"{", b"["))


def _nanos(value: Any) -> int | None:
    """A time as Unix nanoseconds: RFC 3339 text, or a number in s, ms, µs or ns."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        scale = 1 if number > 1e17 else 1_000 if number > 1e14 else (
            1_000_000 if number > 1e11 else 1_000_000_000)
        return int(value) * scale if isinstance(value, int) else int(number * scale)
    text = str(value).strip().replace(" ", "T", 1)
    if text[-1:] in "zZ":
        text = text[:-1] + "+00:00"
    fraction = ""
    if "." in text:  # fromisoformat keeps microseconds only: keep the nanoseconds apart
        head, _, rest = text.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        fraction, text = digits, head + rest[len(digits):]
    try:
        stamp = datetime.fromisoformat(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        return None
    if stamp.tzinfo is None:
        from datetime import UTC

        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp()) * 1_000_000_000 + int((fraction or "0")[:9].ljust(9, "0"))


def _flatten(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, into)
    else:
        into[prefix] = value


def _plain_id(value: Any, size: int) -> str | None:
    if not value:
        return None
    text = str(value)
    return hex_id(text[2:] if text.startswith("0x") else text, size)


def sdk_span(file: str, line: int, raw: dict[str, Any]) -> Span:
    """A span as the OTel SDK writes it (``span.to_json()``: ConsoleSpanExporter,
    InMemorySpanExporter dumps) or as Phoenix exports it (REST JSON, dataframe rows with
    ``context.*``/``attributes.*`` columns)."""
    flat: dict[str, Any] = {}
    _flatten("", {k: v for k, v in raw.items() if k != "events"}, flat)
    attrs = {k.removeprefix("attributes."): v for k, v in flat.items()
             if k.startswith("attributes.") and v is not None}
    resource = {k.removeprefix("resource.attributes."): v for k, v in flat.items()
                if k.startswith("resource.attributes.")}
    status: dict[str, Any] = raw["status"] if isinstance(raw.get("status"), dict) else {}
    code = str(status.get("status_code") or raw.get("status_code") or "").upper()
    kind = raw.get("span_kind") or flat.get("attributes.openinference.span.kind")
    if kind and "openinference.span.kind" not in attrs:
        attrs["openinference.span.kind"] = kind
    events: list[Any] = raw["events"] if isinstance(raw.get("events"), list) else []
    scope = raw.get("instrumentation_scope") or raw.get("instrumentationScope") or {}
    return Span(
        file=file, line=line,
        trace_id=_plain_id(flat.get("context.trace_id"), 16),
        span_id=_plain_id(flat.get("context.span_id"), 8),
        parent_span_id=_plain_id(raw.get("parent_id"), 8), name=str(raw.get("name", "")),
        start=_nanos(raw.get("start_time")), end=_nanos(raw.get("end_time")),
        attributes=attrs, resource=resource, status_error=code.endswith("ERROR"),
        status_message=status.get("description") or raw.get("status_message") or None,
        events=[{"name": e.get("name"), "time": _nanos(e.get("timestamp")),
                 "attributes": e.get("attributes") or {}} for e in events
                if isinstance(e, dict)],
        scope=str(scope.get("name", "")) if isinstance(scope, dict) else "",
    )


_SNAKE = {"trace_id": "traceId", "span_id": "spanId", "parent_span_id": "parentSpanId",
          "start_time_unix_nano": "startTimeUnixNano", "end_time_unix_nano": "endTimeUnixNano",
          "time_unix_nano": "timeUnixNano"}


def _snake_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key, inner in value.items():
        if inner is not None:
            head, *rest = key.split("_")
            camel = head + "".join(w.title() for w in rest)
            if key == "array_value":
                inner = {"values": [_snake_value(v) for v in (inner.get("values") or [])]}
            elif key == "kvlist_value":
                inner = {"values": _snake_attrs(inner.get("values"))}
            return {camel: inner}
    return {}


def _snake_attrs(items: Any) -> list[dict[str, Any]]:
    return [{"key": i.get("key"), "value": _snake_value(i.get("value"))}
            for i in items or [] if isinstance(i, dict)]


def snake_otlp(raw: dict[str, Any]) -> dict[str, Any]:
    """An OTLP span in snake_case (Phoenix's ``/spans/otlpv1`` REST answer) in the camelCase
    of the OTLP JSON mapping."""
    out = {_SNAKE.get(k, k): v for k, v in raw.items()}
    out["attributes"] = _snake_attrs(raw.get("attributes"))
    out["events"] = [{_SNAKE.get(k, k): (_snake_attrs(v) if k == "attributes" else v)
                      for k, v in e.items()} for e in raw.get("events") or []
                     if isinstance(e, dict)]
    return out
