"""Every span of a trace, as a table: what ``traces`` (and anything that looks inside a
request) reads, next to the LLM-call records every other command sees.

:func:`read_spans` takes the same inputs as :func:`read_logs` and reads every span of the
span shapes (OTLP JSON and protobuf, OTel SDK span JSON, Phoenix exports in JSON or
Parquet), MLflow trace exports, Langfuse observation exports and canonical span records
(``"record_type": "span"``, :mod:`genailog.ingest.formats.genailog_spans`), whatever its
convention. Columns of the frame:

==================  =========================================================================
``trace_id``        hex
``span_id``         hex
``parent_span_id``  hex, null for a root span
``name``            the span's name
``kind``            ``llm``, ``retriever``, ``reranker``, ``embedding``, ``tool``, ``agent``,
                    ``chain``, ``guardrail``, ``evaluator`` or ``span``, from OpenInference's
                    ``openinference.span.kind``, Langfuse's ``langfuse.observation.type`` or
                    ``gen_ai.operation.name``
``start``, ``end``  ``Datetime(us, UTC)``
``duration_ms``     end - start
``status``          ``ok`` or ``error``
``status_message``  the error's message, when there is one
``model``           the model of an LLM span
``app``             the resource's ``service.name``
``attributes``      every attribute, as JSON text
``file``, ``line``  where the span was read
==================  =========================================================================

With ``with_calls=True`` the LLM-call records of the same files are read too
(:attr:`Spans.calls`, canonical columns, ``trace_id``/``span_id`` naming their span): token
counts, reported cost and prompts come from the one reader of LLM calls, never read twice
in two ways.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from genailog.errors import InputError, InvalidRecordError
from genailog.ingest.formats._common import OtherLine, from_unix_nanos
from genailog.ingest.formats._spans import Span, spans
from genailog.ingest.reader import as_paths
from genailog.ingest.sources import discover, open_peeked

SPAN_DTYPES: dict[str, pl.DataType] = {
    "trace_id": pl.String(), "span_id": pl.String(), "parent_span_id": pl.String(),
    "name": pl.String(), "kind": pl.String(),
    "start": pl.Datetime("us", "UTC"), "end": pl.Datetime("us", "UTC"),
    "duration_ms": pl.Float64(), "status": pl.String(), "status_message": pl.String(),
    "model": pl.String(), "app": pl.String(), "attributes": pl.String(),
    "file": pl.String(), "line": pl.Int64(),
}

_OPENINFERENCE = {"LLM": "llm", "RETRIEVER": "retriever", "RERANKER": "reranker",
                  "EMBEDDING": "embedding", "TOOL": "tool", "AGENT": "agent", "CHAIN": "chain",
                  "GUARDRAIL": "guardrail", "EVALUATOR": "evaluator"}
_LANGFUSE = {"generation": "llm", "embedding": "embedding", "retriever": "retriever",
             "tool": "tool", "agent": "agent", "chain": "chain", "guardrail": "guardrail",
             "evaluator": "evaluator", "span": "span", "event": "span"}
_GEN_AI = {"chat": "llm", "text_completion": "llm", "generate_content": "llm",
           "embeddings": "embedding", "execute_tool": "tool", "invoke_agent": "agent",
           "create_agent": "agent"}


@dataclass
class Spans:
    """Spans in a frame (columns in :data:`SPAN_DTYPES`), and what was read."""

    frame: pl.DataFrame
    files: list[str] = field(default_factory=list)
    invalid: list[InvalidRecordError] = field(default_factory=list)
    other_lines: int = 0
    #: The LLM-call records of the same files (``read_spans(..., with_calls=True)``).
    calls: pl.DataFrame | None = None


def span_kind(span: Span) -> str:
    attrs = span.attributes
    if "openinference.span.kind" in attrs:
        return _OPENINFERENCE.get(str(attrs["openinference.span.kind"]).upper(), "span")
    if "langfuse.observation.type" in attrs:
        return _LANGFUSE.get(str(attrs["langfuse.observation.type"]).lower(), "span")
    operation = attrs.get("gen_ai.operation.name")
    if operation is not None:
        return _GEN_AI.get(str(operation), "llm")
    return "llm" if "gen_ai.request.model" in attrs else "span"


def _model(span: Span) -> str | None:
    attrs = span.attributes
    for key in ("llm.model_name", "gen_ai.request.model", "gen_ai.response.model",
                "langfuse.observation.model.name"):
        if attrs.get(key):
            return str(attrs[key])
    return None


def _row(span: Span) -> dict[str, Any]:
    start, end = from_unix_nanos(span.start), from_unix_nanos(span.end)
    duration = (end - start).total_seconds() * 1000.0 if start and end else None
    return {
        "trace_id": span.trace_id, "span_id": span.span_id,
        "parent_span_id": span.parent_span_id, "name": span.name, "kind": span_kind(span),
        "start": start, "end": end, "duration_ms": duration,
        "status": "error" if span.status_error else "ok",
        "status_message": span.status_message, "model": _model(span),
        "app": span.resource.get("service.name"),
        "attributes": json.dumps(span.attributes, default=str, ensure_ascii=False),
        "file": span.file, "line": span.line,
    }


def read_spans(paths: str | Path | Sequence[str | Path], *, with_calls: bool = False
               ) -> Spans:
    """Every span in ``paths`` (files of other shapes are passed over and not listed);
    with ``with_calls``, also the LLM-call records of ``paths`` (of the span files alone
    when the other files cannot be read as calls)."""
    result = Spans(pl.DataFrame(schema=SPAN_DTYPES))
    rows: list[dict[str, Any]] = []
    call_files: list[str] = []  # files of calls only, read for usage with with_calls
    for source in discover(as_paths(paths)):
        fmt, data = _span_data(source)
        if data is None:
            if fmt:
                call_files.append(source.name)
            continue
        result.files.append(source.name)
        _READERS.get(fmt, _otlp)(source.name, data, result, rows)
    if rows:
        result.frame = pl.DataFrame(rows, schema=SPAN_DTYPES, strict=False)
    if with_calls and rows:
        result.calls = _calls(result.files + call_files) if call_files else None
        if result.calls is None:  # a call file that cannot be read: the span files' calls
            result.calls = _calls(result.files)
    return result


def _otlp(file: str, data: bytes, result: Spans, rows: list[dict[str, Any]]) -> None:
    """OTLP JSON or protobuf, OTel SDK span JSON, Phoenix rows (Parquet as JSON lines)."""
    for item in spans(file, data):
        if isinstance(item, InvalidRecordError):
            result.invalid.append(item)
        elif isinstance(item, OtherLine):
            result.other_lines += 1
        else:
            rows.append(_row(item))


def _span_data(source: Any) -> tuple[str, bytes | None]:
    """(format, the bytes of a span file) of one source; data None for a file of other
    records, format "" for a file genailog cannot read."""
    from genailog.ingest.detect import detect
    from genailog.ingest.parquet import rows_as_jsonl
    from genailog.ingest.parquet import shape as parquet_shape

    head, stream = open_peeked(source)
    try:
        fmt = detect(source, head)
        if fmt == "parquet":
            if parquet_shape(source.name) != "spans":
                return fmt, None
            return fmt, rows_as_jsonl(source.name)
        if fmt in ("otlp", "openinference", *_READERS):
            return fmt, stream.read()
        return fmt, None
    except InputError:
        return "", None
    finally:
        stream.close()


def _canonical(file: str, data: bytes, result: Spans, rows: list[dict[str, Any]]) -> None:
    """Canonical span records (genailog.ingest.formats.genailog_spans): rows as they are."""
    from genailog.ingest.formats.genailog_spans import span_rows

    for _, row in span_rows(file, data):
        if isinstance(row, InvalidRecordError):
            result.invalid.append(row)
        else:
            rows.append(row)


_MLFLOW = {"CHAT_MODEL": "llm", "LLM": "llm", "RETRIEVER": "retriever",
           "RERANKER": "reranker", "EMBEDDING": "embedding", "TOOL": "tool", "AGENT": "agent",
           "CHAIN": "chain", "PARSER": "chain", "EVALUATOR": "evaluator",
           "GUARDRAIL": "guardrail"}


def _mlflow(file: str, data: bytes, result: Spans, rows: list[dict[str, Any]]) -> None:
    """Every span of MLflow trace exports (``mlflow.spanType`` gives the kind); ids,
    times, status and model as the mlflow call reader reads them."""
    from genailog.ingest.formats import mlflow
    from genailog.ingest.formats._common import from_unix_nanos, json_items, not_object

    for line, trace in json_items(file, data):
        error = trace if isinstance(trace, InvalidRecordError) else not_object(
            file, line, trace, "an MLflow trace")
        if error:
            result.invalid.append(error)
            continue
        info = trace.get("info") or {}
        for span in (trace.get("data") or {}).get("spans") or []:
            attrs = mlflow._attrs(span)  # noqa: SLF001 - the one decoder of MLflow attributes
            start = from_unix_nanos(span.get("start_time_unix_nano", span.get("start_time")))
            end = from_unix_nanos(span.get("end_time_unix_nano", span.get("end_time")))
            code = (span.get("status") or {}).get("code") or span.get("status_code")
            failed = code in ("STATUS_CODE_ERROR", "ERROR")
            rows.append({
                **mlflow._ids(span, info),  # noqa: SLF001
                "name": str(span.get("name", "")),
                "kind": _MLFLOW.get(str(attrs.get("mlflow.spanType")).upper(), "span"),
                "start": start, "end": end,
                "duration_ms": (end - start).total_seconds() * 1000.0 if start and end
                else None,
                "status": "error" if failed else "ok",
                "status_message": mlflow._error(span)[1] if failed else None,  # noqa: SLF001
                "model": attrs.get("mlflow.llm.model") or attrs.get("model"),
                "app": None, "attributes": json.dumps(attrs, default=str, ensure_ascii=False),
                "file": file, "line": line})


def _langfuse(file: str, data: bytes, result: Spans, rows: list[dict[str, Any]]) -> None:
    """Every observation of Langfuse exports (JSONL, JSON array or CSV): generations,
    spans, agents, tools, ...; an event is a point in time (its end is its start)."""
    from genailog.ingest.formats import langfuse
    from genailog.ingest.formats._common import json_items, not_object, parse_time

    get = langfuse._get  # noqa: SLF001 - the one reader of snake_case and camelCase names
    items = langfuse._csv_rows(data) if langfuse.is_csv(data) else json_items(file, data)  # noqa: SLF001
    for line, row in items:
        error = row if isinstance(row, InvalidRecordError) else not_object(
            file, line, row, "a Langfuse observation")
        if error:
            result.invalid.append(error)
            continue
        try:
            start = parse_time(get(row, "start_time"))
            end = parse_time(get(row, "end_time")) or (
                start if str(get(row, "type")).upper() == "EVENT" else None)
        except ValueError:
            result.invalid.append(InvalidRecordError(file, line, "start_time or end_time is "
                                                     "no time"))
            continue
        failed = str(get(row, "level") or "").upper() == "ERROR"
        rows.append({
            "trace_id": _text(get(row, "trace_id")), "span_id": _text(get(row, "id")),
            "parent_span_id": _text(get(row, "parent_observation_id")),
            "name": str(get(row, "name") or ""),
            "kind": _LANGFUSE.get(str(get(row, "type") or "generation").lower(), "span"),
            "start": start, "end": end,
            "duration_ms": (end - start).total_seconds() * 1000.0 if start and end else None,
            "status": "error" if failed else "ok",
            "status_message": _text(get(row, "status_message")) if failed else None,
            "model": _text(get(row, "provided_model_name") or get(row, "model")),
            "app": _text(get(row, "trace_name")),
            "attributes": json.dumps({k: v for k, v in row.items() if v not in (None, "")},
                                     default=str, ensure_ascii=False),
            "file": file, "line": line})


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


_Reader = Callable[[str, bytes, Spans, list[dict[str, Any]]], None]
_READERS: dict[str, _Reader] = {"genailog-spans": _canonical, "mlflow": _mlflow,
                                "langfuse": _langfuse}


def _calls(files: list[str]) -> pl.DataFrame | None:
    """The LLM-call records of ``files``, or None when they hold none. A span file whose
    calls cannot be read still gives its spans (the calls only add usage)."""
    from genailog.errors import GenailogError
    from genailog.ingest.reader import read_logs

    try:
        logs = read_logs(files, on_invalid="skip", require_calls=False)
        frame = logs.collect()
    except GenailogError:
        return None
    return frame if frame.height else None
