"""`genailog sample`: every record valid, deterministic, realistic, and the shipped set is
what the documented command writes."""

from __future__ import annotations

import importlib.util
import json
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.errors import OutputError
from genailog.ingest.frame import canonical_frame
from genailog.sample import (
    DEFAULT_START,
    NEW_TOPIC,
    generate_sample,
    sample_frame,
    write_sample,
)
from genailog.schema.columns import CANONICAL_DTYPES
from genailog.schema.files import load_output_schema, load_record_schema

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = Draft202012Validator(
    load_record_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
)


@pytest.fixture(scope="module")
def big() -> list[dict[str, Any]]:
    return list(generate_sample(20_000, 11))


def _errors(records: list[dict[str, Any]]) -> list[str]:
    return [f"{i}: {e.message}" for i, r in enumerate(records) for e in VALIDATOR.iter_errors(r)]


def test_every_record_of_a_large_sample_validates(big: list[dict[str, Any]]) -> None:
    assert _errors(big[:5000]) == []


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 150),
    seed=st.integers(-(2**40), 2**40),
    days=st.integers(1, 30),
    start=st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1), timezones=st.just(UTC)),
)
def test_records_validate_for_any_seed_size_and_period(
    n: int, seed: int, days: int, start: datetime
) -> None:
    records = list(generate_sample(n, seed, start, days))
    assert len(records) == n
    assert _errors(records) == []
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in records]
    assert stamps == sorted(stamps)
    # Millisecond timestamps: the first may round down below a start with microseconds.
    low, high = start - timedelta(milliseconds=1), start + timedelta(days=days)
    assert all(low <= s < high for s in stamps)


def test_same_arguments_give_the_same_records_and_another_seed_does_not() -> None:
    assert list(generate_sample(500, 3)) == list(generate_sample(500, 3))
    assert list(generate_sample(500, 3)) != list(generate_sample(500, 4))


@pytest.mark.parametrize(("first", "stop"), [(0, 10), (9_990, 10_020), (12_345, 25_000)])
def test_a_range_of_records_equals_that_slice_of_the_whole(
    big: list[dict[str, Any]], first: int, stop: int
) -> None:
    assert list(generate_sample(20_000, 11, first=first, stop=stop)) == big[first:stop]


def test_token_counts_follow_the_canonical_semantics(big: list[dict[str, Any]]) -> None:
    for r in big:
        inputs = r.get("input_tokens")
        parts = r.get("cached_input_tokens", 0) + r.get("cache_write_tokens", 0)
        assert inputs is None or parts <= inputs, r
        assert r.get("reasoning_tokens", 0) <= (r.get("output_tokens") or 0), r
        if "ttft_ms" in r:
            assert r["ttft_ms"] <= r["latency_ms"]


def test_errors_have_a_type_a_message_and_a_null_response(big: list[dict[str, Any]]) -> None:
    errors = [r for r in big if r["status"] == "error"]
    assert 0.02 < len(errors) / len(big) < 0.06
    for r in errors:
        assert "response" in r and r["response"] is None
        assert r["error_type"] and r["error_message"]
    assert all(isinstance(r["response"], str) for r in big if r["status"] == "ok")


def test_every_documented_kind_of_field_occurs(big: list[dict[str, Any]]) -> None:
    seen = {key for r in big for key in r}
    # The sample is not head-sampled: a sample_rate below 1 would turn every figure the
    # README shows into a weighted estimate (tests/test_log_sampling.py covers that).
    assert set(CANONICAL_DTYPES) - seen == {"sample_rate"}
    labelled = [d for r in big for d in r.get("retrieval_docs", ()) if isinstance(d, dict)]
    assert all(isinstance(d["relevant"], bool) and d["text"] for d in labelled)
    assert 0.05 < sum(d["relevant"] for d in labelled) / len(labelled) < 0.4
    assert "tenant" in seen
    docs = [d for r in big for d in r.get("retrieval_docs", ())]
    assert {type(d) for d in docs} == {str, dict}
    assert {type(r["moderation_flags"]) for r in big if "moderation_flags" in r} == {list, dict}
    assert any(r.get("refusal") for r in big)
    assert any(r.get("cost_usd") for r in big)
    assert len({r["model"] for r in big}) >= 6
    assert len({r["request_id"] for r in big}) == len(big)


def _week(record: dict[str, Any]) -> int:
    return (datetime.fromisoformat(record["timestamp"]) - DEFAULT_START).days // 7


def _median_by_week(records: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any],
                    keep: Callable[[dict[str, Any]], bool]) -> list[float]:
    return [statistics.median(value(r) for r in records if keep(r) and _week(r) == w)
            for w in (0, 1)]


def test_the_second_week_differs_visibly(big: list[dict[str, Any]]) -> None:
    new_topics = tuple(NEW_TOPIC.values())
    weeks_with_new_topic = {_week(r) for r in big if any(t in r["prompt"] for t in new_topics)}
    assert weeks_with_new_topic == {1}
    length = _median_by_week(big, lambda r: len(r["prompt"]), lambda r: True)
    assert length[1] > 1.5 * length[0]
    ok = [r for r in big if r["status"] == "ok"]
    claude = _median_by_week(ok, lambda r: r["latency_ms"] / r["output_tokens"],
                             lambda r: r["model"] == "claude-sonnet-4")
    gpt = _median_by_week(ok, lambda r: r["latency_ms"] / r["output_tokens"],
                          lambda r: r["model"] == "gpt-4.1")
    assert claude[1] > 1.4 * claude[0]
    assert 0.9 < gpt[1] / gpt[0] < 1.1


def test_prompt_version_v3_is_slightly_worse(big: list[dict[str, Any]]) -> None:
    def mean(version: str, field: str) -> float:
        values = [float(r[field]) for r in big
                  if r["prompt_version"] == version and r.get(field) is not None]
        return statistics.fmean(values)

    assert mean("v3", "feedback_rating") < mean("v1", "feedback_rating") - 0.2
    assert mean("v3", "hallucination_flag") > mean("v2", "hallucination_flag") + 0.02


def test_sample_frame_equals_the_general_canonical_frame(big: list[dict[str, Any]]) -> None:
    records = big[:3000]
    expected, json_columns = canonical_frame(records)
    assert json_columns == set()
    assert_frame_equal(sample_frame(records), expected.select(sample_frame(records).columns))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_write_sample_splits_by_week_and_app(tmp_path: Path) -> None:
    result = write_sample(tmp_path, 900, 5)
    records = list(generate_sample(900, 5))
    week1, week2 = (_read_jsonl(tmp_path / f"week{w}.jsonl") for w in (1, 2))
    assert week1 + week2 == [r for r in records if r["app"] != "codeassist"]
    assert {_week(r) for r in week1} == {0} and {_week(r) for r in week2} == {1}
    frame = pl.read_parquet(tmp_path / "codeassist.parquet")
    assert {k: frame.schema[k] for k in CANONICAL_DTYPES} == CANONICAL_DTYPES
    assert_frame_equal(frame, sample_frame([r for r in records if r["app"] == "codeassist"]))
    counts = [f.records for f in result.files if f.format != "spans"]
    assert counts == [len(week1), len(week2), frame.height] and sum(counts) == 900
    spans = _read_jsonl(tmp_path / "search.spans.jsonl")
    searches = [r for r in records if r.get("parent_span_id")]
    assert len(spans) == 4 * len(searches) == result.files[-1].records
    calls = {s["span_id"]: s for s in spans if s["kind"] == "llm"}
    assert set(calls) == {r["span_id"] for r in searches}  # each call is its record's span
    assert {s["parent_span_id"] for s in spans if s.get("parent_span_id")} == {
        r["parent_span_id"] for r in searches}


def test_write_sample_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    write_sample(tmp_path, 50, 1)
    before = (tmp_path / "week1.jsonl").read_bytes()
    with pytest.raises(OutputError, match="--overwrite"):
        write_sample(tmp_path, 50, 2)
    assert (tmp_path / "week1.jsonl").read_bytes() == before
    write_sample(tmp_path, 50, 2, overwrite=True)
    assert (tmp_path / "week1.jsonl").read_bytes() != before


def test_shipped_sample_logs_are_what_the_readme_command_writes(tmp_path: Path) -> None:
    readme = (ROOT / "sample_logs" / "README.md").read_text(encoding="utf-8")
    assert "genailog sample --out sample_logs --records 3000 --seed 7" in readme
    write_sample(tmp_path, 3000, 7)
    for name in ("week1.jsonl", "week2.jsonl", "search.spans.jsonl"):
        assert (ROOT / "sample_logs" / name).read_bytes() == (tmp_path / name).read_bytes()
    assert_frame_equal(pl.read_parquet(ROOT / "sample_logs" / "codeassist.parquet"),
                       pl.read_parquet(tmp_path / "codeassist.parquet"))


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["sample", *args])


def test_cli_json_is_the_library_result_and_matches_its_schema(tmp_path: Path) -> None:
    result = _run("--out", str(tmp_path), "--records", "300", "--seed", "9", "--days", "10",
                  "--start", "2026-03-02", "--format", "json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    Draft202012Validator(load_output_schema("sample"),
                         format_checker=Draft202012Validator.FORMAT_CHECKER).validate(printed)
    expected = write_sample(tmp_path, 300, 9, start=datetime(2026, 3, 2, tzinfo=UTC), days=10,
                            overwrite=True)
    assert printed == expected.to_dict()
    assert printed["start"] == "2026-03-02T00:00:00Z"


def test_cli_table_names_each_file_and_errors_map_to_exit_codes(tmp_path: Path) -> None:
    result = _run("--out", str(tmp_path), "--records", "40")
    assert result.exit_code == 0, result.output
    for name in ("week1.jsonl", "week2.jsonl", "codeassist.parquet"):
        assert name in result.stdout
    again = _run("--out", str(tmp_path), "--records", "40")
    assert again.exit_code == 4, again.output
    assert "--overwrite" in again.stderr
    bad = _run("--out", str(tmp_path), "--start", "last tuesday")
    assert bad.exit_code == 2, bad.output


def _make_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_data", ROOT / "bench" / "make_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_make_data_streams_the_same_records(tmp_path: Path) -> None:
    out, parquet = tmp_path / "r.jsonl", tmp_path / "r.parquet"
    _make_data().write(12_000, out, parquet, 4, 14, jobs=1)
    records = list(generate_sample(12_000, 4))
    assert out.read_bytes() == msgspec.json.Encoder().encode_lines(records)
    assert_frame_equal(pl.read_parquet(parquet), sample_frame(records))


def test_read_logs_reads_the_shipped_sample_back_as_generated() -> None:
    from genailog.ingest import read_logs
    from genailog.schema.columns import JSON_TEXT_COLUMNS

    logs = read_logs([str(ROOT / "sample_logs")])
    assert logs.report.records == 3000 and logs.report.skipped == 0
    expected = sample_frame(list(generate_sample(3000, 7))).sort("request_id")
    got = logs.frame.collect().select(expected.columns).sort("request_id")
    plain = [c for c in expected.columns if c not in JSON_TEXT_COLUMNS]
    assert_frame_equal(got.select(plain), expected.select(plain))
    for name in JSON_TEXT_COLUMNS:  # same JSON values; the text may be spaced differently
        decoded = [[None if v is None else json.loads(v) for v in frame[name]]
                   for frame in (got, expected)]
        assert decoded[0] == decoded[1], name


def test_traces_on_the_shipped_sample_names_the_slowed_reranker() -> None:
    """The sample's search requests carry spans; from the second week the reranker is slow
    in about 30% of them, which `traces` names against the first week."""
    import json

    result = CliRunner().invoke(app, ["traces", str(ROOT / "sample_logs"),
                                      "--reference-until", "2026-11-09", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    changed = [c["component"] for c in data["changed_components"]]
    assert "reranker:rerank" in changed and "retriever:retrieve" not in changed
