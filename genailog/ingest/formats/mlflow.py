"""MLflow traces as ``mlflow`` exports them: a JSON list of ``Trace.to_dict()`` (or one
trace, or one per line), each ``{info, data: {spans}}``.

Span attributes are JSON-encoded strings. Spans of type ``CHAT_MODEL`` or ``LLM`` become
records. Token semantics: ``mlflow.chat.tokenUsage`` follows the OpenAI convention,
``input_tokens`` including ``cache_read_input_tokens``; an input count below its cached
part is corrected. Ids are base64 in the export and become hex.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from genailog.ingest.formats._common import (
    Item,
    Record,
    as_int,
    chat_messages,
    compact,
    fill_prompts,
    from_unix_nanos,
    json_items,
    loads_maybe,
    millis_between,
    normalize_tokens,
    not_object,
    text_of,
)
from genailog.ingest.formats._spans import hex_id

LLM_SPAN_TYPES = ("CHAT_MODEL", "LLM")
_PARAMS = ("temperature", "max_tokens", "top_p", "max_completion_tokens", "seed", "stop")


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    return {k: loads_maybe(v) for k, v in (span.get("attributes") or {}).items()}


def _usage(attrs: dict[str, Any]) -> Record:
    usage = attrs.get("mlflow.chat.tokenUsage") or {}
    return {
        "input_tokens": as_int(usage.get("input_tokens")),
        "output_tokens": as_int(usage.get("output_tokens")),
        "cached_input_tokens": as_int(usage.get("cache_read_input_tokens")),
        "cache_write_tokens": as_int(usage.get("cache_creation_input_tokens")),
    }


def _output(outputs: Any) -> tuple[str | None, str | None, int | None]:
    """Response text, finish reason and reasoning tokens of an OpenAI-style output."""
    if not isinstance(outputs, dict):
        return text_of(outputs) if outputs is not None else None, None, None
    choice = (outputs.get("choices") or [{}])[0] or {}
    usage = outputs.get("usage") or {}
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return (text_of((choice.get("message") or {}).get("content")), choice.get("finish_reason"),
            as_int(reasoning))


def _error(span: dict[str, Any]) -> tuple[str | None, str | None]:
    for event in span.get("events") or []:
        if event.get("name") == "exception":
            attrs = event.get("attributes") or {}
            return attrs.get("exception.type"), attrs.get("exception.message")
    return None, (span.get("status") or {}).get("message") or span.get("status_message") or None


def _ids(span: dict[str, Any], info: dict[str, Any]) -> Record:
    """Trace, span and parent ids as hex: base64 in MLflow 3, ``0x`` hex in
    ``span.context`` / ``parent_id`` in MLflow 2."""
    context = span.get("context") or {}

    def pick(value: Any, size: int) -> str | None:
        text = str(value).removeprefix("0x") if value else None
        return hex_id(text, size)

    return {
        "trace_id": pick(span.get("trace_id") or context.get("trace_id"), 16)
        or info.get("trace_id") or info.get("request_id"),
        "span_id": pick(span.get("span_id") or context.get("span_id"), 8),
        "parent_span_id": pick(span.get("parent_span_id") or span.get("parent_id"), 8),
    }


def _prompt(info: dict[str, Any]) -> tuple[Any, Any]:
    linked = loads_maybe((info.get("tags") or {}).get("mlflow.linkedPrompts"))
    if isinstance(linked, list) and linked and isinstance(linked[0], dict):
        return linked[0].get("name"), linked[0].get("version")
    return None, None


def span_record(span: dict[str, Any], info: dict[str, Any]) -> Record:
    attrs = _attrs(span)
    inputs = attrs.get("mlflow.spanInputs")
    inputs = inputs if isinstance(inputs, dict) else {}
    response, finish, reasoning = _output(attrs.get("mlflow.spanOutputs"))
    start = from_unix_nanos(span.get("start_time_unix_nano", span.get("start_time")))
    end = from_unix_nanos(span.get("end_time_unix_nano", span.get("end_time")))
    status = (span.get("status") or {}).get("code") or span.get("status_code")
    failed = status in ("STATUS_CODE_ERROR", "ERROR")
    error_type, error_message = _error(span) if failed else (None, None)
    metadata = info.get("trace_metadata") or info.get("request_metadata") or {}
    prompt_id, prompt_version = _prompt(info)
    record: Record = {
        "timestamp": start, "latency_ms": millis_between(start, end),
        "model": attrs.get("mlflow.llm.model") or attrs.get("model") or inputs.get("model"),
        "provider": attrs.get("mlflow.llm.provider") or attrs.get("mlflow.message.format"),
        "operation": "chat", "messages": chat_messages(inputs.get("messages")),
        "response": response, "finish_reason": finish, "reasoning_tokens": reasoning,
        "status": "error" if failed else "ok",
        "error_type": error_type, "error_message": error_message,
        **_ids(span, info),
        "session_id": metadata.get("mlflow.trace.session"),
        "user_id": metadata.get("mlflow.trace.user"),
        "prompt_id": prompt_id, "prompt_version": prompt_version,
        "metadata": compact({"request": {p: inputs[p] for p in _PARAMS if p in inputs},
                             "mlflow_trace_id": info.get("trace_id", info.get("request_id"))})
        or None,
        **_usage(attrs),
    }
    return compact(fill_prompts(normalize_tokens(record)))


def trace_records(trace: dict[str, Any]) -> Iterator[Record]:
    info = trace.get("info") or {}
    for span in (trace.get("data") or {}).get("spans") or []:
        if _attrs(span).get("mlflow.spanType") in LLM_SPAN_TYPES:
            yield span_record(span, info)


def load_records(file: str, data: bytes) -> Iterator[Item]:
    for line, trace in json_items(file, data):
        error = not_object(file, line, trace, "an MLflow trace")
        if error:
            yield file, line, error
            continue
        for record in trace_records(trace):
            yield file, line, record
