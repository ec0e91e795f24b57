"""One model call reported by two instrumentations, merged into one record.

A provider SDK with built-in tracing (the anthropic SDK 2.x, for one) and an
instrumentor (OpenLLMetry, OpenInference, ...) each emit a GenAI span for the same call,
often in separate traces. Counting both doubles requests, tokens and cost. Two spans
from different instrumentation scopes are the same call when their times overlap and
they carry the same ``gen_ai.response.id`` for the same model or, without a response id
(a failed call), when they have the same model and status and one span's time contains
the other's. The first span is kept, completed by the other's attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from genailog.ingest.formats._spans import Span

#: A GenAI span with its joined events, as (name, attributes, body).
Call = tuple[Span, list[tuple[str | None, dict[str, Any], Any]]]

Merge = Callable[[Call, Call], Call]

_MODEL = "gen_ai.request.model"
_RESPONSE_ID = "gen_ai.response.id"


def _origin(span: Span) -> str:
    """Which instrumentation wrote a span: its scope, or, in shapes that do not carry the
    scope (the SDK's span JSON), its name, which differs between instrumentations."""
    return span.scope or f"name:{span.name}"


def _merge(first: Call, second: Call) -> Call:
    """The first span, completed by the second's attributes and events."""
    span, other = first[0], second[0]
    span.attributes = {**other.attributes, **span.attributes}
    span.status_error = span.status_error or other.status_error
    span.status_message = span.status_message or other.status_message
    return span, first[1] + second[1]


def _by_response_id(calls: list[Call], merge: Merge) -> tuple[list[Call], list[Call]]:
    """Calls merged on response id, and the calls without one."""
    kept: dict[tuple[Any, Any], Call] = {}
    scopes: dict[tuple[Any, Any], set[str]] = {}
    without: list[Call] = []
    for call in calls:
        attrs = call[0].attributes
        if not attrs.get(_RESPONSE_ID):
            without.append(call)
            continue
        key = (attrs[_RESPONSE_ID], attrs.get(_MODEL))
        if key in kept and _origin(call[0]) not in scopes[key] and _overlap(kept[key][0],
                                                                               call[0]):
            kept[key] = merge(kept[key], call)
            scopes[key].add(_origin(call[0]))
        elif key in kept:
            without.append(call)  # same scope twice: not a second instrumentation
        else:
            kept[key], scopes[key] = call, {_origin(call[0])}
    return list(kept.values()), without


def _overlap(a: Span, b: Span) -> bool:
    """The two spans' times intersect (ids alone can repeat across separate runs)."""
    return int(a.start or 0) <= int(b.end or 0) and int(b.start or 0) <= int(a.end or 0)


def _nested(a: Span, b: Span) -> bool:
    a0, a1, b0, b1 = (int(v or 0) for v in (a.start, a.end, b.start, b.end))
    return (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)


def _same_call(a: Span, b: Span) -> bool:
    return (_origin(a) != _origin(b) and a.attributes.get(_MODEL) == b.attributes.get(_MODEL)
            and a.status_error == b.status_error and _nested(a, b))


def _by_time(calls: list[Call], merge: Merge) -> list[Call]:
    """Calls merged when two scopes' spans nest in time; a sweep keeps it near linear."""
    out: list[Call] = []
    active: list[int] = []  # indexes into out whose span may still contain later ones
    for call in sorted(calls, key=lambda c: int(c[0].start or 0)):
        start = int(call[0].start or 0)
        active = [i for i in active if int(out[i][0].end or 0) >= start]
        match = next((i for i in active if _same_call(out[i][0], call[0])), None)
        if match is None:
            out.append(call)
            active.append(len(out) - 1)
        else:
            out[match] = merge(out[match], call)
    return out


def merge_duplicates(calls: list[Call]) -> list[Call]:
    """The calls with each double-reported call merged into one, in file order."""
    if len({_origin(call[0]) for call in calls}) < 2:
        return calls
    order = {id(call[0]): n for n, call in enumerate(calls)}

    def merge(first: Call, second: Call) -> Call:
        order[id(first[0])] = min(order[id(first[0])], order[id(second[0])])
        return _merge(first, second)

    with_id, without = _by_response_id(calls, merge)
    merged = with_id + _by_time(without, merge)
    return sorted(merged, key=lambda c: order[id(c[0])])
