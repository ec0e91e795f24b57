"""JSON logs in the shapes people really write, one record per JSON object.

What it reads, line by line (see ``textlines.py``): plain JSON lines, text-prefixed JSON
(Python ``logging``'s ``INFO:root:{...}``, ``%(asctime)s`` formats, syslog-like prefixes),
multi-line objects, JSON documents back to back and JSON arrays. Each object is then:

1. taken out of its logger's envelope: python-json-logger (``message``, ``asctime``,
   ``levelname`` + extra fields), structlog (``event``, ``level``, ``timestamp``), loguru
   ``serialize=True`` (``record.extra``, ``record.time``, ``record.level``,
   ``record.exception``);
2. read as a provider's response object when it is one: OpenAI Chat Completions and
   Responses, Anthropic Messages, Gemini ``generateContent``, OpenAI Batch output and
   error lines (a Batch *request* file holds no results and is refused with that reason);
3. mapped through the alias table (``aliases.py``), the user's ``--map`` first.

An object with no canonical or aliased field of a call (model, tokens, prompt, response,
latency, cost, ...) is an *other line*, counted and reported, as is every non-JSON line.
Time comes from the object, else its envelope, else the line's prefix; a time without an
offset is in the read's timezone (UTC unless ``--timezone``). Status: an explicit status
in the body beats everything; then an ``error``/``exception`` value; then the log level
(ERROR, CRITICAL, FATAL, EXCEPTION: failed). The traceback ``logger.exception`` writes
after a record gives its ``error_type`` and ``error_message``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from genailog.errors import InputError, InvalidRecordError
from genailog.ingest.context import FileNotes, ReadContext
from genailog.ingest.formats import aliases
from genailog.ingest.formats._common import Item, OtherLine, Record, compact, fill_prompts, text_of
from genailog.ingest.formats.textlines import Piece, Prefix, exception_of, split_text
from genailog.schema.rules import parse_time

_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL", "EXCEPTION"})
_OK_STATUS = frozenset({"ok", "success", "succeeded", "successful", "completed", "complete",
                        "done", "200"})
_ERROR_STATUS = frozenset({"error", "failed", "failure", "fail", "exception", "errored",
                           "cancelled", "timeout", "timed_out"})
_TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "datetime", "date", "created_at",
              "created", "start_time", "startTime", "request_time", "asctime", "create_time",
              "createTime")
_ERROR_KEYS = ("error", "exception", "exc_info", "err", "error_message", "exc_text")
_ENVELOPE_KEYS = frozenset({"message", "msg", "event", "level", "levelname", "levelno",
                            "asctime", "name", "logger", "logger_name", "timestamp", "time",
                            "@timestamp", "ts", "filename", "funcName", "lineno", "module",
                            "pathname", "process", "processName", "thread", "threadName",
                            "taskName", "exc_info", "stack_info", "created", "msecs",
                            "relativeCreated", "severity", "log.level", "func_name"})
_PROVIDER_KEYS = frozenset({"id", "object", "created", "choices", "usage", "system_fingerprint",
                            "service_tier", "output", "type", "role", "content", "stop_reason",
                            "stop_sequence", "candidates", "usageMetadata", "usage_metadata",
                            "modelVersion", "model_version", "responseId", "response_id",
                            "createTime", "create_time", "created_at", "status", "error",
                            "incomplete_details", "instructions", "metadata", "reasoning",
                            "text", "tools", "tool_choice", "parallel_tool_calls",
                            "temperature", "top_p", "max_output_tokens", "truncation", "user",
                            "store", "previous_response_id", "background", "prompt_feedback",
                            "promptFeedback", "automatic_function_calling_history",
                            "sdk_http_response", "parsed", "container", "prompt_cache_key",
                            "safety_identifier", "top_logprobs", "prompt", "conversation",
                            "max_tool_calls", "billing", "prompt_cache_retention"})


def load_records(file: str, data: bytes, ctx: ReadContext) -> Iterator[Item]:
    notes = ctx.file(file)
    zone = ctx.options.zone
    naive = False
    for piece in _pieces(file, data, zone):
        if piece.error is not None:
            yield file, piece.line, InvalidRecordError(file, piece.line, piece.error)
            continue
        if not isinstance(piece.obj, dict):
            notes.other_lines += 1
            yield file, piece.line, OtherLine()
            continue
        for item in _records_of(file, piece, ctx, notes):
            if isinstance(item, dict):
                naive = naive or bool(item.pop("_naive_time", False))
            yield file, piece.line, item
    if naive:
        ctx.note(f"times written without a UTC offset were read as {ctx.options.timezone} "
                 "(--timezone to change)")


#: Keys under which a document may hold its records as a list.
_LIST_KEYS = ("records", "logs", "calls", "items", "entries", "results", "data", "events")


def _records_of(file: str, piece: Piece, ctx: ReadContext, notes: FileNotes
                ) -> Iterator[Record | OtherLine]:
    """The record of a piece; or, for a document that holds its records in a list
    (``{"records": [...]}``), theirs; or an other line."""
    record = to_record(file, piece, ctx, notes)
    if record is not None:
        yield record
        return
    nested = next((piece.obj[k] for k in _LIST_KEYS if isinstance(piece.obj.get(k), list)
                   and piece.obj[k] and all(isinstance(v, dict) for v in piece.obj[k])), None)
    found = False
    for value in nested or []:
        inner = to_record(file, Piece(piece.line, value, piece.prefix), ctx, notes)
        if inner is not None:
            found = True
            yield inner
    if not found:
        notes.other_lines += 1
        yield OtherLine()


def _pieces(file: str, data: bytes, zone: tzinfo) -> list[Piece]:
    text = data.decode("utf-8-sig", errors="replace")
    if _is_csv(file, text):
        return _csv_pieces(text)
    stripped = text.lstrip()
    if stripped.startswith("[") and stripped[1:].lstrip()[:1] in ("{", "]"):
        from genailog.ingest.formats._common import json_items

        out = []
        for line, value in json_items(file, data):
            if isinstance(value, InvalidRecordError):
                out.append(Piece(line, error=value.detail))
            elif isinstance(value, list):
                out += [Piece(line, v) for v in value]
            else:
                out.append(Piece(line, value))
        return out
    return split_text(text.splitlines(), zone)


def _is_csv(file: str, text: str) -> bool:
    """A CSV (or TSV) table with a header row: by name, or by a first line of separated
    names with no JSON in it."""
    lowered = file.lower().removesuffix(".gz").removesuffix(".zst")
    first = text.lstrip().split("\n", 1)[0]
    if lowered.endswith((".csv", ".tsv")):
        return True
    return "{" not in first and (first.count(",") >= 2 or first.count("\t") >= 2) and all(
        part.strip().strip('"').replace("_", "").replace(".", "").isalnum()
        for part in re.split(r"[,\t]", first) if part.strip())


def _csv_pieces(text: str) -> list[Piece]:
    """Rows of a CSV/TSV table as objects (empty cells absent), each at its line."""
    import csv
    import io

    first = text.lstrip().split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    pieces, line = [], 2
    for row in reader:
        obj = {k: v for k, v in row.items() if k and v not in (None, "")}
        pieces.append(Piece(line, obj))
        line = reader.line_num + 1
    return pieces


_NESTED = ("response", "output", "result", "completion", "raw_response", "body",
           "response_body")


def _nested_provider(file: str, line: int, fields: Mapping[str, Any]
                     ) -> tuple[Record | None, dict[str, Any]]:
    """A provider object logged inside a field (``{"request": ..., "response": <a
    ChatCompletion>}``): its fields, and its usage mapped."""
    for key in _NESTED:
        inner = fields.get(key)
        if isinstance(inner, dict):
            found = provider_fields(file, line, inner)
            if found is not None:
                mapped, _, _ = aliases.map_fields(inner)
                return found, {k: v for k, v in mapped.items() if k.endswith("_tokens")}
    return None, {}


def to_record(file: str, piece: Piece, ctx: ReadContext, notes: FileNotes) -> Record | None:
    """The canonical record of one object, or None when it is no LLM call."""
    obj: dict[str, Any] = piece.obj
    fields, envelope = unwrap(obj)
    if fields.get("object") == "chat.completion.chunk" and not fields.get("usage"):
        return None  # a stream's chunk: only the usage chunk stands for the call
    provider = provider_fields(file, piece.line, fields)
    nested_tokens: dict[str, Any] = {}
    if provider is None:
        provider, nested_tokens = _nested_provider(file, piece.line, fields)
    mapped, sources, marks = aliases.map_fields(fields, ctx.options.field_map)
    if provider is None and not marks:
        return None
    record: Record = {**nested_tokens, **mapped, **(provider or {})}
    if provider is not None and provider.get("response") is None:
        record.pop("response", None)
    if "latency_ms" not in record:
        _latency_from_times(record, fields)
    notes.shapes[_shape(piece, envelope, provider)] += 1
    for name, path in sources.items():
        notes.mapping[(path, name)] += 1
    for key in aliases.unmapped_token_fields(fields, sources):
        notes.unmapped[key] += 1
    _set_time(record, fields, envelope, piece.prefix, ctx.options.zone, ctx.options.field_map)
    _set_status(record, fields, envelope, piece)
    if provider is None:
        record.update(_extras(fields, sources))
    return compact(fill_prompts(record))


# -- envelopes ----------------------------------------------------------------------------

def _shape(piece: Piece, envelope: Mapping[str, Any], provider: Record | None) -> str:
    """How a record was found, for ``inspect``."""
    parts = []
    if piece.prefix is not None:
        parts.append(f"after a text prefix ({piece.prefix.text.strip()[:30]!r}...)")
    if envelope.get("kind"):
        parts.append(f"in a {envelope['kind']} envelope")
    if provider is not None:
        parts.append(f"{provider.get('provider', 'provider')} "
                     f"{provider.get('operation', '')} response object".replace("  ", " "))
    return "JSON " + (", ".join(parts) if parts else "object with known field names")


def unwrap(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fields a logger was given, the envelope: time, level, error, message)."""
    record = obj.get("record")
    if isinstance(record, dict) and isinstance(record.get("extra"), dict) and "level" in record:
        return _loguru(obj, record)
    envelope: dict[str, Any] = {}
    if "event" in obj and "level" in obj:
        envelope["kind"] = "structlog"
    elif "levelname" in obj or "asctime" in obj:
        envelope["kind"] = "python-json-logger"
    level = next((obj[k] for k in ("levelname", "level", "severity", "log.level")
                  if isinstance(obj.get(k), str)), None)
    if level is not None:
        envelope["level"] = level.upper()
    for key in ("exc_info", "exc_text", "exception", "stack"):
        if isinstance(obj.get(key), str) and obj[key].strip():
            envelope["traceback"] = obj[key].splitlines()
            break
    return obj, envelope


def _loguru(obj: dict[str, Any], record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields = dict(record["extra"])
    envelope: dict[str, Any] = {"kind": "loguru"}
    level = record.get("level")
    if isinstance(level, dict) and isinstance(level.get("name"), str):
        envelope["level"] = level["name"].upper()
    stamp = record.get("time")
    if isinstance(stamp, dict) and isinstance(stamp.get("timestamp"), int | float):
        envelope["time"] = datetime.fromtimestamp(stamp["timestamp"], UTC)
    exception = record.get("exception")
    if isinstance(exception, dict) and (exception.get("type") or exception.get("value")):
        envelope["error_type"] = exception.get("type")
        envelope["error_message"] = exception.get("value")
    if isinstance(obj.get("text"), str) and "Traceback" in obj["text"]:
        envelope["traceback"] = obj["text"].splitlines()
    return fields, envelope


# -- provider response objects --------------------------------------------------------------

def provider_fields(file: str, line: int, obj: Mapping[str, Any]) -> Record | None:
    """Canonical fields of a provider's response object, or None if it is none."""
    if "custom_id" in obj:
        return _batch_line(file, line, obj)
    kind = obj.get("object")
    if kind in ("chat.completion", "chat.completion.chunk") and isinstance(
            obj.get("choices"), list):
        return _openai_chat(obj)
    if ("eval_count" in obj or "prompt_eval_count" in obj) and "done" in obj:
        return _ollama(obj)
    if kind == "response" and isinstance(obj.get("output"), list):
        return _openai_response(obj)
    if obj.get("type") == "message" and obj.get("role") == "assistant" and isinstance(
            obj.get("content"), list):
        return _anthropic(obj)
    if isinstance(obj.get("candidates"), list) and (
            "usageMetadata" in obj or "usage_metadata" in obj or "modelVersion" in obj
            or "model_version" in obj):
        return _gemini(obj)
    return None


def _unix(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _openai_chat(obj: Mapping[str, Any]) -> Record:
    choice = obj["choices"][0] if obj["choices"] and isinstance(obj["choices"][0], dict) else {}
    message = choice.get("message") or {}
    return compact({
        "provider": "openai", "operation": "chat", "model": obj.get("model"),
        "request_id": obj.get("id"), "timestamp": _unix(obj.get("created")),
        "response": text_of(message.get("content")) or message.get("refusal"),
        "refusal": True if message.get("refusal") else None,
        "finish_reason": choice.get("finish_reason"), "status": "ok",
    })


def _ollama(obj: Mapping[str, Any]) -> Record:
    """An Ollama ``/api/chat`` or ``/api/generate`` answer (durations in nanoseconds)."""
    message = obj.get("message") if isinstance(obj.get("message"), dict) else {}
    total = obj.get("total_duration")
    stamp = obj.get("created_at")
    return compact({
        "provider": "ollama", "operation": "chat" if message else "generate",
        "model": obj.get("model"),
        "timestamp": parse_time(stamp) if isinstance(stamp, str) else None,
        "response": text_of((message or {}).get("content")) or obj.get("response"),
        "finish_reason": obj.get("done_reason"), "status": "ok",
        "latency_ms": total / 1e6 if isinstance(total, int | float) else None,
    })


def _openai_response(obj: Mapping[str, Any]) -> Record:
    texts = [text_of(item.get("content")) for item in obj["output"]
             if isinstance(item, dict) and item.get("type") == "message"]
    error = obj.get("error")
    status = obj.get("status")
    failed = status == "failed" or bool(error)
    incomplete = obj.get("incomplete_details") or {}
    return compact({
        "provider": "openai", "operation": "responses", "model": obj.get("model"),
        "request_id": obj.get("id"), "timestamp": _unix(obj.get("created_at")),
        "response": "\n".join(t for t in texts if t) or None,
        "finish_reason": incomplete.get("reason") if isinstance(incomplete, dict) else None,
        "status": "error" if failed else "ok",
        "error_type": (error or {}).get("code") if isinstance(error, dict) else None,
        "error_message": (error or {}).get("message") if isinstance(error, dict) else None,
    })


def _anthropic(obj: Mapping[str, Any]) -> Record:
    texts = [b.get("text") for b in obj["content"] if isinstance(b, dict)
             and b.get("type") == "text"]
    return compact({
        "provider": "anthropic", "operation": "chat", "model": obj.get("model"),
        "request_id": obj.get("id"), "response": "\n".join(t for t in texts if t) or None,
        "finish_reason": obj.get("stop_reason"), "status": "ok",
        "refusal": True if obj.get("stop_reason") == "refusal" else None,
    })


def _gemini(obj: Mapping[str, Any]) -> Record:
    first = obj["candidates"][0] if obj["candidates"] and isinstance(
        obj["candidates"][0], dict) else {}
    content = first.get("content") or {}
    parts = content.get("parts") or [] if isinstance(content, dict) else []
    texts = [str(p["text"]) for p in parts if isinstance(p, dict) and p.get("text")
             and not p.get("thought")]
    stamp = obj.get("createTime") or obj.get("create_time")
    return compact({
        "provider": "gemini", "operation": "generate_content",
        "model": obj.get("modelVersion") or obj.get("model_version"),
        "request_id": obj.get("responseId") or obj.get("response_id"),
        "timestamp": parse_time(stamp) if isinstance(stamp, str) else None,
        "response": "\n".join(texts) or None,
        "finish_reason": first.get("finishReason") or first.get("finish_reason"),
        "status": "ok",
    })


def _batch_line(file: str, line: int, obj: Mapping[str, Any]) -> Record | None:
    """An OpenAI Batch output or error line; a request line is refused with the reason."""
    response = obj.get("response")
    if "response" not in obj and "error" not in obj:
        if "body" in obj and "url" in obj:
            raise InputError(
                f"{file}:{line}: this is an OpenAI Batch request file: it holds the requests "
                "sent, not their results; read the batch's output (and error) file instead")
        return None
    body = response.get("body") if isinstance(response, dict) else None
    inner = provider_fields(file, line, body) if isinstance(body, dict) else None
    record: Record = dict(inner or {})
    if isinstance(body, dict):
        mapped, _, _ = aliases.map_fields(body)
        record = {**mapped, **record}
    code = response.get("status_code") if isinstance(response, dict) else None
    error = obj.get("error") or (body.get("error") if isinstance(body, dict) else None)
    failed = bool(error) or (isinstance(code, int) and code >= 400)
    record["status"] = "error" if failed else "ok"
    if failed and isinstance(error, dict):
        record["error_type"] = error.get("code") or error.get("type")
        record["error_message"] = error.get("message")
    if isinstance(response, dict) and response.get("request_id"):
        record["request_id"] = response["request_id"]
    record.setdefault("operation", "batch")
    record["metadata"] = {"batch_custom_id": obj.get("custom_id"), "status_code": code}
    return compact(record)


# -- time, status, extras -----------------------------------------------------------------

def _time_value(value: Any, zone: tzinfo) -> tuple[datetime | None, bool]:
    """(time, whether it had no offset) of a time field's value."""
    if isinstance(value, str):
        stamp = parse_time(value, zone)
        return stamp, stamp is not None and _no_offset(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC), False
        except (OverflowError, OSError, ValueError):
            return None, False
    return None, False


def _no_offset(text: str) -> bool:
    tail = text.strip()[10:]
    return not (tail.endswith(("Z", "z")) or "+" in tail or tail.count("-") > 0)


def _set_time(record: Record, fields: Mapping[str, Any], envelope: Mapping[str, Any],
              prefix: Prefix | None, zone: tzinfo, user_map: Mapping[str, str]) -> None:
    if record.get("timestamp") is not None:
        return
    keys = ([user_map["timestamp"]] if "timestamp" in user_map else []) + list(_TIME_KEYS)
    for key in keys:
        value = aliases.get_path(fields, key)
        if value is not None:
            stamp, naive = _time_value(value, zone)
            if stamp is not None:
                record["timestamp"] = stamp
                if naive:
                    record["_naive_time"] = True
                return
            if key in fields and key != "created":
                record["timestamp"] = value  # not a time: judged invalid, not dropped
                return
    if isinstance(envelope.get("time"), datetime):
        record["timestamp"] = envelope["time"]
    elif prefix is not None and prefix.time is not None:
        record["timestamp"] = prefix.time
        if prefix.naive_time:
            record["_naive_time"] = True


_SPANS = (("start_time", "end_time"), ("startTime", "endTime"), ("start", "end"),
          ("request_time", "response_time"), ("started_at", "completed_at"),
          ("request_created_at", "response_created_at"))


def _latency_from_times(record: Record, fields: Mapping[str, Any]) -> None:
    """Latency from a start and an end time logged side by side."""
    for start_key, end_key in _SPANS:
        start, end = fields.get(start_key), fields.get(end_key)
        if start is None or end is None:
            continue
        first, _ = _time_value(start, UTC)
        last, _ = _time_value(end, UTC)
        if first is not None and last is not None and last >= first:
            record["latency_ms"] = (last - first).total_seconds() * 1000.0
            return


def _status_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "ok" if value else "error"
    if isinstance(value, int):
        return "error" if value >= 400 else "ok"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _OK_STATUS:
            return "ok"
        if lowered in _ERROR_STATUS or (lowered.isdigit() and int(lowered) >= 400):
            return "error"
    return None


def _error_value(fields: Mapping[str, Any]) -> tuple[bool, str | None, str | None]:
    """(failed, type, message) from error-like keys of the body."""
    for key in _ERROR_KEYS:
        value = fields.get(key)
        if value in (None, "", False, {}, []):
            continue
        if isinstance(value, dict):
            message = value.get("message") or value.get("msg") or value.get("detail")
            kind = value.get("type") or value.get("code") or value.get("error_type")
            return True, None if kind is None else str(kind), text_of(message)
        if isinstance(value, str):
            return True, None, value
        return True, None, None
    return False, None, None


def _set_status(record: Record, fields: Mapping[str, Any], envelope: Mapping[str, Any],
                piece: Piece) -> None:
    explicit = _status_value(fields.get("status")) if "status" in fields else None
    if explicit is None and isinstance(fields.get("success"), bool):
        explicit = "ok" if fields["success"] else "error"
    failed, kind, message = _error_value(fields)
    level = envelope.get("level") or (piece.prefix.level if piece.prefix else None)
    traceback = piece.traceback or envelope.get("traceback") or []
    tb_type, tb_message = exception_of(traceback) if traceback else (None, None)
    kind = kind or envelope.get("error_type") or tb_type
    message = message or envelope.get("error_message") or tb_message
    if record.get("status") in ("ok", "error") and explicit is None:
        explicit = record["status"]
    if explicit is not None:
        status = explicit
    elif failed or envelope.get("error_type"):
        status = "error"
    elif level is not None:
        status = "error" if str(level).upper() in _ERROR_LEVELS else "ok"
    else:
        status = None
    if "status" in fields and explicit is None and not isinstance(fields["status"], dict):
        status = fields["status"]  # an unknown status value: judged by the schema
    record["status"] = status
    if status == "error":
        record.setdefault("error_type", kind)
        record.setdefault("error_message", message)


def _extras(fields: Mapping[str, Any], sources: Mapping[str, str]) -> Record:
    """The object's own fields that no canonical field took and that are not envelope."""
    used = {path.split(".")[0] for path in sources.values()}
    skip = used | _ENVELOPE_KEYS | set(_TIME_KEYS) | set(_ERROR_KEYS) | {
        "status", "success", "usage", "usage_metadata", "usageMetadata"}
    return {key: value for key, value in fields.items()
            if key not in skip and key not in aliases.KNOWN_NAMES and value is not None}
