"""Simon Willison's ``llm`` CLI: ``llm logs --json`` (a JSON list, or one object per line).

Token semantics: ``input_tokens`` is what the model plugin reported. OpenAI models put
the cached part in ``token_details.prompt_tokens_details.cached_tokens`` and include it
in ``input_tokens``; Anthropic models (llm-anthropic) report ``cache_read_input_tokens``
and ``cache_creation_input_tokens`` beside an ``input_tokens`` that excludes them, so
those are added. ``llm`` logs only calls that succeeded; it records no cost. ``model``
is the provider-reported model (``response_json.model``) when present, since llm's own
model id can be a local alias; the id is kept as ``metadata.llm_model``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from genailog.ingest.formats._common import (
    Item,
    Record,
    as_float,
    as_int,
    compact,
    fill_prompts,
    json_items,
    loads_maybe,
    normalize_tokens,
    not_object,
    parse_time,
)

#: Keys that mark an ``llm logs --json`` row.
SIGNATURE = ("datetime_utc", "duration_ms", "conversation_id")


def _usage(row: dict[str, Any]) -> tuple[Record, bool]:
    details = loads_maybe(row.get("token_details"))
    details = details if isinstance(details, dict) else {}
    prompt = details.get("prompt_tokens_details") or {}
    completion = details.get("completion_tokens_details") or {}
    anthropic = "cache_read_input_tokens" in details or "cache_creation_input_tokens" in details
    usage = {
        "input_tokens": as_int(row.get("input_tokens")),
        "output_tokens": as_int(row.get("output_tokens")),
        "cached_input_tokens": as_int(prompt.get("cached_tokens",
                                                 details.get("cache_read_input_tokens"))),
        "cache_write_tokens": as_int(details.get("cache_creation_input_tokens")),
        "reasoning_tokens": as_int(completion.get("reasoning_tokens")),
    }
    return usage, anthropic


def _model(row: dict[str, Any]) -> Any:
    """The model the provider reported, else llm's own id (which may be a local alias)."""
    response = loads_maybe(row.get("response_json"))
    reported = response.get("model") if isinstance(response, dict) else None
    return row.get("resolved_model") or reported or row.get("model")


def _finish(row: dict[str, Any]) -> str | None:
    response = loads_maybe(row.get("response_json"))
    if isinstance(response, dict):
        choices = response.get("choices") or [{}]
        reason = (choices[0] or {}).get("finish_reason") or response.get("stop_reason")
        return str(reason) if reason else None
    return None


def row_record(row: dict[str, Any]) -> Record:
    usage, cache_excluded = _usage(row)
    messages = [{"role": "system", "content": row.get("system")}] if row.get("system") else []
    if row.get("prompt") is not None:
        messages.append({"role": "user", "content": row.get("prompt")})
    record: Record = {
        "timestamp": parse_time(row.get("datetime_utc")),
        "model": _model(row),
        "operation": "chat", "status": "ok",
        "prompt": row.get("prompt"), "system_prompt": row.get("system"),
        "messages": messages or None, "response": row.get("response"),
        "latency_ms": as_float(row.get("duration_ms")), "finish_reason": _finish(row),
        "request_id": row.get("id"), "session_id": row.get("conversation_id"),
        "metadata": compact({"request": loads_maybe(row.get("options_json")) or {},
                             "llm_model": row.get("model"),
                             "conversation_name": row.get("conversation_name")}) or None,
        **usage,
    }
    return compact(fill_prompts(normalize_tokens(record, cache_excluded=cache_excluded)))


def load_records(file: str, data: bytes) -> Iterator[Item]:
    for line, row in json_items(file, data):
        error = not_object(file, line, row, "an llm log row")
        yield (file, line, error) if error else (file, line, row_record(row))
