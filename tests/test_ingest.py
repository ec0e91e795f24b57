"""read_logs: discovery, decoding, typing by the schema, and the invalid-record policy."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard
from conftest import base_record, write_jsonl

from genailog.errors import InputError, InvalidRecordError, UnknownFormatError, UsageError
from genailog.ingest import read_logs
from genailog.schema.columns import CANONICAL_DTYPES

GOOD = base_record(user_id="u42", prompt="...", response="...", input_tokens=430,
                   output_tokens=210, latency_ms=980, retrieval_docs=["doc7", "doc19"],
                   hallucination_flag=False)

MALFORMED = {
    "nan": '{"timestamp": "2025-12-26T10:00:12Z", "model": "m", "latency_ms": NaN}',
    "wrong_type": '{"timestamp": "2025-12-26T10:00:12Z", "model": "m", "input_tokens": "12"}',
    "not_object": "[1, 2]",
    "bad_json": '{"timestamp": "2025-12-26T10:00:12Z", "model": "m",,}',
    "bad_date": '{"timestamp": "2025-02-30T10:00:12Z", "model": "m"}',
    "missing_model": '{"timestamp": "2025-12-26T10:00:12Z"}',
}


def test_issue_example_record_is_read_with_schema_types(tmp_path: Path) -> None:
    logs = read_logs([write_jsonl(tmp_path / "a.jsonl", [GOOD])])
    frame = logs.collect()
    assert frame.height == 1
    for name, dtype in CANONICAL_DTYPES.items():
        assert frame.schema[name] == dtype, name
    row = frame.row(0, named=True)
    assert row["input_tokens"] == 430 and row["latency_ms"] == 980.0
    assert json.loads(row["retrieval_docs"]) == ["doc7", "doc19"]
    assert row["timestamp"].isoformat() == "2025-12-26T10:00:12+00:00"


def test_key_first_seen_on_line_300_is_kept(tmp_path: Path) -> None:
    records = [GOOD] * 299 + [{**GOOD, "case_id": "c300", "tenant": 7}]
    frame = read_logs([write_jsonl(tmp_path / "a.jsonl", records)]).collect()
    assert frame["case_id"].to_list()[-1] == "c300"
    assert frame["case_id"].null_count() == 299
    assert frame.schema["tenant"] == pl.Int64 and frame["tenant"][-1] == 7


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_line_fails_naming_file_and_line(tmp_path: Path, kind: str) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [GOOD, GOOD, MALFORMED[kind], GOOD])
    with pytest.raises(InvalidRecordError) as caught:
        read_logs([path])
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")
    assert "--on-invalid" in str(caught.value)


def test_invalid_utf8_and_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    good = json.dumps(GOOD).encode()
    path.write_bytes(good + b"\n" + b'{"timestamp": "2025-12-26T10:00:12Z", "model": "\xff"}\n'
                     + good + b"\n" + b'{"timestamp": "2025-12-26T10:')
    logs = read_logs([path], on_invalid="skip")
    assert logs.report.records == 2 and logs.report.skipped == 2
    messages = {r.line: r.message for r in logs.report.invalid}
    assert "UTF-8" in messages[2] and "truncated last line" in messages[4]


def test_skip_counts_and_quarantine_keeps_raw_lines(tmp_path: Path) -> None:
    lines = [GOOD, *MALFORMED.values(), GOOD]
    path = write_jsonl(tmp_path / "a.jsonl", lines)
    skipped = read_logs([path], on_invalid="skip")
    assert skipped.report.records == 2 and skipped.report.skipped == len(MALFORMED)
    assert skipped.collect().height == 2
    target = tmp_path / "q" / "bad.jsonl"
    quarantined = read_logs([path], on_invalid=f"quarantine={target}")
    assert quarantined.report.quarantined == len(MALFORMED)
    assert target.read_text().splitlines() == list(MALFORMED.values())


def test_bom_crlf_blank_lines_and_a_6mb_line(tmp_path: Path) -> None:
    big = {**GOOD, "prompt": "x" * 6_000_000}
    text = "\ufeff" + json.dumps(GOOD) + "\r\n\r\n  \n" + json.dumps(big) + "\r\n"
    path = tmp_path / "a.jsonl"
    path.write_bytes(text.encode())
    frame = read_logs([path], chunk_bytes=1024).collect()
    assert frame.height == 2
    assert frame["prompt"].str.len_chars().to_list() == [3, 6_000_000]


def test_line_numbers_stay_right_across_chunks(tmp_path: Path) -> None:
    records: list[Any] = [GOOD] * 500
    records[376] = MALFORMED["wrong_type"]
    path = write_jsonl(tmp_path / "a.jsonl", records)
    with pytest.raises(InvalidRecordError) as caught:
        read_logs([path], chunk_bytes=4096)
    assert caught.value.line == 377


def test_compressed_directories_globs_and_stdin(tmp_path: Path) -> None:
    payload = (json.dumps(GOOD) + "\n").encode()
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.jsonl.gz").write_bytes(gzip.compress(payload * 2))
    (tmp_path / "d" / "sub" / "b.ndjson.zst").write_bytes(
        zstandard.ZstdCompressor().compress(payload * 3))
    (tmp_path / "d" / "notes.txt").write_text("not a log")
    assert read_logs([tmp_path / "d"]).report.records == 5
    assert read_logs([str(tmp_path / "d" / "**" / "*.zst")]).report.records == 3
    assert read_logs(["-"], stdin=io.BytesIO(payload * 4)).report.records == 4


def test_missing_inputs_and_unknown_content_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_logs([tmp_path / "nope.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no log files"):
        read_logs([tmp_path / "empty"])
    odd = write_jsonl(tmp_path / "odd.jsonl", [{"hello": "world"}])
    with pytest.raises(UnknownFormatError, match="genailog"):
        read_logs([odd])
    with pytest.raises(UsageError):
        read_logs([odd], on_invalid="ignore")


def test_user_fields_of_mixed_types_are_json_text(tmp_path: Path) -> None:
    records = [{**GOOD, "extra": 1, "obj": {"a": [1, 2]}}, {**GOOD, "extra": "one"}]
    logs = read_logs([write_jsonl(tmp_path / "a.jsonl", records)])
    frame = logs.collect()
    assert logs.report.json_columns == {"extra", "obj"}
    assert [json.loads(v) for v in frame["extra"]] == [1, "one"]
    assert json.loads(frame["obj"][0]) == {"a": [1, 2]}


def test_user_field_typed_differently_in_two_files_becomes_json_text(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{**GOOD, "case": 5}])
    b = write_jsonl(tmp_path / "b.jsonl", [{**GOOD, "case": "five"}])
    logs = read_logs([a, b])
    assert "case" in logs.report.json_columns
    assert [json.loads(v) for v in logs.collect()["case"]] == [5, "five"]


def test_integral_float_in_integer_field_is_valid_and_typed(tmp_path: Path) -> None:
    frame = read_logs([write_jsonl(tmp_path / "a.jsonl",
                                   [{**GOOD, "input_tokens": 430.0, "prompt_version": 3.0},
                                    {**GOOD, "prompt_version": 4}])]).collect()
    assert frame["input_tokens"].to_list() == [430, 430]
    assert frame["prompt_version"].to_list() == ["3", "4"]


def test_parquet_is_read_and_invalid_rows_are_counted(tmp_path: Path) -> None:
    frame = pl.DataFrame({
        "timestamp": ["2025-12-26T10:00:12Z", "2025-12-26T11:00:00+01:00", "2025-12-26T12:00:00Z"],
        "model": ["a", "b", None],
        "input_tokens": [1, -2, 3],
        "tenant": ["x", "y", "z"],
    })
    path = tmp_path / "a.parquet"
    frame.write_parquet(path)
    with pytest.raises(InvalidRecordError) as caught:
        read_logs([path])
    assert caught.value.line == 2
    logs = read_logs([path], on_invalid="skip")
    out = logs.collect()
    assert out["model"].to_list() == ["a"] and out["tenant"].to_list() == ["x"]
    assert logs.report.skipped == 2


def test_nested_values_with_control_characters_stay_valid_json(tmp_path: Path) -> None:
    records = [
        {**GOOD, "metadata": {"note": "line1\nline2\t\"q\" \\ \u0001"}},
        {**GOOD, "messages": [{"role": "user", "content": [{"type": "text", "text": "a\nb"}]},
                              {"role": "assistant", "content": "[not a list]\n"}]},
        {**GOOD, "input_tokens": 7.0, "timestamp": "2024-02-30T00:00:00Z"},
    ]
    logs = read_logs([write_jsonl(tmp_path / "a.jsonl", records)], on_invalid="skip")
    frame = logs.collect()
    assert logs.report.skipped == 1 and frame.height == 2
    assert json.loads(frame["metadata"][0]) == records[0]["metadata"]
    contents = [m["content"] for m in frame["messages"][1]]
    assert json.loads(contents[0]) == [{"type": "text", "text": "a\nb"}]
    assert contents[1] == "[not a list]\n"


def test_columnar_cache_serves_the_second_read(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest import cache

    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    root = tmp_path / "cache"
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(root))
    records: list[Any] = [{**GOOD, "case_id": f"c{i}"} for i in range(50)]
    records[10] = MALFORMED["wrong_type"]
    path = write_jsonl(tmp_path / "a.jsonl", records)
    first = read_logs([path], on_invalid="skip")
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and (entries[0] / "meta.json").exists()
    second = read_logs([path], on_invalid="skip")
    assert second.collect().equals(first.collect())
    assert second.report.skipped == 1 and second.report.records == 49
    with pytest.raises(InvalidRecordError) as caught:
        read_logs([path])
    assert caught.value.line == 11
    monkeypatch.setenv("GENAILOG_NO_CACHE", "1")
    assert read_logs([path], on_invalid="skip").collect().equals(first.collect())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_cache_folder_that_cannot_be_written_is_done_without(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """A read-only (or missing, or full) cache folder must not fail a read: CI machines
    often have a read-only home. The file is read as if the cache were off."""
    from genailog.ingest import cache

    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    monkeypatch.setenv("GENAILOG_WORKERS", workers)
    records: list[Any] = [{**GOOD, "n": i} for i in range(300)]
    records[7] = MALFORMED["nan"]
    path = write_jsonl(tmp_path / "a.jsonl", records)
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x", encoding="utf-8")
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(blocked / "cache"))
    got = read_logs([path], on_invalid="skip", chunk_bytes=4096)
    monkeypatch.setenv("GENAILOG_NO_CACHE", "1")
    want = read_logs([path], on_invalid="skip", chunk_bytes=4096)
    assert got.collect().equals(want.collect())
    assert [r.line for r in got.report.invalid] == [8] and got.report.records == 299
    with pytest.raises(InvalidRecordError):
        monkeypatch.delenv("GENAILOG_NO_CACHE")
        read_logs([path])


def test_progress_hook_hears_about_large_files(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest import progress

    monkeypatch.setattr(progress, "MIN_BYTES", 0)
    heard: list[tuple[str, int, int | None]] = []
    progress.set_hook(lambda name, done, total: heard.append((name, done, total)))
    try:
        path = write_jsonl(tmp_path / "a.jsonl", [GOOD] * 200)
        read_logs([path], chunk_bytes=4096)
    finally:
        progress.set_hook(None)
    size = path.stat().st_size
    assert len(heard) > 3 and heard[-1] == (str(path), size, size)
    assert [done for _, done, _ in heard] == sorted(done for _, done, _ in heard)


def test_a_file_read_on_every_core_equals_the_serial_read(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest import cache
    from genailog.ingest.validate import validate

    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    records: list[Any] = [{**GOOD, "n": i, **({"late": "x"} if i > 700 else {})}
                          for i in range(1000)]
    records[5] = MALFORMED["nan"]
    records[977] = MALFORMED["bad_date"]
    path = write_jsonl(tmp_path / "a.jsonl", records)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    spread = read_logs([path], on_invalid="skip", chunk_bytes=20_000)
    monkeypatch.setenv("GENAILOG_NO_CACHE", "1")
    uncached = read_logs([path], on_invalid="skip", chunk_bytes=20_000)  # workers, no cache
    monkeypatch.setenv("GENAILOG_WORKERS", "1")
    serial = read_logs([path], on_invalid="skip", chunk_bytes=20_000)
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    assert spread.collect().equals(serial.collect())
    assert uncached.collect().equals(serial.collect())
    assert [r.line for r in uncached.report.invalid] == [6, 978]
    assert [r.line for r in spread.report.invalid] == [6, 978]
    assert spread.collect()["late"].drop_nulls().len() == 298
    monkeypatch.setattr("genailog.ingest.validate.CHUNK_BYTES", 20_000)
    checked = validate([path])
    assert checked.records == 1000 and [r.line for r in checked.invalid_records] == [6, 978]


def test_a_bad_line_in_another_format_is_set_aside_not_the_rest(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "formats" / "logs" / "litellm.jsonl"
    lines = fixture.read_bytes().splitlines()
    damaged = tmp_path / "litellm.jsonl"
    damaged.write_bytes(b"\n".join([lines[0], b'{"model": "x", "broken', *lines[1:]]) + b"\n")
    whole = read_logs([fixture])
    target = tmp_path / "q.jsonl"
    logs = read_logs([damaged], on_invalid=f"quarantine={target}")
    assert logs.report.records == whole.report.records and logs.report.skipped == 1
    assert logs.report.invalid[0].line == 2
    assert target.read_bytes() == b'{"model": "x", "broken\n'
    with pytest.raises(InvalidRecordError) as caught:
        read_logs([damaged])
    assert caught.value.line == 2


def test_bad_lines_among_blocks_keep_order_and_late_user_fields(tmp_path: Path) -> None:
    from genailog.ingest import jsonl

    records: list[Any] = [{**GOOD, "n": i} for i in range(300)]
    for i in (150, 151, 299):
        records[i] = {**records[i], "tenant": f"t{i}"}  # first seen in a late block
    records[10] = MALFORMED["wrong_type"]
    records[200] = MALFORMED["bad_json"]
    logs = read_logs([write_jsonl(tmp_path / "a.jsonl", records)], on_invalid="skip")
    frame = logs.collect()
    assert jsonl.BLOCK_LINES < 150
    assert [r.line for r in logs.report.invalid] == [11, 201]
    assert frame["n"].to_list() == [i for i in range(300) if i not in (10, 200)]
    tenants = dict(zip(frame["n"].to_list(), frame["tenant"].to_list(), strict=True))
    assert {n: t for n, t in tenants.items() if t is not None} == {
        150: "t150", 151: "t151", 299: "t299"}


def test_an_empty_or_blank_file_holds_zero_records(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\xef\xbb\xbf\n \r\n")
    logs = read_logs([tmp_path / "empty.jsonl", tmp_path / "blank.jsonl"])
    assert logs.report.records == 0 and logs.collect().height == 0
    assert [f.format for f in logs.report.files] == ["genailog", "genailog"]


def test_ordered_results_keep_order_and_few_in_flight() -> None:
    """Workers' results come back in task order, with at most two tasks per worker
    submitted and not yet taken, so memory does not grow with the file."""
    from concurrent.futures import Future

    from genailog.ingest.parallel import ordered

    class Recorder:
        def __init__(self) -> None:
            self.submitted = 0
            self.closed = False

        def submit(self, function: Any, *args: Any) -> Future[Any]:
            self.submitted += 1
            future: Future[Any] = Future()
            future.set_result(function(*args))
            return future

        def shutdown(self) -> None:
            self.closed = True

    executor = Recorder()
    taken = []
    for result in ordered(executor, "f", [(abs, (-i,)) for i in range(50)], 3):  # type: ignore[arg-type]
        taken.append(result)
        assert executor.submitted - len(taken) <= 6 - 1
    assert taken == list(range(50)) and executor.closed
