"""OpenInference (Arize Phoenix) spans, from OTLP JSON traces.

Token semantics: ``llm.token_count.prompt`` includes cached tokens, and
``llm.token_count.prompt_details.cache_read`` / ``cache_write`` are parts of it (the
OpenAI convention); a prompt count below its cached part is corrected. Spans of kind
``LLM`` become records; ``RETRIEVER`` spans lend their documents to the LLM records of
the same trace. Messages are flattened attributes ``llm.input_messages.N.message.*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from genailog.errors import InvalidRecordError
from genailog.ingest.formats._common import (
    Item,
    Located,
    OtherLine,
    Record,
    as_int,
    compact,
    fill_prompts,
    loads_maybe,
    normalize_tokens,
)
from genailog.ingest.formats._spans import Span
from genailog.ingest.formats._spans import spans as read_spans
from genailog.ingest.formats.otlp import attach_retrieval, span_common

_INDEXED = re.compile(r"^(?P<prefix>[a-z_.]+?)\.(?P<index>\d+)\.(?P<rest>.+)$")


def span_kind(span: Span) -> str:
    return str(span.attributes.get("openinference.span.kind", "")).upper()


def indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Flattened ``prefix.N.key`` attributes as a list of ``{key: value}`` dicts."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        match = _INDEXED.match(key)
        if match and match["prefix"] == prefix:
            found.setdefault(int(match["index"]), {})[match["rest"]] = value
    return [found[i] for i in sorted(found)]


def _messages(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]] | None:
    out = [{"role": str(m.get("message.role") or "user"),
            "content": m.get("message.content")} for m in indexed(attrs, prefix)]
    return out or None


def _plain_value(attrs: dict[str, Any], kind: str) -> str | None:
    """``input.value`` / ``output.value`` when it is text rather than a JSON payload."""
    value = attrs.get(f"{kind}.value")
    if not isinstance(value, str) or attrs.get(f"{kind}.mime_type") == "application/json":
        return None
    return value


def _documents(attrs: dict[str, Any]) -> list[dict[str, Any]] | None:
    docs = [compact({"id": d.get("document.id"), "score": d.get("document.score"),
                     "content": d.get("document.content")})
            for d in indexed(attrs, "retrieval.documents")]
    return docs or None


def _usage(attrs: dict[str, Any]) -> Record:
    prefix = "llm.token_count."
    return {
        "input_tokens": as_int(attrs.get(prefix + "prompt")),
        "output_tokens": as_int(attrs.get(prefix + "completion")),
        "cached_input_tokens": as_int(attrs.get(prefix + "prompt_details.cache_read")),
        "cache_write_tokens": as_int(attrs.get(prefix + "prompt_details.cache_write")),
        "reasoning_tokens": as_int(attrs.get(prefix + "completion_details.reasoning")),
    }


def span_record(span: Span) -> Record:
    attrs = span.attributes
    params = loads_maybe(attrs.get("llm.invocation_parameters"))
    params = params if isinstance(params, dict) else {}
    outputs = _messages(attrs, "llm.output_messages") or []
    texts = [m["content"] for m in outputs if m["content"]]
    record = span_common(span)
    record.update({
        "model": attrs.get("llm.model_name") or params.get("model"),
        "provider": attrs.get("llm.provider") or attrs.get("llm.system"),
        "operation": "chat",
        "messages": _messages(attrs, "llm.input_messages"),
        "response": "\n".join(texts) if texts else None,
        "finish_reason": attrs.get("llm.finish_reason"),
        "session_id": attrs.get("session.id"),
        "user_id": attrs.get("user.id"),
        "prompt_id": attrs.get("llm.prompt_template.id") or attrs.get("prompt.id"),
        "prompt_version": attrs.get("llm.prompt_template.version"),
        "tags": attrs.get("tag.tags"),
        "retrieval_docs": _documents(attrs),
        **_usage(attrs),
    })
    if not record["messages"]:
        record["prompt"] = _plain_value(attrs, "input")
    if record["response"] is None:
        record["response"] = _plain_value(attrs, "output")
    user_meta = loads_maybe(attrs.get("metadata"))
    record["metadata"] = compact({"request": params, **(
        user_meta if isinstance(user_meta, dict) else {})}) or None
    return compact(fill_prompts(normalize_tokens(record)))


def documents_of(span: Span) -> list[dict[str, Any]] | None:
    """A RETRIEVER span's documents."""
    return _documents(span.attributes) if span_kind(span) == "RETRIEVER" else None


def _within(inner: Span, outer: Span) -> bool:
    a0, a1, b0, b1 = (int(v or 0) for v in (inner.start, inner.end, outer.start, outer.end))
    return b0 <= a0 and a1 <= b1


def calls_of(llm_spans: list[Span], parents: dict[str | None, str | None]
             ) -> list[tuple[Span, Record]]:
    """The LLM spans that stand for one model call each, with their records.

    Frameworks trace a call twice: LlamaIndex's ``predict`` span wraps its ``chat`` span,
    and auto-instrumentation adds the SDK's ``ChatCompletion`` span beside LangChain's
    ``ChatOpenAI`` (in a trace of its own). So an LLM span with an LLM span below it is
    not a call of its own, and an LLM span of another name whose time lies within one's,
    with the same model and token counts, is the same call. Each span's record is built
    once, and a sweep in time order looks only at the kept spans still open.
    """
    ids = {s.span_id for s in llm_spans}
    wrapping: set[str | None] = set()
    for span in llm_spans:
        seen, parent = set(), parents.get(span.span_id)
        while parent is not None and parent not in seen:
            seen.add(parent)
            if parent in ids:
                wrapping.add(parent)
            parent = parents.get(parent)
    records = {id(s): span_record(s) for s in llm_spans if s.span_id not in wrapping}
    usage = {id(s): _usage(s.attributes) for s in llm_spans if id(s) in records}
    keys = {n: (r.get("model"), usage[n]["input_tokens"], usage[n]["output_tokens"])
            for n, r in records.items()}  # the counts as logged, before normalization
    kept: list[Span] = []
    active: list[Span] = []  # kept spans whose end is not before the current start
    for span in sorted((s for s in llm_spans if id(s) in records),
                       key=lambda s: int(s.start or 0)):
        active = [k for k in active if int(k.end or 0) >= int(span.start or 0)]
        if not any(k.name != span.name and _within(span, k) and keys[id(k)] == keys[id(span)]
                   for k in active):
            kept.append(span)
            active.append(span)
    order = {id(s): n for n, s in enumerate(llm_spans)}
    return [(s, records[id(s)]) for s in sorted(kept, key=lambda s: order[id(s)])]


def load_many(files: list[tuple[str, bytes]]) -> Iterator[Item]:
    llm: list[Span] = []
    parents: dict[str | None, str | None] = {}
    docs: dict[str | None, list[Any]] = {}
    for name, data in files:
        for span in read_spans(name, data):
            if isinstance(span, InvalidRecordError):
                yield span.file, span.line, span
                continue
            if isinstance(span, OtherLine):
                yield name, 0, span
                continue
            parents[span.span_id] = span.parent_span_id
            kind = span_kind(span)
            if kind == "LLM":
                llm.append(span)
            else:
                if kind == "RETRIEVER" and (found := _documents(span.attributes)):
                    docs.setdefault(span.trace_id, []).extend(found)
                yield span.file, span.line, OtherLine()  # a span that is no model call
    calls = calls_of(llm, parents)
    counted = {id(span) for span, _ in calls}
    for span in llm:
        if id(span) not in counted:
            yield span.file, span.line, OtherLine()  # the same call traced twice
    records: list[Located] = [(span.file, span.line, record) for span, record in calls]
    attach_retrieval(records, docs)
    yield from records
