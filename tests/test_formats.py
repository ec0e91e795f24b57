"""Format adapters on fixtures the real libraries produced against a fake server.

tests/fixtures/formats/generate.py ran openai + OpenTelemetry / OpenInference, litellm,
the llm CLI and mlflow against fake_server.py, which decided every token count and
wrote what it answered to truth.json. Langfuse cannot run here: its export is built
from the documented schema (langfuse_spec.py) and labelled spec-derived.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from genailog.errors import UnknownFormatError
from genailog.ingest import read_logs
from genailog.ingest.formats import FORMATS, detect_format, load_many, load_records

HERE = Path(__file__).parent / "fixtures" / "formats"
LOGS = HERE / "logs"
TRUTH: dict[str, list[dict[str, Any]]] = json.loads((HERE / "truth.json").read_text())
#: The prompts the producers sent (tests/fixtures/formats/producers/common.py).
PROMPTS = ("Say hello", "Summarize the long document about [brackets]", "Fail please",
           "Name three colors")
#: gpt-4o-mini list prices (USD per token): input, cached input, output.
PRICE_IN, PRICE_CACHED, PRICE_OUT = 0.15e-6, 0.075e-6, 0.6e-6

# fixture -> (files, detected format, truth key)
FIXTURES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "otel_genai": (("otel_genai.traces.json", "otel_genai.logs.json"), "otlp", "otel_genai"),
    "otel_events": (("otel_events.traces.json", "otel_events.logs.json"), "otlp",
                    "otel_events"),
    "otel_old": (("otel_old.traces.json", "otel_old.logs.json"), "otlp", "otel_old"),
    "otel_anthropic": (("otel_anthropic.traces.json",), "otlp", "otel_anthropic"),
    "openinference": (("openinference.traces.json",), "openinference", "openinference"),
    "litellm": (("litellm.jsonl",), "litellm", "litellm"),
    "litellm_anthropic": (("litellm_anthropic.jsonl",), "litellm", "litellm_anthropic"),
    "langfuse_jsonl": (("langfuse.spec-derived.jsonl",), "langfuse", "langfuse"),
    "langfuse_csv": (("langfuse.spec-derived.csv",), "langfuse", "langfuse"),
    "mlflow": (("mlflow_traces.json",), "mlflow", "mlflow"),
    "llm": (("llm_logs.json",), "llm", "llm"),
    "llm_anthropic": (("llm_anthropic_logs.json",), "llm", "llm_anthropic"),
}


def truth_of(key: str) -> list[dict[str, Any]]:
    """The server's requests; the llm CLI logs only calls that succeeded."""
    requests = TRUTH[key]
    return [r for r in requests if r["status"] == 200] if key.startswith("llm") else requests


def truth_cost(requests: list[dict[str, Any]]) -> float:
    """Independent cost of the server's answers at gpt-4o-mini prices."""
    return sum((r["prompt_tokens"] - r["cached_tokens"]) * PRICE_IN
               + r["cached_tokens"] * PRICE_CACHED + r["completion_tokens"] * PRICE_OUT
               for r in requests)


def read(name: str) -> pl.DataFrame:
    files, _, _ = FIXTURES[name]
    return read_logs([str(LOGS / f) for f in files]).collect()


@pytest.mark.parametrize("path", sorted(LOGS.iterdir()), ids=lambda p: p.name)
def test_detection_picks_the_right_adapter(path: Path) -> None:
    expected = next(fmt for files, fmt, _ in FIXTURES.values() if path.name in files)
    assert detect_format(str(path), path.read_bytes()[:65536]) == expected


@pytest.mark.parametrize("name", ["mlflow_traces.json", "llm_logs.json",
                                  "openinference.traces.json", "otel_genai.traces.json"])
def test_detection_works_on_a_head_cut_mid_document(name: str) -> None:
    data = (LOGS / name).read_bytes()
    expected = detect_format(name, data)
    assert detect_format(name, data[:700]) == expected


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_requests_errors_and_tokens_match_the_server(name: str) -> None:
    requests = truth_of(FIXTURES[name][2])
    frame = read(name)
    assert frame.height == len(requests)
    assert frame.filter(pl.col("status") == "error").height == sum(
        r["status"] != 200 for r in requests)
    ok = [r for r in requests if r["status"] == 200]
    assert frame["input_tokens"].sum() == sum(r["prompt_tokens"] for r in ok)
    assert frame["output_tokens"].sum() == sum(r["completion_tokens"] for r in ok)
    assert sorted(frame["model"].unique()) == sorted({r["model"] for r in requests})
    assert sorted(frame.filter(pl.col("status") == "ok")["response"]) == sorted(
        r["text"] for r in ok)


@pytest.mark.parametrize("name", ["openinference", "litellm", "langfuse_jsonl", "mlflow", "llm"])
def test_cached_and_reasoning_tokens_match_the_server(name: str) -> None:
    ok = [r for r in truth_of(FIXTURES[name][2]) if r["status"] == 200]
    frame = read(name)
    assert frame["cached_input_tokens"].sum() == sum(r["cached_tokens"] for r in ok)
    assert frame["reasoning_tokens"].sum() == sum(r["reasoning_tokens"] for r in ok)


@pytest.mark.parametrize("name", ["litellm", "langfuse_jsonl", "langfuse_csv"])
def test_reported_cost_fills_cost_usd_and_matches_list_prices(name: str) -> None:
    frame = read(name)
    assert frame["cost_usd"].sum() == pytest.approx(truth_cost(truth_of(FIXTURES[name][2])))
    failed = frame.filter(pl.col("status") == "error")["cost_usd"].fill_null(0.0)
    assert failed.to_list() == [0.0]


@pytest.mark.parametrize("name", ["litellm_anthropic", "llm_anthropic", "otel_anthropic"])
def test_anthropic_cache_reads_end_up_inside_input_tokens(name: str) -> None:
    """The server answered in Anthropic's semantics (input_tokens without the 1024 cache
    reads); LiteLLM and the OTel instrumentations fold them in themselves, llm-anthropic
    logs them beside: all land on the canonical count, which includes them."""
    ok = [r for r in truth_of(FIXTURES[name][2]) if r["status"] == 200]
    frame = read(name).filter(pl.col("status") == "ok")
    assert frame["input_tokens"].to_list() == [r["prompt_tokens"] for r in ok]
    assert frame["cached_input_tokens"].to_list() == [r["cached_tokens"] for r in ok]


def test_litellm_zero_cost_for_an_unpriced_model_is_unknown_not_free() -> None:
    """LiteLLM could not price this Claude model and logged response_cost 0.0."""
    payloads = [json.loads(line) for line in
                (LOGS / "litellm_anthropic.jsonl").read_text().splitlines()]
    unpriced = [p["status"] == "success" and p["response_cost"] == 0.0
                and p["response_cost_failure_debug_info"] for p in payloads]
    frame = read("litellm_anthropic")
    assert any(unpriced)
    assert [c is None for c in frame["cost_usd"]] == [bool(u) for u in unpriced]


def test_a_call_traced_by_two_instrumentations_counts_once() -> None:
    """The anthropic SDK's own tracing and OpenLLMetry's instrumentor each emitted a span
    per call, in separate traces; the failed call has no response id to match on."""
    data = json.loads((LOGS / "otel_anthropic.traces.json").read_text())
    spans = [s for rs in data["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    requests = TRUTH["otel_anthropic"]
    assert len(spans) == 2 * len(requests)
    frame = read("otel_anthropic")
    assert frame.height == len(requests)
    assert frame["prompt"].to_list() == list(PROMPTS)
    assert frame.filter(pl.col("status") == "error").height == 1


@pytest.mark.parametrize("name", ["otel_events", "otel_old"])
def test_otel_messages_come_from_log_records_joined_by_span_id(name: str) -> None:
    """otel_events: one operation.details record per call; otel_old (openai-v2 2.1b0):
    the older per-message events gen_ai.system.message / user.message / choice."""
    files = [(str(LOGS / f), (LOGS / f).read_bytes()) for f in FIXTURES[name][0]]
    alone = [r for _, _, r in load_many(files[:1], "otlp")]
    joined = [r for _, _, r in load_many(files, "otlp")]
    assert all("messages" not in r and "response" not in r for r in alone)
    assert [r["prompt"] for r in joined] == list(PROMPTS)
    assert all(r["system_prompt"] == "You are terse." for r in joined)
    assert [r.get("response") for r in joined] == [r["text"] or None for r in TRUTH[name]]


def test_span_fields_are_kept() -> None:
    frame = read("otel_genai")
    assert frame["trace_id"].str.len_chars().to_list() == [32] * 4
    assert frame["span_id"].str.len_chars().to_list() == [16] * 4
    assert set(frame["provider"]) == {"openai"} and set(frame["operation"]) == {"chat"}
    failed = frame.filter(pl.col("status") == "error").row(0, named=True)
    assert failed["error_type"] == "openai.InternalServerError"
    assert "fake upstream failure" in failed["error_message"]
    assert frame["latency_ms"].min() > 0


def test_mixing_formats_in_one_read() -> None:
    paths = [str(LOGS / f) for files, _, _ in FIXTURES.values() for f in files]
    logs = read_logs(paths)
    frame = logs.collect()
    formats = {f.format for f in logs.report.files}
    assert formats == set(FORMATS) - {"genailog", "json", "genailog-spans"}
    expected = sum(len(truth_of(key)) for _, _, key in FIXTURES.values())
    assert frame.height == expected


def test_unknown_shape_lists_known_formats(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"foo": 1}\n')
    with pytest.raises(UnknownFormatError) as caught:
        read_logs([str(path)])
    for fmt in FORMATS:
        assert fmt in str(caught.value)


def test_load_records_gives_lines_for_one_file() -> None:
    data = (LOGS / "litellm.jsonl").read_bytes()
    lines = [line for line, _ in load_records("litellm.jsonl", data, "litellm")]
    assert lines == list(range(1, data.count(b"\n") + 1))


def test_litellm_stream_gives_time_to_first_token() -> None:
    payloads = [json.loads(line) for line in (LOGS / "litellm.jsonl").read_text().splitlines()]
    frame = read("litellm")
    for payload, row in zip(payloads, frame.iter_rows(named=True), strict=True):
        if payload["stream"]:
            expected = (payload["completionStartTime"] - payload["startTime"]) * 1000
            assert row["ttft_ms"] == pytest.approx(expected)
            assert 0 < row["ttft_ms"] <= row["latency_ms"]
        else:
            assert row["ttft_ms"] is None


def test_otel_logs_file_alone_gives_records_from_operation_details() -> None:
    """Some pipelines keep only logs: each operation-details record is a call."""
    requests = TRUTH["otel_genai"]
    logs = read_logs([str(LOGS / "otel_genai.logs.json")])
    frame = logs.collect()
    assert frame.height == len(requests)
    assert frame.filter(pl.col("status") == "error").height == 1
    assert frame["input_tokens"].sum() == sum(r["prompt_tokens"] for r in requests)
    assert frame["prompt"].to_list() == list(PROMPTS)
    assert frame["latency_ms"].null_count() == frame.height
