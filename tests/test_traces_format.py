"""Canonical span records: read by read_spans (and so by traces), other lines for every
command that analyses calls, described by schemas/genailog.span.v1.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import polars as pl
import pytest
from tracegen import generate, write_canonical
from typer.testing import CliRunner

from genailog.analysis.traces import analyze_traces
from genailog.cli.app import app
from genailog.ingest import read_logs
from genailog.ingest.formats import detect_format
from genailog.ingest.spans import read_spans

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "genailog.span.v1.schema.json")
                    .read_text(encoding="utf-8"))


def test_canonical_spans_read_as_written(tmp_path: Path) -> None:
    frame = generate(11, days=1, per_day=40, repeat_share=0.2)
    path = write_canonical(frame, tmp_path / "spans.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for line in lines:
        validator.validate(json.loads(line))
    assert detect_format(str(path), path.read_bytes()[:65536]) == "genailog-spans"
    spans = read_spans(str(path))
    assert not spans.invalid and spans.frame.height == frame.height == len(lines)
    columns = ["trace_id", "span_id", "parent_span_id", "name", "kind", "start", "end",
               "duration_ms", "status", "model"]
    assert spans.frame.select(columns).equals(frame.select(columns))
    assert analyze_traces(spans).to_dict()["components"] == analyze_traces(frame).to_dict()[
        "components"]


def test_span_records_are_not_calls_for_other_commands(tmp_path: Path) -> None:
    frame = generate(12, days=1, per_day=10)
    write_canonical(frame, tmp_path / "spans.jsonl")
    llm = frame.filter(pl.col("kind") == "llm").row(0, named=True)
    (tmp_path / "calls.jsonl").write_text(
        json.dumps({"timestamp": "2026-03-01T10:00:00Z", "model": "gpt-4o-mini",
                    "trace_id": llm["trace_id"], "span_id": llm["span_id"],
                    "input_tokens": 10, "output_tokens": 2}) + "\n", encoding="utf-8")
    logs = read_logs(str(tmp_path))
    assert logs.collect().height == 1  # the LLM spans are not counted a second time
    assert logs.report.other_lines == frame.height
    summary = CliRunner().invoke(app, ["summarize", str(tmp_path), "--format", "json"])
    assert summary.exit_code == 0, summary.output
    traces = read_spans(str(tmp_path), with_calls=True)
    assert traces.frame.height == frame.height and traces.files == [
        str(tmp_path / "spans.jsonl")]
    assert traces.calls is not None and traces.calls.height == 1  # from calls.jsonl
    # the call record gives its span (named by trace and span id) tokens and cost
    data = analyze_traces(traces).to_dict()
    assert (data["summary"]["input_tokens"], data["summary"]["output_tokens"]) == (10, 2)
    assert data["summary"]["cost_usd"] > 0


def test_bad_span_records_name_file_and_line(tmp_path: Path) -> None:
    good = {"record_type": "span", "trace_id": "t", "span_id": "a", "name": "root",
            "start": "2026-03-01T10:00:00Z", "end": 1772359200500000000}
    lines = [good, {**good, "span_id": "b", "kind": "database"},
             {**good, "span_id": "c", "end": None}, {**good, "span_id": "d", "status": "bad"}]
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{oops\n", encoding="utf-8")
    spans = read_spans(str(path))
    assert spans.frame.height == 1
    assert spans.frame["duration_ms"][0] == 500.0  # Unix nanoseconds for the end
    assert [(e.line, e.detail.split(" ")[0]) for e in spans.invalid] == [
        (2, "kind"), (3, "span"), (4, "status"), (5, "not")]
    out = CliRunner().invoke(app, ["traces", str(path)])
    assert out.exit_code == 3 and "spans.jsonl:2: kind 'database'" in out.output


def test_mlflow_trace_exports_give_every_span(tmp_path: Path) -> None:
    """The real MLflow fixture (tests/fixtures/formats: mlflow's own export of OpenAI
    autologged calls) and a nested trace in the same export shape."""
    import base64

    real = Path(__file__).parent / "fixtures" / "formats" / "logs" / "mlflow_traces.json"
    spans = read_spans(str(real), with_calls=True)
    assert spans.frame.height == 4 and set(spans.frame["kind"]) == {"llm"}
    data = analyze_traces(spans).to_dict()
    assert data["summary"]["llm_spans"] == 4 and data["summary"]["input_tokens"] > 0
    assert data["summary"]["error_traces"] == 1

    def b64(value: int, size: int) -> str:
        return base64.b64encode(value.to_bytes(size, "big")).decode()

    def span(sid: int, parent: int | None, name: str, kind: str, a: int, b: int
             ) -> dict[str, object]:
        return {"trace_id": b64(7, 16), "span_id": b64(sid, 8),
                "parent_span_id": b64(parent, 8) if parent else None, "name": name,
                "start_time_unix_nano": 1_772_359_200_000_000_000 + a * 1_000_000,
                "end_time_unix_nano": 1_772_359_200_000_000_000 + b * 1_000_000,
                "status": {"code": "STATUS_CODE_OK"},
                "attributes": {"mlflow.spanType": json.dumps(kind)}}

    trace = {"info": {"trace_id": "tr-7"}, "data": {"spans": [
        span(1, None, "rag", "CHAIN", 0, 100), span(2, 1, "search", "RETRIEVER", 5, 30),
        span(3, 1, "answer", "CHAT_MODEL", 30, 95)]}}
    path = tmp_path / "mlflow.json"
    path.write_text(json.dumps([trace]), encoding="utf-8")
    frame = read_spans(str(path)).frame
    names = dict(zip(frame["span_id"], frame["name"], strict=True))
    assert sorted((n, k, names.get(p)) for n, k, p in frame.select(
        "name", "kind", "parent_span_id").rows()) == [
        ("answer", "llm", "rag"), ("rag", "chain", None), ("search", "retriever", "rag")]
    assert set(frame["trace_id"]) == {f"{7:032x}"}


def test_langfuse_observation_exports_give_every_observation() -> None:
    """Langfuse's export shape (tests/fixtures/formats, JSONL and CSV): spans and
    generations with their parents; a span whose generation outlives it still gives the
    trace's whole time to the critical path."""
    logs = Path(__file__).parent / "fixtures" / "formats" / "logs"
    for name in ("langfuse.spec-derived.jsonl", "langfuse.spec-derived.csv"):
        spans = read_spans(str(logs / name), with_calls=True)
        frame = spans.frame
        assert frame.height == 8 and not spans.invalid
        assert sorted(frame.group_by("kind").len().rows()) == [("llm", 4), ("span", 4)]
        names = dict(zip(frame["span_id"], frame["name"], strict=True))
        assert {names.get(p) for p in frame.filter(pl.col("kind") == "llm")[
            "parent_span_id"]} == {"retrieve"}
        data = analyze_traces(spans).to_dict()
        assert data["summary"]["input_tokens"] == spans.calls["input_tokens"].sum()  # type: ignore[index]
        assert data["error_origins"][0]["component"] == "llm:OpenAI-generation"
        for trace in data["traces"]:
            assert sum(s["ms"] for s in trace["critical_path"]) + trace["root_self_ms"] == (
                pytest.approx(trace["duration_ms"]))
