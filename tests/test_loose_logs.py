"""Logs that are not canonical: prefixes, envelopes, aliases, missing model or time, and
the rules that keep them from vanishing (other lines counted, zero calls is an error)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog import read_logs
from genailog.cli.app import app
from genailog.errors import InputError
from genailog.ingest.formats import aliases

runner = CliRunner()


def _read(path: Path, **kwargs: Any) -> Any:
    return read_logs([path], **kwargs).collect()


def test_canonical_name_beats_alias_and_first_alias_wins() -> None:
    obj = {"input_tokens": 7, "prompt_tokens": 9, "usage": {"prompt_tokens": 11},
           "completion_tokens": 3, "tokens_out": 4}
    mapped, sources, marks = aliases.map_fields(obj)
    assert (mapped["input_tokens"], sources["input_tokens"]) == (7, "input_tokens")
    assert (mapped["output_tokens"], sources["output_tokens"]) == (3, "completion_tokens")
    assert marks
    user, _, _ = aliases.map_fields(obj, {"input_tokens": "usage.prompt_tokens"})
    assert user["input_tokens"] == 11


def test_anthropic_usage_has_its_cache_counts_added_to_input() -> None:
    obj = {"usage": {"input_tokens": 10, "cache_read_input_tokens": 100,
                     "cache_creation_input_tokens": 5, "output_tokens": 2}}
    mapped, _, _ = aliases.map_fields(obj)
    assert (mapped["input_tokens"], mapped["cached_input_tokens"],
            mapped["cache_write_tokens"]) == (115, 100, 5)


def test_seconds_and_unit_durations(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"model": "m", "latency_s": 1.5}\n{"model": "m", "latency": "350ms"}\n'
                    '{"model": "m", "duration": 2, "prompt": "x"}\n')
    frame = _read(path)
    assert frame["latency_ms"].to_list() == [1500.0, 350.0, None]  # a bare 2 has no unit


def test_status_rule_body_beats_level_and_traceback_gives_the_error(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(
        'ERROR:root:{"model": "m", "status": "ok", "input_tokens": 1}\n'
        'INFO:root:{"model": "m", "error": {"type": "RateLimit", "message": "slow down"}}\n'
        'ERROR:root:{"model": "m", "prompt": "p"}\n'
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in <module>\n'
        "openai.InternalServerError: Error code: 500 - {'error': 'x'}\n"
        "INFO:httpx:HTTP Request: POST http://x \"HTTP/1.1 200 OK\"\n")
    frame = _read(path)
    assert frame["status"].to_list() == ["ok", "error", "error"]
    assert frame["error_type"].to_list() == [None, "RateLimit", "InternalServerError"]
    assert frame["error_message"][2] == "Error code: 500 - {'error': 'x'}"
    assert read_logs([path]).report.files[0].other_lines == 1


def test_asctime_without_offset_is_utc_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text('2026-11-29 13:40:27,075 INFO genai {"model": "m", "input_tokens": 1}\n')
    from genailog.ingest.context import ReadOptions

    utc = _read(path)["timestamp"][0]
    paris = _read(path, options=ReadOptions(timezone="Europe/Paris"))["timestamp"][0]
    assert utc.isoformat() == "2026-11-29T13:40:27.075000+00:00"
    assert paris.isoformat() == "2026-11-29T12:40:27.075000+00:00"
    logs = read_logs([path])
    assert any("read as UTC" in note for note in logs.report.notes)


def test_time_needing_options_say_the_input_has_no_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "genai.log"
    path.write_text('INFO:root:{"prompt": "p", "input_tokens": 3, "output_tokens": 1}\n')
    for args in (["summarize", "--window", "1d"], ["summarize", "--since", "2026-01-01"],
                 ["drift"]):
        result = runner.invoke(app, [*args, str(path)])
        assert result.exit_code == 2, result.output
        assert "needs timestamps, and none of the 1 records has one" in result.output


def test_unknown_model_is_null_in_json_and_named_in_the_table(tmp_path: Path) -> None:
    path = tmp_path / "genai.log"
    path.write_text('INFO:root:{"prompt": "p", "input_tokens": 3, "output_tokens": 1}\n')
    as_json = runner.invoke(app, ["summarize", str(path), "--by", "model", "--format", "json"])
    data = json.loads(as_json.stdout)
    assert data["groups"][0]["model"] is None and data["groups"][0]["cost_usd"] is None
    table = runner.invoke(app, ["summarize", str(path), "--by", "model"])
    assert "(unknown)" in table.stdout and "$0" not in table.stdout


def test_non_empty_input_without_calls_is_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("INFO:httpx:HTTP Request: POST x\nplain text\n")
    with pytest.raises(InputError, match="no LLM call found"):
        read_logs([path])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert read_logs([empty]).report.records == 0  # no calls were made: not an error


def test_directories_skip_own_outputs_find_rotations_and_survive_a_bad_file(
        tmp_path: Path) -> None:
    good = '{"timestamp": "2026-11-01T00:00:00Z", "model": "m"}\n'
    (tmp_path / "calls.jsonl").write_text(good)
    (tmp_path / "genai.log.1").write_text(good)
    with gzip.open(tmp_path / "genai.log.2026-11-29.gz", "wt") as handle:
        handle.write(good)
    (tmp_path / "out.manifest.json").write_text('{"manifest_version": 1}')
    (tmp_path / "bad.quarantine.jsonl").write_text("not json\n")
    (tmp_path / "odd.json").write_text('{"foo": 1}\n')
    with pytest.raises(InputError, match="odd.json"):
        read_logs([tmp_path])
    logs = read_logs([tmp_path], on_invalid="skip")
    assert logs.report.records == 3
    assert [name for name, _ in logs.report.unreadable] == [str(tmp_path / "odd.json")]


def test_python_batch_request_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "batch_input.jsonl"
    path.write_text(json.dumps({"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions",
                                "body": {"model": "gpt-4.1", "messages": []}}) + "\n")
    with pytest.raises(InputError, match="Batch request file"):
        read_logs([path])


_FORMATS = ("INFO:root:{}", "2026-11-29 13:40:27,075 INFO genai {}",
            "2026-11-29 13:40:27,075 - genai - INFO - {}",
            "[2026-11-29 13:40:27,075] INFO in app: {}", "Nov 29 13:40:27 host app[12]: {}")
_record = st.fixed_dictionaries({
    "timestamp": st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1),
                              timezones=st.just(UTC)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")),
    "model": st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8),
    "input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**6),
    "prompt": st.text(max_size=30), "latency_ms": st.floats(0, 1e6, allow_nan=False),
})


@settings(max_examples=40, deadline=None)
@given(st.lists(_record, min_size=1, max_size=5), st.sampled_from(_FORMATS))
def test_a_logging_prefix_changes_nothing(tmp_path_factory: Any, records: list[dict[str, Any]],
                                          line_format: str) -> None:
    """The same canonical records read alike as plain JSONL and behind any logging prefix,
    mixed with other loggers' lines, by the fast path and by the line-by-line reader."""
    folder = tmp_path_factory.mktemp("prefix")
    plain, prefixed = folder / "plain.jsonl", folder / "prefixed.log"
    plain.write_text("".join(json.dumps(r) + "\n" for r in records))
    lines = []
    for r in records:
        lines.append(line_format.replace("{}", "HTTP Request: POST x"))
        lines.append(line_format.replace("{}", json.dumps(r)))
    prefixed.write_text("\n".join(lines) + "\n")
    columns = ["timestamp", "model", "input_tokens", "output_tokens", "prompt", "latency_ms"]
    left = read_logs([plain]).collect().select(columns)
    logs = read_logs([prefixed])
    assert logs.collect().select(columns).equals(left)
    assert logs.report.files[0].other_lines == len(records)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("genailog.ingest.prefixed.looks_simple", lambda head: False)
        slow = read_logs([prefixed])
    assert slow.collect().select(columns).equals(left)
    assert slow.report.files[0].other_lines == len(records)


def _one_record(tmp_path: Path, name: str, text: str) -> dict[str, Any]:
    path = tmp_path / name
    path.write_text(text)
    frame = read_logs([path]).collect()
    assert frame.height == 1, frame
    return dict(frame.row(0, named=True))


def test_a_dict_logged_without_json_dumps_is_read(tmp_path: Path) -> None:
    """``logging.info(record)`` writes the dict's repr: single quotes, True, None."""
    row = _one_record(tmp_path, "app.log", "INFO:root:{'model': 'gpt-4.1', 'input_tokens': 3, "
                      "'cached': None, 'ok': True}\nINFO:root:{'not': 'a call'}\n")
    assert (row["model"], row["input_tokens"]) == ("gpt-4.1", 3)


def test_key_value_lines_logfmt_and_structlog_console(tmp_path: Path) -> None:
    text = ("2026-11-29 13:40:27 [error    ] llm_call   input_tokens=12 model=gpt-4o "
            "\x1b[36mlatency_ms\x1b[0m=\x1b[35m12.5\x1b[0m\n"
            'time=2026-11-29T13:40:28Z level=info msg="llm call" model=gpt-4.1 '
            "prompt_tokens=5 completion_tokens=2\n"
            "GET /health status=200 took=3ms\n")
    path = tmp_path / "app.log"
    path.write_text(text)
    logs = read_logs([path])
    frame = logs.collect()
    assert frame["model"].to_list() == ["gpt-4o", "gpt-4.1"]
    assert frame["status"].to_list() == ["error", "ok"]
    assert frame["latency_ms"][0] == 12.5 and frame["output_tokens"][1] == 2
    assert logs.report.files[0].other_lines == 1


def test_csv_with_aliased_columns(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("created,model,prompt_tokens,completion_tokens,duration_ms\n"
                    "2026-11-29T10:00:00Z,gpt-4.1,10,2,120\n2026-11-29T10:01:00Z,gpt-4.1,,3,80\n")
    frame = read_logs([path]).collect()
    assert frame["input_tokens"].to_list() == [10, None]
    assert frame["latency_ms"].to_list() == [120.0, 80.0]


def test_provider_object_nested_in_a_field_and_records_in_a_list(tmp_path: Path) -> None:
    completion = {"id": "c1", "object": "chat.completion", "created": 1795900000,
                  "model": "gpt-4o-mini", "choices": [{"message": {"content": "hi"},
                                                       "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 20, "completion_tokens": 4,
                            "prompt_tokens_details": {"cached_tokens": 8}}}
    row = _one_record(tmp_path, "a.jsonl", json.dumps(
        {"request": {"messages": [{"role": "user", "content": "hey"}]},
         "response": completion, "duration_ms": 40}) + "\n")
    assert (row["model"], row["input_tokens"], row["cached_input_tokens"],
            row["response"], row["latency_ms"]) == ("gpt-4o-mini", 20, 8, "hi", 40.0)
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"records": [{"model": "m", "input_tokens": 1},
                                            {"model": "m", "input_tokens": 2}]}))
    assert read_logs([path]).collect()["input_tokens"].to_list() == [1, 2]


def test_ollama_bedrock_litellm_spend_and_stream_chunks(tmp_path: Path) -> None:
    ollama = {"model": "llama3.2", "created_at": "2026-11-29T10:00:00.123456789Z",
              "message": {"role": "assistant", "content": "yo"}, "done": True,
              "total_duration": 1_500_000_000, "prompt_eval_count": 26, "eval_count": 9}
    row = _one_record(tmp_path, "o.jsonl", json.dumps(ollama) + "\n")
    assert (row["input_tokens"], row["output_tokens"], row["latency_ms"]) == (26, 9, 1500.0)
    bedrock = {"modelId": "x", "model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
               "usage": {"inputTokens": 100, "outputTokens": 7, "cacheReadInputTokens": 300},
               "metrics": {"latencyMs": 812}, "stopReason": "end_turn"}
    row = _one_record(tmp_path, "b.jsonl", json.dumps(bedrock) + "\n")
    assert (row["input_tokens"], row["cached_input_tokens"], row["latency_ms"],
            row["finish_reason"]) == (400, 300, 812.0, "end_turn")
    spend = {"request_id": "r", "model": "gpt-4.1", "spend": 0.0021, "prompt_tokens": 10,
             "completion_tokens": 3, "startTime": "2026-11-29T10:00:00Z",
             "endTime": "2026-11-29T10:00:01.5Z"}
    row = _one_record(tmp_path, "s.jsonl", json.dumps(spend) + "\n")
    assert (row["cost_usd"], row["latency_ms"]) == (0.0021, 1500.0)
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1795900000,
             "model": "gpt-4.1", "choices": [{"delta": {"content": "h"}}]}
    last = {**chunk, "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 1}}
    path = tmp_path / "stream.jsonl"
    path.write_text(json.dumps(chunk) + "\n" + json.dumps(chunk) + "\n" + json.dumps(last) + "\n")
    logs = read_logs([path])
    assert logs.collect()["input_tokens"].to_list() == [4]
    assert logs.report.files[0].other_lines == 2


def test_prefixed_files_are_read_on_workers_and_fall_back_from_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large prefixed files are cut into ranges read by worker processes; a traceback far
    from the head (found by a worker) sends the whole file to the line-by-line reader."""
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    records = [{"timestamp": f"2026-11-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z", "model": "m",
                "input_tokens": i, "prompt": "x" * 50} for i in range(3000)]
    plain, logged = tmp_path / "plain.jsonl", tmp_path / "app.log"
    plain.write_text("".join(json.dumps(r) + "\n" for r in records))
    lines = [f"INFO:root:{json.dumps(r)}\nINFO:httpx:HTTP Request: POST x" for r in records]
    logged.write_text("\n".join(lines) + "\n")
    chunk = 64 * 1024
    expected = read_logs([plain], chunk_bytes=chunk).collect().select("input_tokens")
    fast = read_logs([logged], chunk_bytes=chunk)
    assert fast.collect().select("input_tokens").equals(expected)
    assert fast.report.files[0].other_lines == 3000
    record, other = lines[2500].split("\n")
    lines[2500] = "\n".join([record.replace("INFO:root:", "ERROR:root:"),
                             "Traceback (most recent call last):", '  File "x.py", line 1',
                             "ValueError: boom", other])
    logged.write_text("\n".join(lines) + "\n")
    slow = read_logs([logged], chunk_bytes=chunk).collect()
    assert slow.height == 3000
    assert slow.filter(pl.col("input_tokens") == 2500)["error_type"].to_list() == ["ValueError"]


def test_the_fast_path_strips_counts_and_refuses_what_it_cannot_read() -> None:
    from genailog.ingest import prefixed
    from genailog.ingest.jsonl import ChunkReader
    from genailog.ingest.sources import Chunk

    good = json.dumps({"timestamp": "2026-11-01T00:00:00Z", "model": "m"})
    data = (f"INFO:root:{good}\nINFO:httpx:HTTP Request\n\n"
            f'INFO:root:{{"timestamp": "x", "model": "m"}}\nWARNING:root:{good}\n').encode()
    compact, others = prefixed.strip(data)
    assert (compact.count(b"\n"), others) == (3, 1)  # the blank line is no other line
    result = ChunkReader("f").read(Chunk(compact, 10, compact.count(b"\n"), True))
    prefixed.remap(result, data, 10)
    assert [(r.line, r.raw[:10]) for r in result.invalid] == [(13, b"INFO:root:")]
    with pytest.raises(prefixed.NotSimple):  # the level is its only status
        prefixed.strip(f"ERROR:root:{good}\n".encode())
    with_status = json.dumps({"timestamp": "2026-11-01T00:00:00Z", "model": "m",
                              "status": "ok"})
    assert prefixed.strip(f"ERROR:root:{with_status}\n".encode())[1] == 0
    with pytest.raises(prefixed.NotSimple):  # a record over several lines
        prefixed.strip(b'INFO:root:{\n  "model": "m"\n}\n')


_HOSTILE = {
    "deep-array.log": "INFO:root:" + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep-object.log": 'INFO:root:{"model":"m","x":' + '{"a":' * 50_000 + "1" + "}" * 50_000
                       + "}\n",
    "deep-bare.jsonl": '{"model":"m","x":' + "[" * 50_000 + "]" * 50_000 + "}\n",
    "deep-repr.log": "INFO:root:{'model': 'm', 'x': " + "(" * 5_000 + ")" * 5_000 + "}\n",
    "big-number.log": 'INFO:root:{"model":"m","input_tokens":1e400}\n',
    "surrogate.log": 'INFO:root:{"model":"m\\ud800","input_tokens":1}\n',
    "unclosed.log": 'INFO:root:{\n  "model": "m",\n' + '  "x": 1,\n' * 20_000,
    "year-zero.log": '0000-01-01 00:00:00,000 INFO root {"model":"m","input_tokens":1}\n',
    "spans-deep.json": '{"name": "x", "context": {"trace_id": "1", "span_id": "2"}, '
                       '"attributes": ' + "[" * 50_000 + "]" * 50_000 + "}\n",
}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_hostile_lines_are_records_invalid_records_or_other_lines_never_a_crash(
        tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(_HOSTILE[name])
    for command in (["summarize"], ["inspect"], ["validate"]):
        result = runner.invoke(app, [*command, str(path), *(
            ["--on-invalid", "skip"] if command == ["summarize"] else [])])
        assert result.exit_code in (0, 1, 3), (command, result.output)
        assert "internal error" not in result.output
