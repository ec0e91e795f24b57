"""Langfuse observation exports (JSONL, a JSON array, or CSV): ``GENERATION`` rows.

Token semantics: Langfuse's ``usage_details`` splits usage into disjoint keys. For
OpenAI usage it subtracts the detail counts, so ``input`` excludes
``input_cached_tokens`` (and ``output`` excludes ``output_reasoning_tokens``); for
Anthropic ``input`` excludes ``input_cache_read`` / ``input_cache_creation`` as the
provider does. The canonical ``input_tokens`` is therefore ``input`` plus every
``input_*`` key, and ``output_tokens`` is ``output`` plus every ``output_*`` key.
``total_cost`` (or ``cost_details.total``) is Langfuse's cost and fills ``cost_usd``.
Times are ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC (or RFC 3339); latency and time to first
token are seconds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from genailog.ingest.formats._common import (
    Item,
    OtherLine,
    Record,
    as_float,
    as_int,
    chat_messages,
    compact,
    fill_prompts,
    json_items,
    loads_maybe,
    millis_between,
    not_object,
    parse_time,
    text_of,
)

#: Keys that mark an observation row (exports use snake_case, the API camelCase).
SIGNATURE = ("provided_model_name", "usage_details", "cost_details", "providedModelName",
             "usageDetails")
_CACHE_READ = ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens")
_CACHE_WRITE = ("input_cache_creation", "cache_creation_input_tokens", "input_cache_write")
_REASONING = ("output_reasoning_tokens", "output_reasoning")


def _get(row: dict[str, Any], snake: str) -> Any:
    """A field by its export (snake_case) or API (camelCase) name; '' reads as absent."""
    head, *rest = snake.split("_")
    value = row.get(snake, row.get(head + "".join(w.title() for w in rest)))
    return None if value == "" else value


def _sum(details: dict[str, Any], base: str) -> int | None:
    keys = [k for k in details if k == base or k.startswith(base + "_")]
    if not keys:
        return None
    return sum(as_int(details[k]) or 0 for k in keys)


def _pick(details: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    return next((as_int(details[k]) for k in keys if k in details), None)


def _usage(row: dict[str, Any]) -> Record:
    details = loads_maybe(_get(row, "usage_details"))
    if not isinstance(details, dict) or not details:
        legacy = loads_maybe(_get(row, "usage")) or {}
        details = {"input": legacy.get("input"), "output": legacy.get("output")} if isinstance(
            legacy, dict) else {}
        details = {k: v for k, v in details.items() if v is not None}
    total_input = _sum(details, "input")
    if total_input is not None:  # Anthropic's cache keys, as the SDK sends them, are parts too
        total_input += sum(as_int(details[k]) or 0 for k in (*_CACHE_READ, *_CACHE_WRITE)
                           if k in details and not k.startswith("input"))
    return {
        "input_tokens": total_input, "output_tokens": _sum(details, "output"),
        "cached_input_tokens": _pick(details, _CACHE_READ),
        "cache_write_tokens": _pick(details, _CACHE_WRITE),
        "reasoning_tokens": _pick(details, _REASONING),
    }


def _cost(row: dict[str, Any]) -> float | None:
    total = as_float(_get(row, "total_cost"))
    if total is None:
        details = loads_maybe(_get(row, "cost_details"))
        total = as_float(details.get("total")) if isinstance(details, dict) else None
    return total if total is not None else as_float(_get(row, "calculated_total_cost"))


def _io(row: dict[str, Any]) -> Record:
    """Messages/prompt from ``input``, response text from ``output``."""
    given = loads_maybe(_get(row, "input"))
    if isinstance(given, dict) and "messages" in given:
        given = given["messages"]
    output = loads_maybe(_get(row, "output"))
    if isinstance(output, dict) and "choices" in output:
        output = ((output.get("choices") or [{}])[0] or {}).get("message")
    return {
        "messages": chat_messages(given),
        "prompt": given if isinstance(given, str) else None,
        "response": text_of(output.get("content") if isinstance(output, dict) else output),
    }


def _times(row: dict[str, Any]) -> Record:
    start = parse_time(_get(row, "start_time"))
    latency = as_float(_get(row, "latency"))
    ttft = as_float(_get(row, "time_to_first_token"))
    first = parse_time(_get(row, "completion_start_time"))
    return {
        "timestamp": start,
        "latency_ms": latency * 1000 if latency is not None else millis_between(
            start, parse_time(_get(row, "end_time"))),
        "ttft_ms": ttft * 1000 if ttft is not None else millis_between(start, first),
    }


def row_record(row: dict[str, Any]) -> Record:
    failed = str(_get(row, "level") or "").upper() == "ERROR"
    metadata = loads_maybe(_get(row, "metadata"))
    record: Record = {
        **_times(row), **_usage(row), **_io(row),
        "model": _get(row, "provided_model_name") or _get(row, "model"),
        "operation": "chat", "cost_usd": _cost(row),
        "status": "error" if failed else "ok",
        "error_message": _get(row, "status_message") if failed else None,
        "trace_id": _get(row, "trace_id"), "span_id": _get(row, "id"),
        "parent_span_id": _get(row, "parent_observation_id"),
        "session_id": _get(row, "session_id"), "user_id": _get(row, "user_id"),
        "prompt_id": _get(row, "prompt_name") or _get(row, "prompt_id"),
        "prompt_version": _get(row, "prompt_version"),
        "environment": _get(row, "environment"), "app": _get(row, "trace_name"),
        "tags": loads_maybe(_get(row, "tags")) or None,
        "metadata": compact({"request": loads_maybe(_get(row, "model_parameters")) or {},
                             **(metadata if isinstance(metadata, dict) else {})}) or None,
    }
    if isinstance(record["prompt_version"], float):
        record["prompt_version"] = int(record["prompt_version"])
    return compact(fill_prompts(record))


def is_generation(row: dict[str, Any]) -> bool:
    return str(_get(row, "type") or "GENERATION").upper() == "GENERATION"


def _csv_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    start = 2
    for row in reader:
        yield start, dict(row)
        start = reader.line_num + 1


def is_csv(data: bytes) -> bool:
    return data.lstrip()[:1] not in (b"{", b"[")


def load_records(file: str, data: bytes) -> Iterator[Item]:
    rows = _csv_rows(data) if is_csv(data) else json_items(file, data)
    for line, row in rows:
        error = not_object(file, line, row, "a Langfuse observation")
        if error:
            yield file, line, error
        elif is_generation(row):
            yield file, line, row_record(row)
        else:
            yield file, line, OtherLine()  # spans, events: counted, not calls
