"""LiteLLM ``StandardLoggingPayload``, one JSON object per line (a custom logger's output).

Token semantics: LiteLLM reports usage in the OpenAI shape for every provider, with
``prompt_tokens`` including cached tokens (``prompt_tokens_details.cached_tokens`` is a
part; Anthropic's separate cache counts are folded in by LiteLLM, as the Claude fixture
shows). A prompt count below its cached part is corrected. ``response_cost`` is
LiteLLM's own cost and fills ``cost_usd``, except when LiteLLM failed to price the call
(an unmapped model): it writes 0.0 then, which is read as unknown, never as $0. Times
are Unix seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from genailog.ingest.formats._common import (
    Item,
    Record,
    as_float,
    as_int,
    chat_messages,
    compact,
    fill_prompts,
    from_unix_seconds,
    json_lines,
    millis_between,
    normalize_tokens,
    not_object,
    text_of,
)

#: Keys whose presence marks a StandardLoggingPayload.
SIGNATURE = ("litellm_call_id", "custom_llm_provider", "response_cost")


def _usage(payload: dict[str, Any]) -> Record:
    metadata = payload.get("metadata") or {}
    response = payload.get("response") if isinstance(payload.get("response"), dict) else {}
    usage = metadata.get("usage_object") or (response or {}).get("usage") or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": as_int(payload.get("prompt_tokens")),
        "output_tokens": as_int(payload.get("completion_tokens")),
        "cached_input_tokens": as_int(prompt_details.get("cached_tokens")),
        "cache_write_tokens": as_int(usage.get("cache_creation_input_tokens")),
        "reasoning_tokens": as_int(completion_details.get("reasoning_tokens")),
    }


def _response(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    response = payload.get("response")
    if isinstance(response, str):
        return response or None, None
    choices = (response or {}).get("choices") or []
    if not choices:
        return None, None
    first = choices[0]
    message = first.get("message") or {}
    return text_of(message.get("content", first.get("text"))), first.get("finish_reason")


def _cost(payload: dict[str, Any]) -> float | None:
    """LiteLLM's cost, or None when LiteLLM could not price the call: it then logs
    ``response_cost`` 0.0 beside ``response_cost_failure_debug_info``, and that zero is
    not a price."""
    if payload.get("response_cost_failure_debug_info"):
        return None
    return as_float(payload.get("response_cost"))


def _prompt_ids(metadata: dict[str, Any]) -> tuple[Any, Any]:
    prompt = metadata.get("prompt_management_metadata") or {}
    return prompt.get("prompt_id"), prompt.get("prompt_version")


def payload_record(payload: dict[str, Any]) -> Record:
    metadata = payload.get("metadata") or {}
    error_info = payload.get("error_information") or {}
    start = from_unix_seconds(payload.get("startTime"))
    first_token = from_unix_seconds(payload.get("completionStartTime"))
    response, finish = _response(payload)
    prompt_id, prompt_version = _prompt_ids(metadata)
    failed = payload.get("status") == "failure"
    messages = payload.get("messages")
    record: Record = {
        "timestamp": start,
        "model": payload.get("model") or payload.get("model_group"),
        "provider": payload.get("custom_llm_provider"),
        "operation": payload.get("call_type"),
        "messages": chat_messages(messages),
        "prompt": messages if isinstance(messages, str) else None,
        "response": response, "finish_reason": finish,
        "latency_ms": millis_between(start, from_unix_seconds(payload.get("endTime"))),
        "ttft_ms": millis_between(start, first_token) if payload.get("stream") else None,
        "cost_usd": _cost(payload),
        "status": "error" if failed else "ok",
        "error_type": (error_info.get("error_class") or None) if failed else None,
        "error_message": payload.get("error_str") if failed else None,
        "request_id": payload.get("id"), "trace_id": payload.get("trace_id"),
        "session_id": payload.get("session_id") or None,
        "user_id": payload.get("end_user") or metadata.get("user_api_key_end_user_id"),
        "prompt_id": prompt_id, "prompt_version": prompt_version,
        "tags": payload.get("request_tags") or None,
        "metadata": compact({"request": payload.get("model_parameters") or {},
                             "api_base": payload.get("api_base"),
                             "cache_hit": payload.get("cache_hit"),
                             "requester": metadata.get("requester_metadata")}) or None,
        **_usage(payload),
    }
    return compact(fill_prompts(normalize_tokens(record)))


def load_records(file: str, data: bytes) -> Iterator[Item]:
    for line, value in json_lines(file, data):
        if isinstance(value, dict) and isinstance(value.get("standard_logging_object"), dict):
            value = value["standard_logging_object"]
        error = not_object(file, line, value, "a StandardLoggingPayload")
        yield (file, line, error) if error else (file, line, payload_record(value))
