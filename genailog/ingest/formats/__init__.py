"""The format registry: every log shape genailog reads, how it is detected, and its adapter.

Adding a format is one module and one :class:`Format` entry in :data:`REGISTRY`; the
``--input-format`` choices, detection order and docs/formats.md all come from here. Each
adapter yields ``(file, line, item)`` where ``item`` is a canonical record dict (typed
later by :func:`genailog.ingest.frame.canonical_frame`), the
:class:`~genailog.errors.InvalidRecordError` of a line it could not read, or an
:class:`OtherLine` (counted, not a record). Detection looks only at the first ~64 KiB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from genailog.errors import InputError, InvalidRecordError, UnknownFormatError, UsageError
from genailog.ingest.context import ReadContext
from genailog.ingest.formats import (
    aliases,
    genailog_spans,
    generic,
    langfuse,
    litellm,
    llm,
    mlflow,
    openinference,
    otlp,
)
from genailog.ingest.formats._common import Item, OtherLine, Record
from genailog.ingest.formats._spans import is_protobuf

Loader = Callable[[list[tuple[str, bytes]], ReadContext], Iterator[Item]]


@dataclass(frozen=True)
class Format:
    """One readable shape: its ``--input-format`` name, a line for help and docs, the
    producers it comes from, and its adapter (None for the built-in canonical readers)."""

    name: str
    summary: str
    producers: str
    loader: Loader | None
    module: Any = None


def _per_file(load: Callable[[str, bytes], Iterator[Item]]) -> Loader:
    def load_all(files: list[tuple[str, bytes]], ctx: ReadContext) -> Iterator[Item]:
        for name, data in files:
            yield from load(name, data)
    return load_all


def _spans(load: Callable[[list[tuple[str, bytes]]], Iterator[Item]]) -> Loader:
    def load_all(files: list[tuple[str, bytes]], ctx: ReadContext) -> Iterator[Item]:
        yield from load(files)
    return load_all


def _generic(files: list[tuple[str, bytes]], ctx: ReadContext) -> Iterator[Item]:
    for name, data in files:
        yield from generic.load_records(name, data, ctx)


REGISTRY: tuple[Format, ...] = (
    Format("genailog", "canonical genailog JSONL (docs/schema.md), one record per line",
           "genailog.log, genailog convert, your own code", None),
    Format("parquet", "Parquet with canonical column names (nested list/struct columns, "
           "timestamps with or without a zone, integers of any width)",
           "genailog convert, DuckDB, pandas, polars, Spark", None),
    Format("otlp", "OpenTelemetry traces and logs as OTLP JSON, OTel SDK span JSON "
           "(ConsoleSpanExporter, InMemorySpanExporter, span.to_json()) and Phoenix span "
           "exports, with gen_ai.* or Langfuse (langfuse.observation.*) attributes",
           "opentelemetry-instrumentation-openai-v2/-anthropic, OpenLLMetry, the Langfuse "
           "SDK (v3), any OTLP file exporter", _spans(otlp.load_many), otlp),
    Format("openinference", "OpenInference spans (llm.*, openinference.span.kind) in any of "
           "the span shapes above, Phoenix spans exports included",
           "openinference-instrumentation-*, Arize Phoenix", _spans(openinference.load_many),
           openinference),
    Format("litellm", "LiteLLM StandardLoggingPayload, one per line", "LiteLLM custom loggers",
           _per_file(litellm.load_records), litellm),
    Format("langfuse", "Langfuse observation exports (JSONL, JSON array or CSV)",
           "Langfuse UI/API exports", _per_file(langfuse.load_records), langfuse),
    Format("mlflow", "MLflow trace JSON", "mlflow.search_traces / trace export",
           _per_file(mlflow.load_records), mlflow),
    Format("llm", "`llm logs --json` output", "simonw/llm", _per_file(llm.load_records), llm),
    Format("genailog-spans", "canonical span records (`\"record_type\": \"span\"`, "
           "docs/traces.md): read by `traces`; other commands count them as other lines",
           "your own code", _per_file(genailog_spans.load_records), genailog_spans),
    Format("json", "JSON logs as people write them: text-prefixed lines (Python logging, "
           "syslog), JSON loggers' envelopes (python-json-logger, structlog, loguru), provider "
           "response objects (OpenAI Chat Completions and Responses, Anthropic Messages, "
           "Gemini), OpenAI Batch output and error files, and any JSON with aliased fields",
           "logging.info(json.dumps(record)), structlog, loguru, python-json-logger, "
           "model_dump_json() of SDK responses", _generic, generic),
)

BY_NAME = {f.name: f for f in REGISTRY}
_CANONICAL = frozenset(f.name for f in aliases.FIELDS) | {"timestamp", "status"}
#: Every adapter format (the canonical readers excluded).
FORMATS: tuple[str, ...] = tuple(f.name for f in REGISTRY if f.name != "parquet")
#: The ``--input-format`` choices.
INPUT_FORMATS: tuple[str, ...] = ("auto", *FORMATS)

_OPENINFERENCE_MARKS = (b'"openinference.span.kind"', b'"llm.model_name"', b'"llm.token_count.',
                        b'"openinference.instrumentation', b'"span_kind"',
                        b'"attributes.openinference.span.kind"', b'"attributes.llm.')
_MLFLOW_MARKS = re.compile(rb'"(mlflow\.spanType|trace_location|request_metadata|'
                           rb'trace_metadata|mlflow\.traceRequestId)"')


def _first_object(text: str) -> dict[str, Any] | None:
    """The first JSON object of JSON lines, or of a JSON list, if it fits in the head."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        stripped = stripped[1:].lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        return None
    return value if isinstance(value, dict) else None


def _has(obj: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(key in obj for key in keys)


def is_sdk_span(obj: dict[str, Any]) -> bool:
    """An OTel SDK span document (``span.to_json()``) or a Phoenix span row."""
    context = obj.get("context")
    if isinstance(context, dict) and "span_id" in context and "name" in obj:
        return True
    return "context.span_id" in obj and "name" in obj


def _from_object(obj: dict[str, Any], head: bytes) -> str | None:
    """The format of a parsed first record, judged by its keys."""
    if genailog_spans.is_span_record(obj):
        return "genailog-spans"
    if "resourceSpans" in obj or "resourceLogs" in obj or is_sdk_span(obj):
        return _span_kind(head)
    data = obj.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and (
            is_sdk_span(data[0]) or "resourceSpans" in data[0] or "span_kind" in data[0]
            or ("span_id" in data[0] and "trace_id" in data[0])):
        return _span_kind(head)  # Phoenix REST: {"data": [spans], "next_cursor": ...}
    if "standard_logging_object" in obj or sum(k in obj for k in litellm.SIGNATURE) >= 2:
        return "litellm"
    if _has(obj, langfuse.SIGNATURE):
        return "langfuse"
    if sum(k in obj for k in llm.SIGNATURE) >= 2:
        return "llm"
    if "info" in obj and "data" in obj:
        return "mlflow"
    if "timestamp" in obj and "model" in obj and _canonical_head(head):
        return "genailog"
    return None


#: Keys that say an object is a logger's envelope or uses other names for canonical fields,
#: so the alias reader must see it even though it has a timestamp and a model.
_NOT_CANONICAL = frozenset({"level", "levelname", "severity", "event", "usage", "record",
                            "asctime", "usage_metadata", "usageMetadata", "choices"})


def _canonical_head(head: bytes) -> bool:
    """Whether the first lines read as canonical records: no parsed object among them has
    an envelope or alias-only key (those go to the alias reader, which reads canonical
    names first anyway). Malformed lines and objects missing a field decide nothing: the
    canonical reader judges them invalid."""
    lines = [line for line in head.split(b"\n")[:50] if line.strip()]
    if len(lines) > 1 and len(head) >= 65536:
        lines = lines[:-1]  # the last line of a cut head may be partial
    for line in lines:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            continue
        if isinstance(value, dict):
            keys = set(value)
            if keys & _NOT_CANONICAL or (keys & aliases.KNOWN_NAMES) - _CANONICAL:
                return False
    return True


def _span_kind(head: bytes) -> str:
    if any(m in head for m in _OPENINFERENCE_MARKS) and b'"langfuse.observation' not in head:
        return "openinference"
    return "otlp"


def _from_head(head: bytes) -> str | None:
    """The format judged from marker keys, for documents too long to parse from the head."""
    if b'"resourceSpans"' in head or b'"resourceLogs"' in head:
        return _span_kind(head)
    if _MLFLOW_MARKS.search(head):
        return "mlflow"
    if b'"datetime_utc"' in head and b'"duration_ms"' in head:
        return "llm"
    if b'"litellm_call_id"' in head:
        return "litellm"
    if b'"provided_model_name"' in head or b'"usage_details"' in head:
        return "langfuse"
    if b'"trace_id"' in head and b'"span_id"' in head and (
            b'"context"' in head or b'"start_time' in head):
        return _span_kind(head)
    if head.lstrip()[:1] == b"{" and b'"timestamp"' in head and b'"model"' in head:
        return "genailog"  # a canonical first record longer than the head
    return None


def _csv_header(text: str) -> str | None:
    header = text.split("\n", 1)[0]
    columns = {c.strip().strip('"') for c in header.split(",")}
    if "type" in columns and ({"provided_model_name", "usage_details"} & columns):
        return "langfuse"
    return None


def _json_logs(path: str, head: bytes, ctx: ReadContext) -> bool:
    """Whether the head holds at least one JSON object that is an LLM-call record."""
    probe = ReadContext(ctx.options)
    cut = head if len(head) < 65536 else head[: head.rfind(b"\n") + 1] or head
    try:
        for _, _, item in generic.load_records(path, cut, probe):
            if isinstance(item, dict):
                return True
    except Exception:  # noqa: BLE001 - e.g. a Batch request file: the read says why
        return True
    return False


def detect_format(path: str, head: bytes, ctx: ReadContext | None = None) -> str:
    """The format of a file from its first bytes (decompressed); one of :data:`FORMATS`."""
    ctx = ctx or ReadContext()
    text = head.decode("utf-8-sig", errors="replace")
    found: str | None = None
    if is_protobuf(head):
        return _protobuf_kind(path, head)
    if text.lstrip()[:1] in ("{", "["):
        # keys of a parsed first record decide; raw markers only when it is cut off,
        # since a prompt may quote another format's key names
        obj = _first_object(text)
        found = _from_object(obj, head) if obj is not None else _from_head(head)
    else:
        found = _csv_header(text)
    if found is None and (ctx.explain or _json_logs(path, head, ctx)):
        found = "json"
    if found is None:
        raise UnknownFormatError(describe_unknown(path, head))
    return found


def _protobuf_kind(path: str, head: bytes) -> str:
    """An OTLP protobuf body: its attributes decide between the span conventions. The
    head of a large body may be cut, so only its first spans are looked at."""
    from genailog.ingest.formats._otlp_proto import fields

    try:
        for _ in fields(head[:65536]):
            pass
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        if len(head) < 65536:
            raise UnknownFormatError(f"{path}: binary data that is no OTLP protobuf trace "
                                     "request") from None
    return _span_kind(head)


def describe_unknown(path: str, head: bytes) -> str:
    """Why a file is no log genailog can read, with what it holds."""
    lines = [line for line in head.split(b"\n") if line.strip()]
    objects = sum(1 for line in lines if b"{" in line)
    keys: set[str] = set()
    for line in lines[:200]:
        brace = line.find(b"{")
        try:
            value = json.loads(line[brace:]) if brace >= 0 else None
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            value = None
        if isinstance(value, dict):
            keys.update(list(value)[:20])
    seen = f"; keys seen: {', '.join(sorted(keys)[:15])}" if keys else ""
    return (f"{path}: no LLM call found in {len(lines)} line(s) ({objects} with a JSON object)"
            f"{seen}; genailog reads {', '.join(FORMATS)} and Parquet (docs/formats.md); "
            "name your fields with --map FIELD=PATH, e.g. --map input_tokens=meta.tok_in")


def loader(fmt: str) -> Loader:
    entry = BY_NAME.get(fmt)
    if entry is None or entry.loader is None:
        raise UsageError(f"no adapter for format {fmt!r}; adapters: "
                         + ", ".join(f.name for f in REGISTRY if f.loader))
    return entry.loader


def load_many(files: list[tuple[str, bytes]], fmt: str,
              errors: list[InvalidRecordError] | None = None, ctx: ReadContext | None = None,
              ) -> Iterator[tuple[str, int, Record | OtherLine]]:
    """Canonical records (and other lines) of all ``files`` of one non-canonical format,
    read together (OTLP logs join their traces). A line that cannot be read raises
    :class:`InvalidRecordError`, or is appended to ``errors`` when a list is given."""
    readable = []
    for name, data in files:
        if fmt in ("otlp", "openinference") or _is_text(data):
            readable.append((name, data))
        else:
            error = InvalidRecordError(name, 1, f"not UTF-8 text, so not {fmt} logs; "
                                       "check --input-format")
            if errors is None:
                raise error
            errors.append(error)
    items = loader(fmt)(readable, ctx or ReadContext())
    while True:
        try:
            file, line, item = next(items)
        except StopIteration:
            return
        except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
            # data of another shape than the adapter's (a forced --input-format): say so
            names = ", ".join(name for name, _ in readable[:3])
            raise InputError(f"{names}: not {fmt} logs (the {fmt} reader stopped at "
                             f"{type(exc).__name__}: {exc}); check --input-format") from None
        if isinstance(item, InvalidRecordError):
            if errors is None:
                raise item
            errors.append(item)
        else:
            yield file, line, item


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def load_records(path: str, data: bytes, fmt: str) -> Iterator[tuple[int, Record]]:
    """(line, canonical record) of one file of a non-canonical format."""
    for _, line, record in load_many([(path, data)], fmt):
        if isinstance(record, dict):
            yield line, record


__all__ = ["BY_NAME", "FORMATS", "INPUT_FORMATS", "REGISTRY", "Format", "OtherLine", "aliases",
           "detect_format", "load_many", "load_records"]
