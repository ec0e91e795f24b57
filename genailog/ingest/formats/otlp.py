"""OpenTelemetry GenAI semantic conventions, from OTLP JSON traces (and logs beside them).

Token semantics: ``gen_ai.usage.input_tokens`` includes cached tokens by the convention,
and ``gen_ai.usage.cache_read.input_tokens`` / ``cache_creation.input_tokens`` are parts of
it; an instrumentation that breaks that (a total below its cached part) is corrected.
Message content is read from ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
``gen_ai.system_instructions`` on the span, else from OTLP log records (or span events)
joined by trace and span id, including the older per-message events.
"""

from __future__ import annotations

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
    from_unix_nanos,
    loads_maybe,
    millis_between,
    normalize_tokens,
    text_of,
)
from genailog.ingest.formats._dedupe import Call, merge_duplicates
from genailog.ingest.formats._spans import LogRecord, Span, exception_message, is_logs, log_records
from genailog.ingest.formats._spans import spans as read_spans

_LLM_KEYS = ("gen_ai.operation.name", "gen_ai.system", "gen_ai.request.model")
_NOT_CALLS = frozenset({"invoke_agent", "create_agent", "execute_tool"})
_RETRIEVAL_KEYS = ("gen_ai.retrieval.documents", "db.query.result.documents")
_REQUEST_PARAMS = ("temperature", "top_p", "top_k", "max_tokens", "frequency_penalty",
                   "presence_penalty", "stop_sequences", "seed", "choice.count")
_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_EVALUATION_EVENT = "gen_ai.evaluation.result"
_OLD_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
               "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}


_LANGFUSE = "langfuse.observation."
#: Langfuse observation types that are model calls.
_LANGFUSE_CALLS = frozenset({"generation", "embedding"})


def is_langfuse_span(span: Span) -> bool:
    return _LANGFUSE + "type" in span.attributes


def is_llm_span(span: Span) -> bool:
    """A model call: agent and tool spans are not, even with a model and usage on them
    (an agent span's usage sums its calls', which would count them twice)."""
    if is_langfuse_span(span):
        return str(span.attributes[_LANGFUSE + "type"]).lower() in _LANGFUSE_CALLS
    operation = span.attributes.get("gen_ai.operation.name")
    if operation in _NOT_CALLS:
        return False
    return any(key in span.attributes for key in _LLM_KEYS)


def _parts_messages(value: Any) -> list[dict[str, Any]] | None:
    """``gen_ai.*.messages`` (JSON text or structured) as canonical role/content messages."""
    items = loads_maybe(value)
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        if isinstance(item, dict):
            content = item.get("parts", item.get("content"))
            out.append({"role": str(item.get("role") or "user"), "content": text_of(content)})
    return out or None


def _event_messages(events: list[tuple[str | None, dict[str, Any], Any]]
                    ) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """Input and output messages from old-style per-message events: (name, attrs, body)."""
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    for name, attrs, body in events:
        body = loads_maybe(body) if body is not None else attrs
        if name in _OLD_EVENTS:
            content = body.get("content") if isinstance(body, dict) else body
            inputs.append({"role": _OLD_EVENTS[name], "content": text_of(content)})
        elif name == "gen_ai.choice" and isinstance(body, dict):
            message = body.get("message") or {}
            outputs.append({"role": "assistant", "content": text_of(message.get("content"))})
    return inputs or None, outputs or None


def _messages_from(attrs: dict[str, Any], events: list[tuple[str | None, dict[str, Any], Any]]
                   ) -> dict[str, Any]:
    inputs = _parts_messages(attrs.get("gen_ai.input.messages"))
    outputs = _parts_messages(attrs.get("gen_ai.output.messages"))
    if inputs is None and outputs is None:
        inputs, outputs = _event_messages(events)
    system = text_of(loads_maybe(attrs.get("gen_ai.system_instructions")))
    texts = [m["content"] for m in outputs or [] if m["content"]]
    return {"messages": inputs, "response": "\n".join(texts) if texts else None,
            "system_prompt": system}


def eval_scores(events: list[tuple[str | None, dict[str, Any], Any]]
                ) -> dict[str, float] | None:
    """``gen_ai.evaluation.result`` events as ``{evaluation name: score}``."""
    scores: dict[str, float] = {}
    for name, attrs, _ in events:
        value = attrs.get("gen_ai.evaluation.score.value")
        key = attrs.get("gen_ai.evaluation.name")
        if name == _EVALUATION_EVENT and key and isinstance(value, int | float) and not (
                isinstance(value, bool)):
            scores[str(key)] = float(value)
    return scores or None


def _class_name(value: Any) -> Any:
    """``<class 'openai.RateLimitError'>`` (as some instrumentations write it) as the name."""
    text = str(value or "")
    if text.startswith("<class '") and text.endswith("'>"):
        return text[len("<class '"):-2]
    return value


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (value or None)


def _usage(attrs: dict[str, Any]) -> dict[str, Any]:
    def pick(*keys: str) -> int | None:
        return next((as_int(attrs[k]) for k in keys if attrs.get(k) is not None), None)

    return {
        "input_tokens": pick("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "output_tokens": pick("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        "cached_input_tokens": pick("gen_ai.usage.cache_read.input_tokens",
                                    "gen_ai.usage.cache_read_input_tokens"),
        "cache_write_tokens": pick("gen_ai.usage.cache_creation.input_tokens",
                                   "gen_ai.usage.cache_creation_input_tokens"),
        "reasoning_tokens": pick("gen_ai.usage.reasoning.output_tokens"),
    }


def _request_params(attrs: dict[str, Any]) -> dict[str, Any]:
    return {p: attrs[f"gen_ai.request.{p}"] for p in _REQUEST_PARAMS
            if f"gen_ai.request.{p}" in attrs}


def span_common(span: Span) -> Record:
    """Fields every span-based format fills the same way: ids, times, status, resource."""
    start, end = from_unix_nanos(span.start), from_unix_nanos(span.end)
    error_type, error_message = exception_message(span)
    record: Record = {
        "timestamp": start, "latency_ms": millis_between(start, end),
        "trace_id": span.trace_id, "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "status": "error" if span.status_error else "ok",
        "app": span.resource.get("service.name"),
        "environment": span.resource.get("deployment.environment.name",
                                         span.resource.get("deployment.environment")),
    }
    if span.status_error:
        record["error_message"] = span.status_message or error_message
        record["error_type"] = error_type
    if str(record["app"] or "").startswith("unknown_service"):
        record["app"] = None
    return record


def langfuse_record(span: Span) -> Record:
    """A Langfuse SDK (v3+) generation span: ``langfuse.observation.*`` attributes read as
    the Langfuse export row they become (see ``langfuse.py``); the usage the SDK sends is
    the provider's own usage object (OpenAI or Anthropic names) or Langfuse's
    ``input``/``output`` keys, and both are read."""
    from genailog.ingest.formats import aliases, langfuse

    attrs = span.attributes
    usage = loads_maybe(attrs.get(_LANGFUSE + "usage_details"))
    row: dict[str, Any] = {
        "type": "GENERATION", "model": attrs.get(_LANGFUSE + "model.name"),
        "level": attrs.get(_LANGFUSE + "level"),
        "status_message": attrs.get(_LANGFUSE + "status_message"),
        "input": attrs.get(_LANGFUSE + "input"), "output": attrs.get(_LANGFUSE + "output"),
        "cost_details": attrs.get(_LANGFUSE + "cost_details"),
        "model_parameters": attrs.get(_LANGFUSE + "model.parameters"),
        "metadata": attrs.get(_LANGFUSE + "metadata"),
        "prompt_name": attrs.get(_LANGFUSE + "prompt.name"),
        "prompt_version": attrs.get(_LANGFUSE + "prompt.version"),
        "session_id": attrs.get("session.id"), "user_id": attrs.get("user.id"),
        "environment": attrs.get("langfuse.environment"),
        "trace_name": attrs.get("langfuse.trace.name"),
        "tags": attrs.get("langfuse.trace.tags"),
    }
    record = langfuse.row_record({k: v for k, v in row.items() if v is not None})
    common = span_common(span)
    record.update({k: v for k, v in common.items() if k not in ("status", "error_message")})
    if isinstance(usage, dict):
        mapped, _, _ = aliases.map_fields(usage)
        tokens = mapped if "input_tokens" in mapped else {
            k: v for k, v in langfuse.row_record({"usage_details": usage}).items()
            if k.endswith("_tokens")}
        record.update({k: v for k, v in tokens.items() if k.endswith("_tokens")})
    first = attrs.get(_LANGFUSE + "completion_start_time")
    if isinstance(first, str) and record.get("timestamp") is not None:
        from genailog.ingest.formats._common import parse_time

        record["ttft_ms"] = millis_between(record["timestamp"], parse_time(first.strip('"')))
    if span.status_error and record.get("status") != "error":
        record.update(status="error", error_message=span.status_message)
    if record.get("status") == "error" and record.get("cost_usd") == 0:
        record.pop("cost_usd")  # a failed call's zero cost is no price
    return compact(normalize_tokens(record))


def span_record(span: Span, events: list[tuple[str | None, dict[str, Any], Any]]) -> Record:
    """The canonical record of one GenAI span, with its joined events/log records."""
    if is_langfuse_span(span):
        return langfuse_record(span)
    attrs = span.attributes
    record = span_common(span)
    if span.status_error and not record.get("error_type"):
        record["error_type"] = _class_name(attrs.get("error.type"))
    record.update({
        "model": attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model"),
        "provider": attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"),
        "operation": attrs.get("gen_ai.operation.name"),
        "finish_reason": _first(attrs.get("gen_ai.response.finish_reasons")),
        "request_id": attrs.get("gen_ai.response.id"),
        "session_id": attrs.get("gen_ai.conversation.id") or attrs.get("session.id"),
        "user_id": attrs.get("user.id") or attrs.get("enduser.id"),
        "prompt_id": attrs.get("gen_ai.prompt.name"),
        "eval_scores": eval_scores(events),
        **_usage(attrs),
        **_messages_from(attrs, events),
    })
    extra = {"request": _request_params(attrs),
             "response_model": attrs.get("gen_ai.response.model")}
    record["metadata"] = compact(extra) or None
    return compact(fill_prompts(normalize_tokens(record)))


def _log_events(logs: list[LogRecord]) -> dict[tuple[str | None, str | None], list[Any]]:
    joined: dict[tuple[str | None, str | None], list[Any]] = {}
    for log in logs:
        joined.setdefault((log.trace_id, log.span_id), []).append(log)
    return joined


def _events_for(span: Span, logs: list[LogRecord]) -> list[tuple[str | None, dict[str, Any], Any]]:
    """Span events plus joined log records as (name, attributes, body)."""
    events = [(e["name"], e["attributes"], None) for e in span.events]
    events += [(log.event_name, log.attributes, log.body) for log in logs]
    return events


def _merge_details(attrs: dict[str, Any], logs: list[LogRecord]) -> dict[str, Any]:
    """Span attributes completed by an ``operation.details`` log record's attributes."""
    merged = dict(attrs)
    for log in logs:
        for key, value in log.attributes.items():
            merged.setdefault(key, value)
    return merged


def retrieval_docs(span: Span) -> list[Any] | None:
    for key in _RETRIEVAL_KEYS:
        docs = loads_maybe(span.attributes.get(key))
        if isinstance(docs, list) and docs:
            return docs
    return None


def attach_retrieval(records: list[Located], docs: dict[str | None, list[Any]]) -> None:
    """Give each LLM record of a trace the documents retrieved in that trace."""
    for _, _, record in records:
        found = docs.get(record.get("trace_id"))
        if found and not record.get("retrieval_docs"):
            record["retrieval_docs"] = found


def attach_scores(records: list[Located], scores: dict[str | None, dict[str, float]]) -> None:
    """Give each LLM record of a trace the evaluation scores reported elsewhere in it."""
    for _, _, record in records:
        found = scores.get(record.get("trace_id"))
        if found:
            record["eval_scores"] = {**found, **(record.get("eval_scores") or {})}


def _trace_scores(span: Span, logs: list[LogRecord], into: dict[str | None, dict[str, float]]
                  ) -> None:
    found = eval_scores(_events_for(span, logs))
    if found:
        into.setdefault(span.trace_id, {}).update(found)


def _details_span(log: LogRecord) -> Span:
    """A span stand-in for an operation-details log record whose span was not given:
    it carries the call's attributes, but its time is when the call ended, with no
    duration."""
    return Span(file=log.file, line=log.line, trace_id=log.trace_id, span_id=log.span_id,
                parent_span_id=None, name="", start=log.time, end=None,
                attributes=log.attributes, resource=log.resource,
                status_error="error.type" in log.attributes, status_message=None)


def _unjoined_details(logs: list[LogRecord], seen: set[tuple[str | None, str | None]]
                      ) -> Iterator[Located]:
    for log in logs:
        key = (log.trace_id, log.span_id)
        if log.event_name == _DETAILS_EVENT and key not in seen:
            yield log.file, log.line, span_record(_details_span(log), [])


def load_many(files: list[tuple[str, bytes]]) -> Iterator[Item]:
    """Records of every GenAI span in the traces files, joined with the logs files; an
    operation-details log record with no span given becomes a record of its own."""
    traces = [(name, data) for name, data in files if not is_logs(data)]
    logs = [log for name, data in files if is_logs(data) for log in log_records(name, data)]
    joined = _log_events(logs)
    calls: list[Call] = []
    docs: dict[str | None, list[Any]] = {}
    scores: dict[str | None, dict[str, float]] = {}
    seen: set[tuple[str | None, str | None]] = set()
    from genailog.ingest.formats import openinference

    inference: list[Span] = []
    parents: dict[str | None, str | None] = {}
    for name, data in traces:
        for span in read_spans(name, data):
            if isinstance(span, InvalidRecordError):
                yield span.file, span.line, span
                continue
            if isinstance(span, OtherLine):
                yield name, 0, span
                continue
            parents[span.span_id] = span.parent_span_id
            if openinference.span_kind(span):  # OpenInference spans beside these
                if openinference.span_kind(span) == "LLM":
                    inference.append(span)
                    continue
                if (found_docs := openinference.documents_of(span)):
                    docs.setdefault(span.trace_id, []).extend(found_docs)
                yield span.file, span.line, OtherLine()
                continue
            found = joined.get((span.trace_id, span.span_id), [])
            if is_llm_span(span):
                seen.add((span.trace_id, span.span_id))
                span.attributes = _merge_details(span.attributes, found)
                calls.append((span, _events_for(span, found)))
                continue
            if (documents := retrieval_docs(span)) is not None:
                docs.setdefault(span.trace_id, []).extend(documents)
            _trace_scores(span, found, scores)
            yield span.file, span.line, OtherLine()  # a span that is no model call
    records: list[Located] = [(span.file, span.line, span_record(span, events))
                              for span, events in merge_duplicates(calls)]
    records += _unjoined_details(logs, seen)
    records += [(span.file, span.line, record)
                for span, record in openinference.calls_of(inference, parents)]
    attach_retrieval(records, docs)
    attach_scores(records, scores)
    yield from records
