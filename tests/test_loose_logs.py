"""Logs that are not canonical: prefixes, envelopes, aliases, missing model or time, and
the rules that keep them from vanishing (other lines counted, zero calls is an error)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
