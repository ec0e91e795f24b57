"""OTLP/protobuf trace bodies (what OTLP/HTTP exporters send) decoded to OTLP JSON.

A captured ``ExportTraceServiceRequest`` body (``.pb``) goes through the same reader as
OTLP JSON: this module turns the protobuf wire format into the dict the JSON mapping
would give (camelCase keys, hex ids, decimal-string nanoseconds, AnyValue objects). Only
the trace messages are decoded; unknown fields are skipped, as protobuf readers do. It
needs no protobuf library: the wire format is five rules.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from typing import Any

from genailog.errors import InvalidRecordError

Fields = Iterator[tuple[int, int, Any]]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def fields(data: bytes) -> Fields:
    """(field number, wire type, value) of a message: ints, bytes, or fixed-size bytes."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at:at + size], at + size
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if at > len(data):
            raise ValueError("truncated message")
        yield number, wire, value


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _any_value(data: bytes) -> dict[str, Any]:
    for number, _, value in fields(data):
        if number == 1:
            return {"stringValue": _text(value)}
        if number == 2:
            return {"boolValue": bool(value)}
        if number == 3:
            signed = value - (1 << 64) if value >= 1 << 63 else value
            return {"intValue": str(signed)}
        if number == 4:
            return {"doubleValue": struct.unpack("<d", value)[0]}
        if number == 5:
            return {"arrayValue": {"values": [_any_value(v) for n, _, v in fields(value)
                                              if n == 1]}}
        if number == 6:
            return {"kvlistValue": {"values": [_key_value(v) for n, _, v in fields(value)
                                               if n == 1]}}
        if number == 7:
            return {"bytesValue": value.hex()}
    return {}


def _key_value(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number == 1:
            out["key"] = _text(value)
        elif number == 2:
            out["value"] = _any_value(value)
    return out


def _fixed64(value: bytes) -> str:
    return str(struct.unpack("<Q", value)[0])


Spec = dict[int, tuple[str, Callable[[Any], Any], bool]]


def _message(data: bytes, spec: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number in spec:
            name, convert, repeated = spec[number]
            if repeated:
                out.setdefault(name, []).append(convert(value))
            else:
                out[name] = convert(value)
    return out


def _attrs(value: bytes) -> dict[str, Any]:
    return _key_value(value)


_STATUS: Spec = {2: ("message", _text, False), 3: ("code", int, False)}
_EVENT: Spec = {1: ("timeUnixNano", _fixed64, False), 2: ("name", _text, False),
          3: ("attributes", _attrs, True)}
_SPAN: Spec = {
    1: ("traceId", bytes.hex, False), 2: ("spanId", bytes.hex, False),
    4: ("parentSpanId", bytes.hex, False), 5: ("name", _text, False), 6: ("kind", int, False),
    7: ("startTimeUnixNano", _fixed64, False), 8: ("endTimeUnixNano", _fixed64, False),
    9: ("attributes", _attrs, True), 11: ("events", lambda v: _message(v, _EVENT), True),
    15: ("status", lambda v: _message(v, _STATUS), False),
}
_SCOPE: Spec = {1: ("name", _text, False), 2: ("version", _text, False)}
_SCOPE_SPANS: Spec = {1: ("scope", lambda v: _message(v, _SCOPE), False),
                2: ("spans", lambda v: _message(v, _SPAN), True)}
_RESOURCE: Spec = {1: ("attributes", _attrs, True)}
_RESOURCE_SPANS: Spec = {1: ("resource", lambda v: _message(v, _RESOURCE), False),
                   2: ("scopeSpans", lambda v: _message(v, _SCOPE_SPANS), True)}
_REQUEST: Spec = {1: ("resourceSpans", lambda v: _message(v, _RESOURCE_SPANS), True)}


def decode_request(data: bytes) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` as its OTLP JSON mapping."""
    return _message(data, _REQUEST)


def to_json(file: str, data: bytes) -> bytes:
    """The protobuf body as one line of OTLP JSON; an undecodable body raises."""
    try:
        request = decode_request(data)
    except (ValueError, struct.error, IndexError) as exc:
        raise InvalidRecordError(file, 1, f"not an OTLP protobuf trace request: {exc}") from None
    return json.dumps(request).encode()
