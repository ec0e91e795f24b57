"""Reading canonical Parquet: which rows are invalid, and why, agrees with jsonschema.

The reader judges a file by one filtered scan per check, which lets polars skip every row
group whose statistics prove it clean (genailog/ingest/parquet.py). These tests pin the
verdicts to the record schema itself, row by row, over files with several row groups
(some clean, some not), with and without statistics, and with the timestamp stored in
the ways other tools write it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genailog.ingest import parquet, read_logs
from genailog.ingest.parquet import read_parquet
from genailog.schema.diagnose import record_validator

START = datetime(2026, 11, 1, tzinfo=UTC)
INTS = ("input_tokens", "output_tokens", "retries")
FLOATS = ("cost_usd", "latency_ms")

rows = st.fixed_dictionaries({
    "timestamp": st.one_of(st.none(), st.integers(0, 10**6).map(
        lambda s: START + timedelta(seconds=s))),
    "model": st.sampled_from([None, "", "gpt-4o", "claude"]),
    "status": st.sampled_from([None, "ok", "error", "failed"]),
    "stage": st.sampled_from([None, "inference", "training", "prod"]),
    **{name: st.one_of(st.none(), st.integers(-3, 10**6)) for name in INTS},
    **{name: st.one_of(st.none(), st.floats(-2.0, 1e4)) for name in FLOATS},
})  # fmt: skip


def _json_value(name: str, value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if name == "timestamp" else value


def _schema_verdicts(records: list[dict[str, Any]]) -> dict[int, set[str]]:
    """Per invalid row (1-based), the fields jsonschema finds wrong, the row read as the
    JSON record it stands for (a null column is an absent field)."""
    validator = record_validator()
    found: dict[int, set[str]] = {}
    for line, record in enumerate(records, 1):
        value = {k: _json_value(k, v) for k, v in record.items() if v is not None}
        for error in validator.iter_errors(value):
            if error.validator == "required":
                field = str(error.message).split("'")[1]
            else:
                field = str(error.absolute_path[0])
            found.setdefault(line, set()).add(field)
    return found


def _write(records: list[dict[str, Any]], path: Path, *, statistics: bool = True) -> Path:
    frame = pl.DataFrame(records, schema={
        "timestamp": pl.Datetime("us", "UTC"), "model": pl.String, "status": pl.String,
        "stage": pl.String, **dict.fromkeys(INTS, pl.Int64),
        **dict.fromkeys(FLOATS, pl.Float64)})  # fmt: skip
    frame.write_parquet(path, row_group_size=4, statistics=statistics)
    return path


def _verdicts(path: Path) -> dict[int, set[str]]:
    _, _, invalid = read_parquet(str(path))
    return {r.line: {p.removeprefix("/") for p, _ in r.problems} for r in invalid}


@settings(max_examples=80, deadline=None)
@given(records=st.lists(rows, min_size=1, max_size=30), statistics=st.booleans(),
       slice_rows=st.sampled_from([1, 3, 7, parquet.SLICE_ROWS]), one_pass=st.booleans(),
       own_queries=st.booleans(), large=st.booleans())
def test_invalid_rows_and_their_fields_are_jsonschemas(
        tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]],
        statistics: bool, slice_rows: int, one_pass: bool, own_queries: bool,
        large: bool) -> None:
    """Both ways of judging a file (one pass for a small file, a query per check for a
    large one, its rows counted first or, for a large file on disk, by the same batch of
    queries), and with the file read in slices of a few rows (a large file's way), in
    one query or a query per slice (a very large file's way): the kept rows are the valid
    ones, in order, whichever slice an invalid row falls in."""
    path = _write(records, tmp_path_factory.mktemp("p") / "a.parquet", statistics=statistics)
    expected = _schema_verdicts(records)
    with mock.patch.object(parquet, "SLICE_ROWS", slice_rows), \
            mock.patch.object(parquet, "OWN_QUERY_SLICE_ROWS", slice_rows), \
            mock.patch.object(parquet, "ONE_PASS_ROWS", 10**9 if one_pass else 0), \
            mock.patch.object(parquet, "LARGE_FILE_BYTES", 0 if large else 10**12), \
            mock.patch.object(parquet, "ONE_QUERY_SLICES", 0 if own_queries else 10**9):
        assert _verdicts(path) == expected
        frame, valid, _ = read_parquet(str(path))
    kept = [r for line, r in enumerate(records, 1) if line not in expected]
    assert valid == len(kept)
    got = frame.select("model", "input_tokens", "latency_ms").collect().to_dicts()
    assert got == [{k: r[k] for k in ("model", "input_tokens", "latency_ms")} for r in kept]
    assert frame.select(pl.len()).collect().item() == len(kept)
    head = frame.head(2).select("model").collect()["model"].to_list()
    assert head == [r["model"] for r in kept[:2]]


@pytest.mark.parametrize("own_queries", [False, True])
def test_a_sliced_file_filters_like_a_whole_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 own_queries: bool) -> None:
    """--where and --since over a file read in slices, in one query or a query per slice
    (and a column named like the row index the slices use), select what they select over
    the frame read whole."""
    records = [{"timestamp": START + timedelta(hours=i), "model": f"m{i % 3}",
                "status": "ok", **dict.fromkeys(INTS, i),
                **dict.fromkeys(FLOATS, float(i))} for i in range(50)]
    records[19]["retries"] = -1  # invalid, in the third slice, and would match the filter
    path = tmp_path / "a.parquet"
    pl.DataFrame(records).with_columns(pl.lit(1).alias("__row")).write_parquet(
        path, row_group_size=6)
    since = START + timedelta(hours=10)
    query = [pl.col("model") == "m1", pl.col("timestamp") >= since]
    whole = read_logs([path], on_invalid="skip").frame.filter(query).collect()
    monkeypatch.setattr(parquet, "SLICE_ROWS", 8)
    monkeypatch.setattr(parquet, "OWN_QUERY_SLICE_ROWS", 8)
    monkeypatch.setattr(parquet, "ONE_QUERY_SLICES", 0 if own_queries else 10**9)
    sliced = read_logs([path], on_invalid="skip").frame.filter(query).collect()
    assert sliced.equals(whole)
    assert sliced["input_tokens"].to_list() == [i for i in range(10, 50)
                                                if i % 3 == 1 and i != 19]
    assert sliced["__row"].to_list() == [1] * sliced.height


@pytest.mark.parametrize("one_pass_rows", [0, 10**9])
def test_a_clean_row_group_beside_a_bad_one_is_not_flagged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_pass_rows: int) -> None:
    monkeypatch.setattr(parquet, "ONE_PASS_ROWS", one_pass_rows)
    good = {"timestamp": START, "model": "m", "status": "ok", "stage": None,
            **dict.fromkeys(INTS, 1), **dict.fromkeys(FLOATS, 1.0)}
    records = [good] * 8 + [{**good, "retries": -1}] + [good] * 3 + [
        {**good, "status": "bad", "latency_ms": -0.5}]
    path = _write(records, tmp_path / "a.parquet")
    assert _verdicts(path) == {9: {"retries"}, 13: {"status", "latency_ms"}}
    _, _, invalid = read_parquet(str(path))
    [last] = [r for r in invalid if r.line == 13]
    assert [p for p, _ in last.problems] == ["/latency_ms", "/status"]  # a fixed order


@pytest.mark.parametrize("dtype", [pl.Datetime("ms", "UTC"), pl.Datetime("ns"),
                                   pl.Datetime("us", "Europe/Paris"), pl.String])
def test_timestamps_stored_other_ways_are_judged_as_converted(tmp_path: Path,
                                                              dtype: pl.DataType) -> None:
    stamps = [START, None, START + timedelta(hours=5)]
    frame = pl.DataFrame({"timestamp": stamps, "model": ["a", "b", "c"]})
    if dtype == pl.String:
        frame = frame.with_columns(pl.Series("timestamp", [
            "2026-11-01T00:00:00Z", "2026-11-01 00:00", "2026-11-01T05:00:00+00:00"]))
    elif isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        frame = frame.with_columns(pl.col("timestamp").dt.replace_time_zone(None).cast(dtype))
    else:
        frame = frame.with_columns(pl.col("timestamp").dt.convert_time_zone(
            dtype.time_zone or "UTC").cast(dtype))  # type: ignore[attr-defined]
    path = tmp_path / "a.parquet"
    frame.write_parquet(path)
    logs = read_logs([path], on_invalid="skip")
    assert [r.line for r in logs.report.invalid] == [2]
    assert logs.collect()["timestamp"].to_list() == [START, START + timedelta(hours=5)]

