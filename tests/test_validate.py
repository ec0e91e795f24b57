"""genailog validate: verdicts equal jsonschema's, line-precise errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import base_record, write_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.ingest import read_logs
from genailog.ingest.frame import canonical_frame
from genailog.ingest.validate import validate
from genailog.schema import limits, load_output_schema, load_record_schema

runner = CliRunner()
VALIDATOR = jsonschema.Draft202012Validator(
    load_record_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

# Values that are right for some fields and wrong for others.
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(-10, 1e6, allow_nan=False),
    st.sampled_from(["", "ok", "error", "inference", "2025-12-26T10:00:12Z", "2025-13-01T00:00:00Z",
                     "2025-12-26 10:00:12Z", "2024-02-29T23:59:59.5+05:30", "[x]",
                     # edges of the timestamp pattern, which the reader checks in polars
                     "0000-01-01T00:00:00Z", "0001-01-01T00:00:00z", "2025-12-26t10:00:12Z",
                     "2025-12-26T10:00:12Z\n", "2025-12-26T24:00:00Z", "2025-1-26T10:00:12Z",
                     "2025-12-26T10:00:12.Z", "2025-12-26T10:00:12+5:30",
                     "\u0662025-12-26T10:00:12Z", "2025-12-26T10:00:60Z"]),
    st.lists(st.sampled_from(["a", 1, {"id": "d", "score": 0.5}, {"role": "user"}]), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.floats(0, 1), st.booleans(),
                                                             st.text(max_size=3)), max_size=2),
)
TMP_PATH_OK = [HealthCheck.function_scoped_fixture]  # each example overwrites its file
FIELDS = st.sampled_from(sorted(load_record_schema()["properties"]) + ["case_id", "tenant"])
RECORDS = st.dictionaries(FIELDS, ANY_VALUE, max_size=6).map(lambda extra: {**base_record(),
                                                                            **extra})


@settings(max_examples=60, deadline=None, suppress_health_check=TMP_PATH_OK)
@given(records=st.lists(RECORDS, min_size=1, max_size=12))
def test_verdicts_equal_jsonschema_record_for_record(tmp_path: Path,
                                                     records: list[dict[str, Any]]) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", records)
    result = validate([path])
    flagged = {r.line for r in result.invalid_records}
    expected = {i + 1 for i, r in enumerate(records)
                if not VALIDATOR.is_valid(r) or limits.record_problems(r)}
    assert flagged == expected
    assert result.records == len(records)


@settings(max_examples=40, deadline=None, suppress_health_check=TMP_PATH_OK)
@given(records=st.lists(RECORDS, min_size=1, max_size=12))
def test_fast_reader_types_records_like_the_exact_path(tmp_path: Path,
                                                       records: list[dict[str, Any]]) -> None:
    valid = [r for r in records if VALIDATOR.is_valid(r) and not limits.record_problems(r)]
    if not valid:
        return
    path = write_jsonl(tmp_path / "r.jsonl", valid)
    fast = read_logs([path]).collect()
    exact, _ = canonical_frame(valid)
    assert sorted(fast.columns) == sorted(exact.columns)
    for name in exact.columns:
        left, right = fast[name].to_list(), exact[name].to_list()
        if fast.schema[name] == exact.schema[name] and name not in ("retrieval_docs", "metadata",
                                                                    "eval_scores",
                                                                    "moderation_flags"):
            assert left == right, name
        else:  # JSON text may differ in spacing, not in meaning
            assert [None if v is None else json.loads(v) for v in left] == [
                None if v is None else json.loads(v) for v in right], name


def _bad_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "bad.jsonl", [
        base_record(), '{"timestamp": "2025-12-26T10:00:12Z", "model": "m", "latency_ms": NaN}',
        base_record(input_tokens="12", status="maybe"), "[1]", base_record(),
    ])


def test_cli_json_output_matches_library_and_schema(tmp_path: Path) -> None:
    path = _bad_file(tmp_path)
    out = runner.invoke(app, ["validate", str(path), "--format", "json"])
    assert out.exit_code == 1, out.output
    data = json.loads(out.stdout)
    jsonschema.validate(data, load_output_schema("validate"))
    assert data == validate([path], max_errors=50).to_dict()
    assert data["records"] == 5 and data["invalid"] == 3
    assert [(e["line"], e["path"]) for e in data["errors"]] == [
        (2, ""), (3, "/input_tokens"), (3, "/status"), (4, "")]


def test_cli_exit_codes(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [base_record()] * 3)
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
    assert runner.invoke(app, ["validate", str(_bad_file(tmp_path))]).exit_code == 1
    assert runner.invoke(app, ["validate", str(good), "--max-errors", "-1"]).exit_code == 2
    missing = runner.invoke(app, ["validate", str(tmp_path / "missing.jsonl")])
    assert missing.exit_code == 3 and "no such file" in missing.stderr
    assert "Traceback" not in missing.output


def test_max_errors_truncates_the_list_not_the_count(tmp_path: Path) -> None:
    result = validate([_bad_file(tmp_path)], max_errors=1)
    assert result.invalid == 3 and len(result.to_dict()["errors"]) == 1
    assert result.to_dict()["errors_truncated"] is True


def test_custom_schema_and_quarantine(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "required": ["case_id"]}))
    path = write_jsonl(tmp_path / "a.jsonl", [{"case_id": 1}, {"other": 2}, base_record()])
    target = tmp_path / "q.jsonl"
    result = validate([path], schema=schema, quarantine=target)
    assert [r.line for r in result.invalid_records] == [2, 3]
    assert len(target.read_text().splitlines()) == 2
    bad_schema = tmp_path / "bad.json"
    bad_schema.write_text(json.dumps({"type": "nonsense"}))
    out = runner.invoke(app, ["validate", str(path), "--schema", str(bad_schema)])
    assert out.exit_code == 2, out.output


def test_rich_markup_in_user_content_is_shown_literally(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [base_record(input_tokens="[bold]x[/bold]")])
    out = runner.invoke(app, ["validate", str(path)])
    assert out.exit_code == 1
    assert "[bold]x[/bold]" in out.stdout


@pytest.mark.parametrize("policy", ["skip", "quarantine"])
def test_policy_report_counts(tmp_path: Path, policy: str) -> None:
    option = "skip" if policy == "skip" else f"quarantine={tmp_path / 'q.jsonl'}"
    logs = read_logs([_bad_file(tmp_path)], on_invalid=option)
    assert logs.report.records == 2 and logs.report.skipped == 3
    assert logs.report.to_dict()["quarantined"] == (3 if policy == "quarantine" else 0)


def test_errors_are_listed_in_line_order(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [
        base_record(timestamp="2025-02-30T10:00:12Z"), base_record(), "[1]", base_record()])
    result = validate([path])
    assert [r.line for r in result.invalid_records] == [1, 3]


EDGE_TIMESTAMPS = [
    "2025-12-26T10:00:12Z", "2024-02-29T23:59:59.5+05:30", "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00z", "2025-12-26t10:00:12Z", "2025-12-26T10:00:12Z\n",
    "2025-12-26T24:00:00Z", "2025-1-26T10:00:12Z", "2025-12-26T10:00:12.Z",
    "2025-12-26T10:00:12+5:30", "\u0662025-12-26T10:00:12Z", "2025-12-26T10:00:60Z",
    "2025-02-30T10:00:12Z", "2025-12-26 10:00:12Z", "2025-12-26T10:00:12",
]


def test_timestamp_pattern_edges_match_jsonschema(tmp_path: Path) -> None:
    """The reader checks timestamps in polars, not in the compiled twin; whole chunks of
    them (fast path) and single lines must both agree with jsonschema."""
    records = [base_record(timestamp=t) for t in EDGE_TIMESTAMPS]
    path = write_jsonl(tmp_path / "stamps.jsonl", records)
    result = validate([str(path)])
    flagged = {e.line for e in result.invalid_records}
    expected = {i + 1 for i, r in enumerate(records)
                if not VALIDATOR.is_valid(r) or limits.record_problems(r)}
    assert flagged == expected
    assert {1, 2, 4} & expected == set()  # real instants are kept


def test_two_objects_on_a_line_and_one_across_lines_are_both_invalid(tmp_path: Path) -> None:
    """The whole-chunk decoder reads a stream of values; the counts here match (three
    lines, three objects) yet no line is one record, and every one must be flagged."""
    a = json.dumps(base_record())
    path = tmp_path / "tricky.jsonl"
    path.write_text(f"{a} {a}\n" + '{"timestamp": "2025-12-26T10:00:12Z",\n"model": "m"}\n',
                    encoding="utf-8")
    result = validate([str(path)])
    assert sorted(r.line for r in result.invalid_records) == [1, 2, 3]
    braced = tmp_path / "braced.jsonl"  # every line starts with { and ends with }
    braced.write_text(f"{a}\n{a}{a}\n{a}\n", encoding="utf-8")
    assert [r.line for r in validate([str(braced)]).invalid_records] == [2]
    good = tmp_path / "good.jsonl"
    good.write_text(f"{a}\n{a}", encoding="utf-8")  # no final newline
    assert validate([str(good)]).valid
