"""Generated RAG-pipeline traces for the ``traces`` tests (test-only, not in the package).

Each trace is one request: a root ``rag_pipeline`` chain running, one after the other,
an input guardrail, a retriever (with an embedding child), a reranker, an LLM call and an
output parser. ``slow_from`` makes the reranker slow (about +1.5 s) in ``slow_share`` of
the traces that start on or after that day; ``repeat_share`` of traces send their LLM
prompt twice (a retry). Spans come as a frame with :data:`SPAN_DTYPES` columns, or as
OTLP JSON lines (:func:`write_otlp`) for reading through ``read_spans``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from genailog.ingest.spans import SPAN_DTYPES

START = datetime(2026, 3, 1, tzinfo=UTC)
#: (name, kind, median ms, sigma of the log)
STEPS = (("input_guard", "guardrail", 8.0, 0.3), ("embed_query", "embedding", 35.0, 0.3),
         ("vector_search", "retriever", 45.0, 0.3), ("rerank", "reranker", 60.0, 0.25),
         ("chat", "llm", 700.0, 0.3), ("parse_answer", "chain", 2.0, 0.3))
_KIND = {"llm": "LLM", "retriever": "RETRIEVER", "reranker": "RERANKER",
         "embedding": "EMBEDDING", "guardrail": "GUARDRAIL", "chain": "CHAIN"}


def generate(seed: int, *, days: int = 6, per_day: int = 100, slow_from: int | None = None,
             slow_share: float = 0.3, repeat_share: float = 0.0) -> pl.DataFrame:
    """Spans of ``days * per_day`` traces; returns a frame in :data:`SPAN_DTYPES`."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for number in range(days * per_day):
        day = number // per_day
        start = START + timedelta(days=day, seconds=float(rng.uniform(0, 86_000)))
        slow = slow_from is not None and day >= slow_from and rng.random() < slow_share
        rows.extend(_trace(rng, seed, number, start, slow, rng.random() < repeat_share))
    return pl.DataFrame(rows, schema=SPAN_DTYPES)


def _ms(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(median * np.exp(rng.normal(0.0, sigma)))


def _trace(rng: np.random.Generator, seed: int, number: int, start: datetime, slow: bool,
           repeat: bool) -> list[dict[str, Any]]:
    trace_id = f"{seed:08x}{number:024x}"
    root_id = f"{number:08x}00000000"
    times = {name: _ms(rng, median, sigma) for name, _, median, sigma in STEPS}
    if slow:
        times["rerank"] += _ms(rng, 1500.0, 0.2)
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, parent: str, at: datetime, ms: float) -> dict[str, Any]:
        span = _span(trace_id, f"{number:08x}{len(rows) + 1:08x}", parent, name, kind, at, ms)
        rows.append(span)
        return span

    def gap() -> timedelta:
        return timedelta(milliseconds=_ms(rng, 0.5, 0.3))

    at = start + timedelta(milliseconds=_ms(rng, 2.0, 0.3))
    at = add("input_guard", "guardrail", root_id, at, times["input_guard"])["end"] + gap()
    search = add("vector_search", "retriever", root_id, at,
                 times["embed_query"] + times["vector_search"])
    add("embed_query", "embedding", search["span_id"], at, times["embed_query"])
    at = search["end"] + gap()
    at = add("rerank", "reranker", root_id, at, times["rerank"])["end"] + gap()
    for attempt in range(2 if repeat else 1):
        ms = times["chat"] if attempt == 0 else _ms(rng, 700.0, 0.3)
        call = add("chat", "llm", root_id, at, ms)
        call["model"] = "gpt-4o-mini"
        call["attributes"] = json.dumps({
            "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
            "input.value": f"question {number % 50}", "llm.token_count.prompt": 120,
            "llm.token_count.completion": 30})
        at = call["end"] + gap()
    at = add("parse_answer", "chain", root_id, at, times["parse_answer"])["end"]
    end = at + timedelta(milliseconds=_ms(rng, 1.0, 0.3))
    rows.append(_span(trace_id, root_id, None, "rag_pipeline", "chain", start,
                      (end - start).total_seconds() * 1000))
    return rows


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: str,
          start: datetime, duration: float) -> dict[str, Any]:
    end = start + timedelta(microseconds=round(duration * 1000))
    return {"trace_id": trace_id, "span_id": span_id, "parent_span_id": parent, "name": name,
            "kind": kind, "start": start, "end": end,
            "duration_ms": (end - start).total_seconds() * 1000, "status": "ok",
            "status_message": None, "model": None, "app": "rag-demo",
            "attributes": json.dumps({"openinference.span.kind": _KIND[kind]}),
            "file": "generated", "line": 0}


def write_otlp(frame: pl.DataFrame, path: Path) -> Path:
    """The spans as OTLP JSON, one export request per trace (what an OTLP file exporter
    writes), with OpenInference attributes."""
    with path.open("w", encoding="utf-8") as out:
        for (_trace_id,), part in frame.group_by("trace_id", maintain_order=True):
            spans = [_otlp_span(row) for row in part.iter_rows(named=True)]
            request = {"resourceSpans": [{
                "resource": {"attributes": [{"key": "service.name",
                                             "value": {"stringValue": "rag-demo"}}]},
                "scopeSpans": [{"scope": {"name": "tracegen"}, "spans": spans}]}]}
            out.write(json.dumps(request) + "\n")
    return path


def _nanos(stamp: datetime) -> str:
    return str(int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000)


def _otlp_span(row: dict[str, Any]) -> dict[str, Any]:
    attrs = json.loads(row["attributes"])
    span: dict[str, Any] = {
        "traceId": row["trace_id"], "spanId": row["span_id"], "name": row["name"],
        "kind": 1, "startTimeUnixNano": _nanos(row["start"]),
        "endTimeUnixNano": _nanos(row["end"]),
        "attributes": [{"key": k, "value": ({"intValue": str(v)} if isinstance(v, int)
                                            else {"stringValue": str(v)})}
                       for k, v in attrs.items()],
        "status": {"code": 2 if row["status"] == "error" else 0}}
    if row["parent_span_id"]:
        span["parentSpanId"] = row["parent_span_id"]
    return span


def write_canonical(frame: pl.DataFrame, path: Path) -> Path:
    """The spans as canonical span records (schemas/genailog.span.v1.schema.json)."""
    with path.open("w", encoding="utf-8") as out:
        for row in frame.iter_rows(named=True):
            record = {"record_type": "span", "trace_id": row["trace_id"],
                      "span_id": row["span_id"], "parent_span_id": row["parent_span_id"],
                      "name": row["name"], "kind": row["kind"],
                      "start": row["start"].isoformat().replace("+00:00", "Z"),
                      "end": row["end"].isoformat().replace("+00:00", "Z"),
                      "status": row["status"], "model": row["model"], "app": row["app"],
                      "attributes": json.loads(row["attributes"])}
            out.write(json.dumps(record) + "\n")
    return path
