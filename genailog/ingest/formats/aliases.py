"""The one alias table: the names people use for canonical fields, and the rule for conflicts.

A JSON object from a log line (after its envelope is taken off, see ``generic.py``) is
mapped field by field. For each canonical field the candidates are tried in order:

1. the user's own ``--map FIELD=PATH`` (or ``[tool.genailog] map``), always first;
2. the canonical name itself, at the top level;
3. the aliases below, in the order listed; the first one present (not null) wins.

Later candidates never overwrite earlier ones, and nothing is summed across aliases.
Paths are dotted (``usage.prompt_tokens``). Token counts land on the canonical convention:
``input_tokens`` includes cached tokens (an Anthropic-style usage object, whose
``input_tokens`` excludes ``cache_read_input_tokens`` and ``cache_creation_input_tokens``,
has them added). Status: an explicit status field in the body beats the log level; a log
level of ERROR, CRITICAL or FATAL, or an ``error``/``exception`` value, marks a failed
call when the body says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from genailog.ingest.formats._common import as_float, as_int, chat_messages, text_of


def get_path(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None; a key that itself holds dots is tried whole."""
    if path in obj:
        return obj[path]
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _int(value: Any) -> int | None:
    if isinstance(value, str) and not re.fullmatch(r"\s*-?\d+(\.0*)?\s*", value):
        return None
    if isinstance(value, dict | list):
        return None
    try:
        return as_int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, dict | list):
        return None
    try:
        return as_float(value)
    except (TypeError, ValueError):
        return None


def _seconds_to_ms(value: Any) -> float | None:
    number = _float(value)
    return None if number is None else number * 1000.0


_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|sec|secs|seconds|m|min)\s*$")
_UNIT_MS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "secs": 1000.0, "seconds": 1000.0,
            "m": 60000.0, "min": 60000.0}


def _duration_ms(value: Any) -> float | None:
    """``"1.2s"``, ``"350 ms"``: a duration with its unit; a bare number has none."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match["n"]) * _UNIT_MS[match["unit"]] if match else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return text_of(value)
    return None


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _messages(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list) or not all(isinstance(m, dict) and "role" in m
                                              for m in value):
        return None
    return chat_messages(value)


def _tags(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return value
    return None


@dataclass(frozen=True)
class Field:
    """A canonical field, the paths it is read from (after the canonical name), and the
    conversion of the value found."""

    name: str
    aliases: tuple[str, ...]
    convert: Callable[[Any], Any]
    #: Whether a value here makes the object an LLM-call record (ids and times alone do not).
    marks_record: bool = True


FIELDS: tuple[Field, ...] = (
    Field("model", ("model_name", "llm_model", "engine", "deployment", "deployment_name",
                    "modelVersion", "model_version", "response.model"), _scalar_text),
    Field("provider", ("llm_provider", "vendor"), _scalar_text, marks_record=False),
    Field("operation", ("call_type", "endpoint"), _scalar_text, marks_record=False),
    Field("prompt", ("user_prompt", "question", "query", "input", "prompt_text"), _text),
    Field("system_prompt", ("system", "system_message", "instructions"), _text),
    Field("messages", ("input", "request.messages", "chat_history"), _messages),
    Field("response", ("completion", "answer", "output", "output_text", "response_text",
                       "generated_text", "result"), _text),
    Field("input_tokens", ("prompt_tokens", "tokens_in", "input_token_count",
                           "prompt_token_count", "promptTokenCount",
                           "usage.input_tokens", "usage.prompt_tokens",
                           "usage_metadata.prompt_token_count", "usageMetadata.promptTokenCount",
                           "token_usage.prompt_tokens", "usage.input", "usage.inputTokens",
                           "inputTokens", "prompt_eval_count"), _int),
    Field("output_tokens", ("completion_tokens", "tokens_out", "output_token_count",
                            "usage.output_tokens", "usage.completion_tokens",
                            "token_usage.completion_tokens", "usage.output",
                            "usage.outputTokens", "outputTokens", "eval_count"), _int),
    Field("cached_input_tokens", ("cached_tokens", "cache_read_input_tokens",
                                  "cache_read_tokens", "prompt_tokens_details.cached_tokens",
                                  "input_tokens_details.cached_tokens",
                                  "usage.prompt_tokens_details.cached_tokens",
                                  "usage.input_tokens_details.cached_tokens",
                                  "usage.cache_read_input_tokens", "usage.cached_tokens",
                                  "cached_content_token_count", "cachedContentTokenCount",
                                  "usage_metadata.cached_content_token_count",
                                  "usageMetadata.cachedContentTokenCount",
                                  "usage.cacheReadInputTokens", "cacheReadInputTokens"), _int),
    Field("cache_write_tokens", ("cache_creation_input_tokens", "cache_creation_tokens",
                                 "usage.cache_creation_input_tokens",
                                 "usage.cacheWriteInputTokens", "cacheWriteInputTokens"), _int),
    Field("reasoning_tokens", ("completion_tokens_details.reasoning_tokens",
                               "output_tokens_details.reasoning_tokens",
                               "usage.completion_tokens_details.reasoning_tokens",
                               "usage.output_tokens_details.reasoning_tokens",
                               "thoughts_token_count", "thoughtsTokenCount",
                               "usage_metadata.thoughts_token_count",
                               "usageMetadata.thoughtsTokenCount"), _int),
    Field("cost_usd", ("cost", "total_cost", "response_cost", "cost_details.total",
                       "usage.cost", "spend"), _float),
    Field("latency_ms", ("duration_ms", "elapsed_ms", "response_time_ms", "latency_millis",
                         "took_ms", "latencyMs", "metrics.latencyMs"), _float),
    Field("ttft_ms", ("time_to_first_token_ms", "first_token_ms"), _float),
    Field("finish_reason", ("stop_reason", "finishReason", "stopReason", "done_reason"),
          _scalar_text),
    Field("request_id", ("response_id", "responseId", "x_request_id"), _scalar_text,
          marks_record=False),
    Field("trace_id", ("traceId", "otelTraceID"), _scalar_text, marks_record=False),
    Field("span_id", ("spanId", "otelSpanID"), _scalar_text, marks_record=False),
    Field("parent_span_id", ("parentSpanId", "parent_id"), _scalar_text, marks_record=False),
    Field("session_id", ("conversation_id", "thread_id", "sessionId"), _scalar_text,
          marks_record=False),
    Field("user_id", ("user", "end_user", "userId"), _scalar_text, marks_record=False),
    Field("prompt_id", ("prompt_name", "template_id", "prompt_template"), _scalar_text),
    Field("prompt_version", ("prompt_template_version", "template_version"), _scalar_text),
    Field("app", ("application", "service", "service_name"), _scalar_text,
          marks_record=False),
    Field("environment", ("env", "deployment_environment"), _scalar_text, marks_record=False),
    Field("stage", (), _scalar_text, marks_record=False),
    Field("retries", ("retry_count", "num_retries"), _int),
    Field("feedback_rating", ("rating", "user_rating"), _float),
    Field("feedback_comment", (), _text),
    Field("hallucination_flag", ("hallucinated", "is_hallucination"), _bool),
    Field("refusal", ("refused", "is_refusal"), _bool),
    Field("error_type", ("exception_type", "error_class", "exc_type"), _scalar_text),
    Field("error_message", ("error_msg", "exception_message"), _text),
    Field("tags", (), _tags, marks_record=False),
)

#: Durations whose unit the name says (seconds), converted to milliseconds.
SECONDS_ALIASES: dict[str, tuple[str, ...]] = {
    "latency_ms": ("latency_s", "latency_sec", "latency_seconds", "duration_s",
                   "duration_seconds", "elapsed_s", "response_time_s"),
    "ttft_ms": ("ttft_s", "time_to_first_token_s", "time_to_first_token"),
}
#: Durations with no unit in the name: read only when the value carries one ("1.2s").
UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "latency_ms": ("latency", "duration", "elapsed", "response_time"),
    "ttft_ms": ("ttft",),
}

_BY_NAME = {f.name: f for f in FIELDS}
#: Every source name the table knows, for "seen but not mapped" reports.
KNOWN_NAMES = frozenset(
    {f.name for f in FIELDS} | {a.split(".")[0] for f in FIELDS for a in f.aliases}
    | {a for names in (*SECONDS_ALIASES.values(), *UNIT_ALIASES.values()) for a in names})

_TOKENISH = re.compile(r"tok|usage", re.IGNORECASE)


def convert(name: str, value: Any) -> Any:
    """A value for canonical ``name`` converted as the table says (None when unusable)."""
    field = _BY_NAME.get(name)
    return field.convert(value) if field is not None else value


def map_fields(obj: Mapping[str, Any], user_map: Mapping[str, str] | None = None
               ) -> tuple[dict[str, Any], dict[str, str], bool]:
    """Canonical fields of ``obj``; the source path each was read from; and whether the
    object is an LLM-call record.

    ``user_map`` maps canonical names to dotted source paths and is tried first. A
    canonical name holding a value of the wrong type is kept as it is, so that the record
    is judged invalid rather than the value dropped.
    """
    out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    marks = False
    for field in FIELDS:
        candidates = []
        if user_map and field.name in user_map:
            candidates.append(user_map[field.name])
        candidates += [field.name, *field.aliases]
        for path in candidates:
            raw = get_path(obj, path)
            value = field.convert(raw)
            if value is None and raw is not None and path == field.name and not isinstance(
                    raw, dict):
                value = raw  # the wrong type under the canonical name: judged, not dropped
            if value is not None:
                out[field.name], sources[field.name] = value, path
                marks = marks or field.marks_record
                break
    for table, conv in ((SECONDS_ALIASES, _seconds_to_ms), (UNIT_ALIASES, _duration_ms)):
        for name, aliases in table.items():
            for path in aliases:
                if name in out:
                    break
                value = conv(get_path(obj, path))
                if value is not None:
                    out[name], sources[name] = value, path
                    marks = True
    _anthropic_usage(obj, out)
    _gemini_output(obj, out)
    return out, sources, marks


def _usage_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    usage = obj.get("usage")
    return usage if isinstance(usage, Mapping) else obj


#: Usage objects whose input count excludes cache reads and writes: Anthropic's, and
#: Bedrock Converse's (its ``totalTokens`` adds the cache counts to input and output).
_EXCLUSIVE = (("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"),
              ("inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"))


def _anthropic_usage(obj: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Anthropic's (and Bedrock Converse's) input count excludes cache reads and writes:
    add them back."""
    usage = _usage_of(obj)
    if "prompt_tokens" in usage:
        return
    for base_key, read_key, write_key in _EXCLUSIVE:
        if base_key not in usage or (read_key not in usage and write_key not in usage):
            continue
        base = _int(usage.get(base_key))
        if base is None or out.get("input_tokens") != base:
            return
        out["input_tokens"] = base + (_int(usage.get(read_key)) or 0) + (
            _int(usage.get(write_key)) or 0)
        return


def _gemini_output(obj: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Gemini reports candidates and thoughts apart; both are billed output tokens."""
    for usage_key, cand, thoughts in (("usageMetadata", "candidatesTokenCount",
                                       "thoughtsTokenCount"),
                                      ("usage_metadata", "candidates_token_count",
                                       "thoughts_token_count")):
        usage = obj.get(usage_key)
        if isinstance(usage, Mapping) and "output_tokens" not in out:
            count = _int(usage.get(cand))
            if count is not None or usage.get(thoughts) is not None:
                out["output_tokens"] = (count or 0) + (_int(usage.get(thoughts)) or 0)


def unmapped_token_fields(obj: Mapping[str, Any], sources: Mapping[str, str]) -> list[str]:
    """Top-level keys that look like token counts or usage but were not mapped."""
    used = {path.split(".")[0] for path in sources.values()}
    return sorted(k for k in obj if k not in used and k not in KNOWN_NAMES
                  and _TOKENISH.search(k))


def table_rows() -> list[tuple[str, str]]:
    """(canonical field, its source names in order) for the generated docs."""
    rows = [(f.name, ", ".join(f"`{a}`" for a in (f.name, *f.aliases))) for f in FIELDS]
    for name, aliases in SECONDS_ALIASES.items():
        rows.append((name, ", ".join(f"`{a}`" for a in aliases) + " (seconds, × 1000)"))
    for name, aliases in UNIT_ALIASES.items():
        rows.append((name, ", ".join(f"`{a}`" for a in aliases)
                     + " (only with a unit in the value: `1.2s`, `350ms`)"))
    return rows
