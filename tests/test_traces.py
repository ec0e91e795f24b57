"""genailog traces: self time, critical path, error origins, slow-trace causes, changed
components, repeated calls, usage, gates; against hand-computed trees, DuckDB, the
generated pipeline of tests/tracegen.py and the real-producer fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from conftest import require_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st
from tracegen import START, generate, write_otlp
from typer.testing import CliRunner

from genailog.analysis.traces import TracesOptions, analyze_traces, rewrite_selector
from genailog.cli.app import app
from genailog.errors import InputError, UsageError
from genailog.ingest.spans import SPAN_DTYPES, read_spans

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "traces.output.schema.json")
                    .read_text(encoding="utf-8"))
REAL = Path(__file__).parent / "fixtures" / "real"
SPLIT = START + timedelta(days=3)
runner = CliRunner()



def _frame(spans: list[tuple[str, str | None, str, str, int, int, str]]) -> pl.DataFrame:
    """(span id, parent, name, kind, start ms, end ms, status) of one trace."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"trace_id": "t1", "span_id": s, "parent_span_id": p, "name": n, "kind": k,
             "start": t0 + timedelta(milliseconds=a), "end": t0 + timedelta(milliseconds=b),
             "duration_ms": float(b - a), "status": status, "status_message": None,
             "model": None, "app": None, "attributes": "{}", "file": "x", "line": 1}
            for s, p, n, k, a, b, status in spans]
    return pl.DataFrame(rows, schema=SPAN_DTYPES)


TREE = _frame([
    ("r", None, "request", "chain", 0, 100, "error"),
    ("a", "r", "plan", "agent", 10, 50, "error"),
    ("c", "a", "search", "tool", 20, 30, "error"),
    ("b", "r", "rerank", "reranker", 30, 70, "ok"),
    ("d", "r", "answer", "llm", 80, 90, "ok"),
])


def _by(result: Any, key: str = "component") -> dict[str, dict[str, Any]]:
    return {c[key]: c for c in result.to_dict()["components"]}


def test_self_time_and_critical_path_of_a_known_tree() -> None:
    result = analyze_traces(TREE, options=TracesOptions(trace_id="t1"))
    comps = _by(result)
    # self: the span's time outside the union of its children (a: 40 - c's 10)
    assert {k: c["self_ms"] for k, c in comps.items()} == {
        "agent:plan": 30.0, "tool:search": 10.0, "reranker:rerank": 40.0, "llm:answer": 10.0}
    # walking back from 100: answer 80-90, rerank 30-70, plan 10-30 (search 20-30 in it)
    assert {k: c["critical_ms"] for k, c in comps.items()} == {
        "agent:plan": 10.0, "tool:search": 10.0, "reranker:rerank": 40.0, "llm:answer": 10.0}
    data = result.to_dict()
    assert data["summary"]["root_self_share"] == pytest.approx(0.3)  # 0-10, 70-80, 90-100
    assert data["summary"]["components"] == 4  # the root is the request, no component
    # errors start in the deepest failing span, not in its failing ancestors
    assert [o["component"] for o in data["error_origins"]] == ["tool:search"]
    assert comps["agent:plan"]["error_origins"] == 0 and comps["agent:plan"]["errors"] == 1
    tree = data["trace"]
    assert [(s["name"], s["depth"]) for s in tree["spans"]] == [
        ("request", 0), ("plan", 1), ("search", 2), ("rerank", 1), ("answer", 1)]
    assert [s["critical_ms"] for s in tree["spans"]] == [30.0, 10.0, 10.0, 40.0, 10.0]
    assert data["traces"][0]["critical_path"] == [
        {"component": "agent:plan", "ms": 10.0}, {"component": "tool:search", "ms": 10.0},
        {"component": "reranker:rerank", "ms": 40.0}, {"component": "llm:answer", "ms": 10.0}]
    jsonschema.validate(data, SCHEMA)


@st.composite
def _trees(draw: st.DrawFn) -> pl.DataFrame:
    count = draw(st.integers(1, 12))
    spans: list[tuple[str, str | None, str, str, int, int, str]] = []
    for i in range(count):
        parent = None if i == 0 else str(draw(st.integers(0, i - 1)))
        start = draw(st.integers(0, 50))
        spans.append((str(i), parent, f"s{i % 3}", "tool", start,
                      start + draw(st.integers(0, 60)), "ok"))
    if draw(st.booleans()) and count > 1:  # an orphan whose parent was never written
        spans[-1] = (*spans[-1][:1], "missing", *spans[-1][2:])
    return _frame(spans)


@settings(max_examples=60, deadline=None)
@given(_trees())
def test_critical_times_add_up_to_the_trace(frame: pl.DataFrame) -> None:
    data = analyze_traces(frame, options=TracesOptions(trace_id="t1")).to_dict()
    spans, trace = data["trace"]["spans"], data["traces"][0]
    assert len(spans) == frame.height
    assert all(0 <= s["self_ms"] <= s["duration_ms"] + 1e-9 for s in spans)
    # every instant of the trace is on the critical path once: components + root self time
    assert sum(step["ms"] for step in trace["critical_path"]) + trace["root_self_ms"] == (
        pytest.approx(trace["duration_ms"]))
    assert sum(s["critical_ms"] for s in spans) <= trace["duration_ms"] + 1e-9
    if trace["duration_ms"]:
        assert data["summary"]["root_self_share"] + sum(
            c["critical_path_share"] for c in data["components"]) == pytest.approx(1.0)


def test_component_percentiles_equal_duckdb() -> None:
    duckdb = pytest.importorskip("duckdb")
    frame = generate(7, days=2, per_day=150, repeat_share=0.1)
    got = _by(analyze_traces(frame))
    parts = frame.filter(pl.col("parent_span_id").is_not_null())  # non-root spans
    con = duckdb.connect()
    con.register("parts", parts.to_arrow())
    want = con.sql(
        "SELECT kind || ':' || name AS c, count(*) AS n, quantile_cont(duration_ms, 0.5), "
        "quantile_cont(duration_ms, 0.95), quantile_cont(duration_ms, 0.99), "
        "avg(duration_ms) FROM parts GROUP BY 1").fetchall()
    assert {c for c, *_ in want} == set(got)
    for name, n, p50, p95, p99, mean in want:
        row = got[name]
        assert row["spans"] == n
        assert (row["p50_ms"], row["p95_ms"], row["p99_ms"], row["mean_ms"]) == pytest.approx(
            (p50, p95, p99, mean), rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_injected_slow_reranker_is_the_first_cause_and_the_only_change(seed: int) -> None:
    frame = generate(seed, slow_from=3)
    whole = analyze_traces(frame).to_dict()
    assert whole["slow_trace_causes"][0]["component"] == "reranker:rerank"
    assert whole["slow_trace_causes"][0]["share_of_excess"] > 0.5
    split = analyze_traces(frame, options=TracesOptions(reference_until=SPLIT)).to_dict()
    assert [c["component"] for c in split["changed_components"]] == ["reranker:rerank"]
    assert split["changed_components"][0]["direction"] == "slower"
    assert split["slow_trace_causes"][0]["component"] == "reranker:rerank"
    assert split["reference"]["traces"] == 300 and split["summary"]["traces"] == 300
    jsonschema.validate(split, SCHEMA)


def test_nothing_injected_names_no_change_in_19_of_20_seeds() -> None:
    alarms = [analyze_traces(generate(seed, per_day=60),
                             options=TracesOptions(reference_until=SPLIT)).to_dict()
              ["changed_components"] for seed in range(20)]
    assert sum(bool(a) for a in alarms) <= 1, alarms


def test_repeated_llm_calls_are_counted_per_trace() -> None:
    frame = generate(3, days=1, per_day=200, repeat_share=0.2)
    llm = frame.filter(pl.col("kind") == "llm").group_by("trace_id").len()
    repeated = llm.filter(pl.col("len") > 1)
    data = analyze_traces(frame).to_dict()
    assert data["summary"]["traces_with_repeats"] == repeated.height > 0
    assert {r["trace_id"] for r in data["repeated_calls"]} == set(repeated["trace_id"])
    assert all(r["calls"] == 2 and r["prompt"].startswith("text ")
               for r in data["repeated_calls"])


def test_cli_reference_paths_json_matches_the_schema(tmp_path: Path) -> None:
    frame = generate(2, days=4, per_day=60, slow_from=2)
    before = frame.filter(pl.col("trace_id").is_in(
        frame.filter(pl.col("start") < START + timedelta(days=2))["trace_id"].implode()))
    after = frame.join(before.select("trace_id").unique(), on="trace_id", how="anti")
    ref = write_otlp(before, tmp_path / "ref.jsonl")
    cur = write_otlp(after, tmp_path / "cur.jsonl")
    out = runner.invoke(app, ["traces", str(cur), "--reference", str(ref), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    jsonschema.validate(data, SCHEMA)
    assert [c["component"] for c in data["changed_components"]] == ["reranker:rerank"]
    assert data["reference"]["source"] == "reference_paths"
    # tokens come from the call records of the same file (OpenInference token counts)
    llm_spans = after.filter(pl.col("kind") == "llm").height
    assert data["summary"]["input_tokens"] == 120 * llm_spans
    assert data["summary"]["output_tokens"] == 30 * llm_spans
    assert data["summary"]["cost_usd"] > 0


def test_usage_is_null_not_zero_when_no_call_logs_it() -> None:
    data = analyze_traces(TREE).to_dict()
    assert data["summary"]["input_tokens"] is None and data["summary"]["cost_usd"] is None


TRACED = sorted(p for p in REAL.glob("*/*/truth.json")
                if json.loads(p.read_text(encoding="utf-8")).get("spans"))


@pytest.mark.parametrize("truth_path", TRACED, ids=lambda p: p.parent.name)
def test_real_fixtures_every_span_in_a_trace(truth_path: Path) -> None:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    spans = read_spans([str(truth_path.parent / n) for n in truth["read"]], with_calls=True)
    data = analyze_traces(spans, options=TracesOptions(min_traces=5)).to_dict()
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["spans"] == truth["spans"] and not data["skipped"]
    if truth.get("traces"):
        assert data["summary"]["traces"] == truth["traces"]
    assert data["summary"]["root_self_share"] + sum(
        c["critical_path_share"] for c in data["components"]) == pytest.approx(1.0)
    errors = sum(m["errors"] for m in truth["by_model"].values())
    if errors:  # every failed call is where an error starts (no failing child below it)
        assert sum(o["spans"] for o in data["error_origins"]) >= 1
        assert {o["kind"] for o in data["error_origins"]} <= {"llm", "span", "chain"}


def test_real_langchain_rag_pipeline_through_phoenix() -> None:
    folder = REAL / "phoenix" / "phoenix_spans_parquet"
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    data = analyze_traces(read_spans(str(folder), with_calls=True),
                          options=TracesOptions(min_traces=5)).to_dict()
    comps = {c["component"] for c in data["components"]}
    assert {"retriever:ScoredRetriever", "reranker:rerank", "llm:ChatOpenAI",
            "chain:RunnableSequence", "tool:lookup_policy"} <= comps
    assert data["summary"]["input_tokens"] == sum(
        m["input_tokens"] for m in truth["by_model"].values())
    assert data["summary"]["output_tokens"] == sum(
        m["output_tokens"] for m in truth["by_model"].values())
    assert data["summary"]["llm_spans"] == truth["llm_spans"]
    assert {o["kind"] for o in data["error_origins"]} == {"llm"}
    assert sum(o["spans"] for o in data["error_origins"]) == sum(
        m["errors"] for m in truth["by_model"].values())


def test_real_llamaindex_pipeline_through_phoenix() -> None:
    folders = [p for p in REAL.glob("phoenix/**/phoenix_llamaindex_parquet") if p.is_dir()]
    if not folders:
        require_or_skip("the LlamaIndex fixture (tests/fixtures/real/phoenix/"
                        "phoenix_llamaindex_parquet) is not there yet")
    truth = json.loads((folders[0] / "truth.json").read_text(encoding="utf-8"))
    data = analyze_traces(read_spans([str(folders[0] / n) for n in truth["read"]],
                                     with_calls=True),
                          options=TracesOptions(min_traces=5)).to_dict()
    assert data["summary"]["spans"] == truth["spans"]
    assert data["summary"]["traces"] == truth["traces"]
    assert {"retriever", "llm", "embedding"} <= {c["kind"] for c in data["components"]}
    # tokens from the calls (the inner OpenAI.chat span), once per call
    assert data["summary"]["input_tokens"] == sum(
        m["input_tokens"] for m in truth["by_model"].values())
    # 8 failing spans (the failed call and its ancestors) start in one place: the chat call
    assert [(o["component"], o["spans"]) for o in data["error_origins"]] == [
        ("llm:OpenAI.chat", 1)]


def test_gate_selector_syntax_and_exit_codes(tmp_path: Path) -> None:
    assert rewrite_selector("component_p95_ms{name='rerank'} > 500") == (
        "((name='rerank')) AND (component_p95_ms > 500)")
    assert rewrite_selector("component_p95_ms{kind='llm', name='a,b'} > 1") == (
        "((kind='llm') AND (name='a,b')) AND (component_p95_ms > 1)")
    path = write_otlp(generate(4, days=1, per_day=40), tmp_path / "s.jsonl")
    failed = runner.invoke(app, ["traces", str(path), "--fail-if",
                                 "component_p95_ms{name='chat'} > 10", "--fail-if",
                                 "trace_p95_ms > 1000000"])
    assert failed.exit_code == 1
    assert "gate failed: component_p95_ms{name='chat'} > 10 for kind=llm, name=chat" in (
        failed.output)
    ok = runner.invoke(app, ["traces", str(path), "--format", "json", "--fail-if",
                             "component_error_rate > 0 OR trace_error_rate > 0"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["passed"] is True
    bad = runner.invoke(app, ["traces", str(path), "--fail-if", "p95 > 1"])
    assert bad.exit_code == 2 and "unknown metric p95" in bad.output
    with pytest.raises(UsageError):
        rewrite_selector("component_p95_ms{name='a'} > 1 OR component_p50_ms{name='b'} > 1")


def test_cli_outputs_and_errors(tmp_path: Path) -> None:
    path = write_otlp(generate(5, days=1, per_day=30, repeat_share=0.3), tmp_path / "s.jsonl")
    table = runner.invoke(app, ["traces", str(path)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "reranker:rerank" in table.stdout and "repeated LLM call: 2x" in table.stdout
    markdown = runner.invoke(app, ["traces", str(path), "--format", "markdown"])
    assert markdown.stdout.startswith("## genailog traces")
    assert "| llm:chat |" in markdown.stdout
    trace = runner.invoke(app, ["traces", str(path), "--trace", f"{5:08x}{5:024x}",
                                "--format", "markdown"])
    assert trace.exit_code == 0 and "    embed_query [embedding]" in trace.stdout
    missing = runner.invoke(app, ["traces", str(path), "--trace", "zz"])
    assert missing.exit_code == 2 and "is no trace read" in missing.output
    several = runner.invoke(app, ["traces", str(path), "--trace", "00000005"])
    assert several.exit_code == 2 and "matches several traces" in several.output
    calls_only = tmp_path / "calls.jsonl"
    calls_only.write_text(json.dumps({"timestamp": "2026-01-01T00:00:00Z", "model": "m"})
                          + "\n", encoding="utf-8")
    empty = runner.invoke(app, ["traces", str(calls_only)])
    assert empty.exit_code == 3 and "no spans to analyse" in empty.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text(path.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    failed = runner.invoke(app, ["traces", str(broken)])
    assert failed.exit_code == 3 and "broken.jsonl:31" in failed.output
    skipped = runner.invoke(app, ["traces", str(broken), "--on-invalid", "skip"])
    assert skipped.exit_code == 0 and "skipped 1 unreadable span line" in skipped.output
    both = runner.invoke(app, ["traces", str(path), "--reference", str(path),
                               "--reference-until", "2026-03-02"])
    assert both.exit_code == 2


def test_bad_spans_are_counted_not_dropped_silently() -> None:
    frame = pl.concat([TREE, _frame([("x", None, "late", "tool", 50, 40, "ok")]),
                       TREE.head(1)])
    data = analyze_traces(frame).to_dict()
    assert {(s["reason"], s["spans"]) for s in data["skipped"]} == {
        ("ends before it starts", 1), ("span id seen twice in one trace (later copy ignored)",
                                       1)}
    with pytest.raises(InputError):
        analyze_traces(pl.DataFrame(schema=SPAN_DTYPES))


def test_since_and_until_keep_whole_traces_by_their_start() -> None:
    frame = generate(6, days=4, per_day=25)
    options = TracesOptions(since=START + timedelta(days=1), until=START + timedelta(days=3))
    data = analyze_traces(frame, options=options).to_dict()
    starts = frame.group_by("trace_id").agg(pl.col("start").min())
    inside = starts.filter((pl.col("start") >= options.since) & (pl.col("start") < options.until))
    assert data["summary"]["traces"] == inside.height == 50
    assert data["summary"]["spans"] == frame.filter(
        pl.col("trace_id").is_in(inside["trace_id"].implode())).height
    assert data["settings"]["since"] == "2026-03-02T00:00:00Z"
    with pytest.raises(InputError, match="no trace starts between"):
        analyze_traces(frame, options=TracesOptions(since=START + timedelta(days=9)))
