"""Adapter behaviour the real fixtures do not show: other providers' token semantics,
older OpenTelemetry event shapes, retrieval spans, base64 ids and malformed lines."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genailog.errors import InvalidRecordError, UnknownFormatError
from genailog.ingest.formats import detect_format, load_many
from genailog.ingest.formats._common import normalize_tokens


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _otlp(*spans: dict[str, Any]) -> bytes:
    request = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "bot")]},
                                  "scopeSpans": [{"spans": list(spans)}]}]}
    return json.dumps(request).encode() + b"\n"


def _span(span_id: str, attrs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": span_id,
            "name": "x", "startTimeUnixNano": "1764700000000000000",
            "endTimeUnixNano": "1764700000250000000",
            "attributes": [_attr(k, v) for k, v in attrs.items()], **extra}


def _one(data: bytes, fmt: str) -> dict[str, Any]:
    records = [r for _, _, r in load_many([("f.json", data)], fmt) if isinstance(r, dict)]
    assert len(records) == 1, records
    return records[0]


def test_otlp_old_attributes_and_per_message_events() -> None:
    events = [
        {"name": "gen_ai.system.message", "attributes": [_attr("content", "Be brief.")]},
        {"name": "gen_ai.user.message", "attributes": [_attr("content", "Hi [there]")]},
    ]
    span = _span("b7ad6b7169203331", {
        "gen_ai.system": "anthropic", "gen_ai.request.model": "claude-x",
        "gen_ai.usage.prompt_tokens": 10, "gen_ai.usage.completion_tokens": 3,
        "gen_ai.usage.cache_read.input_tokens": 90}, events=events)
    record = _one(_otlp(span), "otlp")
    assert record["provider"] == "anthropic" and record["app"] == "bot"
    assert record["prompt"] == "Hi [there]" and record["system_prompt"] == "Be brief."
    # a total below its own cached part cannot include it: Anthropic-style, so added
    assert record["input_tokens"] == 100 and record["cached_input_tokens"] == 90
    assert record["latency_ms"] == pytest.approx(250.0)


def test_otlp_base64_ids_become_hex_and_retrieval_docs_join_the_trace() -> None:
    span_id = base64.b64encode(bytes.fromhex("00f067aa0ba902b7")).decode()
    llm = _span(span_id, {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"})
    docs = json.dumps([{"id": "kb-1", "score": 0.8}])
    retrieval = _span("53995c3f42cd8ad8", {"gen_ai.retrieval.documents": docs})
    record = _one(_otlp(llm, retrieval), "otlp")
    assert record["span_id"] == "00f067aa0ba902b7"
    assert record["retrieval_docs"] == [{"id": "kb-1", "score": 0.8}]


def test_openinference_retriever_and_anthropic_style_prompt_count() -> None:
    llm = _span("b7ad6b7169203331", {
        "openinference.span.kind": "LLM", "llm.model_name": "claude-x",
        "llm.token_count.prompt": 5, "llm.token_count.completion": 2,
        "llm.token_count.prompt_details.cache_read": 40,
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "q"})
    retriever = _span("53995c3f42cd8ad8", {
        "openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.id": "d1",
        "retrieval.documents.0.document.score": "0.5"})
    record = _one(_otlp(llm, retriever), "openinference")
    assert record["input_tokens"] == 45
    assert record["retrieval_docs"] == [{"id": "d1", "score": "0.5"}]


def test_llm_anthropic_cache_counts_are_added_to_input() -> None:
    row = {"id": "r1", "model": "claude-3.5-haiku", "datetime_utc": "2026-11-02T10:00:00",
           "duration_ms": 500, "conversation_id": "c1", "prompt": "hi", "response": "yo",
           "input_tokens": 8, "output_tokens": 2,
           "token_details": json.dumps({"cache_read_input_tokens": 300,
                                        "cache_creation_input_tokens": 50})}
    record = _one(json.dumps([row]).encode(), "llm")
    assert (record["input_tokens"], record["cached_input_tokens"],
            record["cache_write_tokens"]) == (358, 300, 50)


def test_langfuse_anthropic_usage_details_sum_to_the_canonical_input() -> None:
    row = {"type": "GENERATION", "start_time": "2026-11-02 10:00:00.000000",
           "provided_model_name": "claude-x", "total_cost": 0.01,
           "usage_details": {"input": 8, "input_cache_read": 300, "input_cache_creation": 50,
                             "output": 2, "total": 360}}
    record = _one(json.dumps(row).encode() + b"\n", "langfuse")
    assert (record["input_tokens"], record["output_tokens"]) == (358, 2)
    assert (record["cached_input_tokens"], record["cache_write_tokens"]) == (300, 50)
    assert record["cost_usd"] == 0.01


def test_litellm_anthropic_cache_creation_is_read_from_usage() -> None:
    payload = {"id": "x", "litellm_call_id": "x", "model": "claude-x", "status": "success",
               "custom_llm_provider": "anthropic", "startTime": 1764700000.0,
               "endTime": 1764700001.5, "prompt_tokens": 358, "completion_tokens": 2,
               "response_cost": 0.002, "messages": [{"role": "user", "content": "hi"}],
               "metadata": {"usage_object": {"prompt_tokens_details": {"cached_tokens": 300},
                                             "cache_creation_input_tokens": 50}}}
    record = _one(json.dumps(payload).encode() + b"\n", "litellm")
    assert (record["input_tokens"], record["cached_input_tokens"],
            record["cache_write_tokens"]) == (358, 300, 50)
    assert record["latency_ms"] == pytest.approx(1500.0) and record["cost_usd"] == 0.002


def test_malformed_line_fails_or_is_collected_and_reading_goes_on() -> None:
    good = json.dumps({"litellm_call_id": "a", "custom_llm_provider": "openai",
                       "model": "m", "startTime": 1764700000.0, "status": "success"})
    data = f"{good}\n{{not json\n{good}\n".encode()
    with pytest.raises(InvalidRecordError) as caught:
        list(load_many([("l.jsonl", data)], "litellm"))
    assert caught.value.line == 2
    errors: list[InvalidRecordError] = []
    lines = [line for _, line, _ in load_many([("l.jsonl", data)], "litellm", errors)]
    assert lines == [1, 3] and [e.line for e in errors] == [2]


@pytest.mark.parametrize("head", [b"", b"hello world\n", b'{"foo": 1}\n', b"[1, 2]",
                                  b"a,b,c\n1,2,3\n"])
def test_unknown_shapes_are_refused_with_the_known_formats(head: bytes) -> None:
    with pytest.raises(UnknownFormatError, match="otlp, openinference, litellm, langfuse"):
        detect_format("x", head)


def test_canonical_jsonl_is_detected_as_genailog() -> None:
    head = b'{"timestamp": "2026-11-02T10:00:00Z", "model": "gpt-4.1"}\n'
    assert detect_format("x.jsonl", head) == "genailog"


counts = st.integers(min_value=0, max_value=10**6)


@given(counts, counts, counts)
def test_normalized_input_includes_its_cached_parts(total: int, read: int, write: int) -> None:
    record = normalize_tokens({"input_tokens": total, "cached_input_tokens": read,
                               "cache_write_tokens": write})
    assert record["input_tokens"] >= read + write
    assert record["input_tokens"] in (total, total + read + write)
    # a consistent record is left alone, so normalizing twice changes nothing
    assert normalize_tokens(dict(record)) == record


def test_canonical_record_quoting_other_formats_keys_stays_genailog() -> None:
    record = {"timestamp": "2026-11-02T10:00:00Z", "model": "gpt-4.1",
              "prompt": 'why is "usage_details" empty in my "resourceSpans" export?'}
    assert detect_format("x.jsonl", json.dumps(record).encode() + b"\n") == "genailog"


def test_json_array_items_carry_the_line_they_start_on() -> None:
    rows = [{"datetime_utc": "2026-11-02T10:00:00", "duration_ms": 5, "model": "m",
             "conversation_id": "c", "prompt": str(i)} for i in range(3)]
    data = json.dumps(rows, indent=2).encode()
    starts = [n for n, line in enumerate(data.decode().splitlines(), start=1)
              if line == "  {"]
    assert [line for _, line, _ in load_many([("l.json", data)], "llm")] == starts
    broken = data.replace(b'"prompt": "1"', b'"prompt": 1 2', 1)
    errors: list[InvalidRecordError] = []
    kept = list(load_many([("l.json", broken)], "llm", errors))
    # the error is placed on the broken line; a broken array cannot be read past it
    assert len(kept) == 1 and errors[0].line == starts[1] + 5


def test_mlflow_2_trace_shape_is_read() -> None:
    """MLflow 2.x ``Trace.to_dict()``: ids in ``context`` as 0x hex, ``status_code``."""
    attrs = {"mlflow.spanType": '"LLM"', "mlflow.spanInputs": json.dumps(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        "mlflow.chat.tokenUsage": json.dumps({"input_tokens": 7, "output_tokens": 1})}
    span = {"name": "Completions", "context": {"span_id": "0x00f067aa0ba902b7",
                                               "trace_id": "0x0af7651916cd43dd8448eb211c80319c"},
            "parent_id": None, "start_time": 1764700000000000000,
            "end_time": 1764700000500000000, "status_code": "ERROR",
            "status_message": "boom", "attributes": attrs, "events": []}
    trace = {"info": {"request_id": "tr-1", "timestamp_ms": 1764700000000,
                      "status": "ERROR", "request_metadata": {}, "tags": {}},
             "data": {"spans": [span]}}
    data = json.dumps([trace]).encode()
    assert detect_format("t.json", data) == "mlflow"
    record = _one(data, "mlflow")
    assert record["span_id"] == "00f067aa0ba902b7" and record["status"] == "error"
    assert record["error_message"] == "boom"
    assert record["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert (record["model"], record["input_tokens"], record["latency_ms"]) == ("gpt-4o", 7, 500.0)


def test_canonical_first_record_longer_than_the_head_is_still_detected() -> None:
    record = {"timestamp": "2026-11-02T10:00:00Z", "model": "gpt-4.1", "prompt": "x" * 70000}
    head = (json.dumps(record).encode() + b"\n")[:65536]
    assert detect_format("big.jsonl", head) == "genailog"


def test_agent_and_tool_spans_are_not_model_calls() -> None:
    usage = {"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 50}
    chat = _span("b7ad6b7169203331", {"gen_ai.operation.name": "chat", **usage})
    agent = _span("53995c3f42cd8ad8", {"gen_ai.operation.name": "invoke_agent", **usage})
    tool = _span("00f067aa0ba902b7", {"gen_ai.operation.name": "execute_tool",
                                      "gen_ai.tool.name": "search"})
    record = _one(_otlp(chat, agent, tool), "otlp")
    assert record["span_id"] == "b7ad6b7169203331" and record["input_tokens"] == 50


def _scoped(name: str, *spans: dict[str, Any]) -> dict[str, Any]:
    return {"scope": {"name": name}, "spans": list(spans)}


def test_same_scope_spans_are_never_merged_and_other_scopes_only_on_a_match() -> None:
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    one = _span("b7ad6b7169203331", {**base, "gen_ai.response.id": "r1"})
    again = _span("53995c3f42cd8ad8", {**base, "gen_ai.response.id": "r1"})
    other = _span("00f067aa0ba902b7", {**base, "gen_ai.response.id": "r2"})
    twin = _span("0123456789abcdef", {**base, "gen_ai.response.id": "r1",
                                      "gen_ai.usage.input_tokens": 9})
    request = {"resourceSpans": [{"scopeSpans": [_scoped("sdk", one, again, other),
                                                 _scoped("instrumentor", twin)]}]}
    records = [r for _, _, r in load_many([("f", json.dumps(request).encode())], "otlp")]
    assert [r["request_id"] for r in records] == ["r1", "r1", "r2"]
    assert records[0]["input_tokens"] == 9


def test_evaluation_events_become_eval_scores() -> None:
    def evaluation(name: str, score: float) -> dict[str, Any]:
        return {"name": "gen_ai.evaluation.result", "attributes": [
            _attr("gen_ai.evaluation.name", name),
            {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": score}}]}

    chat = _span("b7ad6b7169203331", {"gen_ai.operation.name": "chat",
                                      "gen_ai.request.model": "m"},
                 events=[evaluation("relevance", 0.9)])
    judge = _span("53995c3f42cd8ad8", {"name": "judge"},
                  events=[evaluation("faithfulness", 0.5)])
    record = _one(_otlp(chat, judge), "otlp")
    assert record["eval_scores"] == {"relevance": 0.9, "faithfulness": 0.5}


def test_openinference_text_values_stand_in_for_missing_messages() -> None:
    span = _span("b7ad6b7169203331", {
        "openinference.span.kind": "LLM", "llm.model_name": "m",
        "input.value": "plain question", "input.mime_type": "text/plain",
        "output.value": "plain answer"})
    record = _one(_otlp(span), "openinference")
    assert (record["prompt"], record["response"]) == ("plain question", "plain answer")
