"""Sketch mode and mergeable partials of ``summarize`` (genailog.analysis.sketch/partials).

Known answers come from outside the code under test: bucket keys and bucket values from
the ``ddsketch`` library itself, exact quantiles from numpy's linear interpolation (the
rule DuckDB's ``quantile_cont`` follows), and the whole-input summary for merges.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from ddsketch import DDSketch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_summarize import make_records
from typer.testing import CliRunner

from genailog.analysis import sketch
from genailog.analysis.partials import SummaryPartial, merge, read_partial, summary_partial
from genailog.analysis.summarize import summarize
from genailog.cli.app import app
from genailog.errors import InputError, UsageError
from genailog.ingest.frame import canonical_frame

ALPHA = sketch.RELATIVE_ACCURACY
positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)


def _keys(values: list[float]) -> list[int | None]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Float64})
    return frame.select(sketch.bucket_key(pl.col("v")))["v"].to_list()


@settings(max_examples=300, deadline=None)
@given(st.lists(positive, min_size=1, max_size=50))
def test_bucket_keys_equal_the_librarys(values: list[float]) -> None:
    mapping = sketch.mapping()
    assert _keys(values) == [mapping.key(v) for v in values]


def test_bucket_keys_at_bucket_edges_and_signs() -> None:
    mapping = sketch.mapping()
    edges = [mapping.value(k) for k in range(-3000, 3000, 7)]
    near = [x * f for x in edges for f in (1 - 1e-15, 1.0, 1 + 1e-15)]
    assert _keys(near) == [mapping.key(v) for v in near]
    keys = _keys([0.0, 5e-324, -2.5, None])  # type: ignore[list-item]
    assert keys[:2] == [sketch.ZERO_KEY, sketch.ZERO_KEY]  # the library's zero bucket
    assert keys[2] == sketch.NEGATIVE_BASE - mapping.key(2.5)
    assert keys[3] is None
    assert sketch.bucket_value(keys[2]) == -mapping.value(mapping.key(2.5))
    assert sketch.bucket_value(sketch.ZERO_KEY) == 0.0


def _frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    return canonical_frame(records)[0]


def _summary_of(values: list[float], quantiles: str) -> dict[str, Any]:
    frame = _frame([{"model": "m", "latency_ms": v} for v in values])
    return summarize(frame, quantiles=quantiles).total


latencies = st.lists(st.floats(min_value=0.0, max_value=1e7, allow_nan=False), min_size=1,
                     max_size=300)


@settings(max_examples=60, deadline=None)
@given(latencies)
def test_sketch_quantiles_within_the_stated_error_of_exact(values: list[float]) -> None:
    total = _summary_of(values, "sketch")
    for p in (50, 90, 95, 99):
        exact = float(np.quantile(values, p / 100, method="linear"))
        estimate = total[f"latency_ms_p{p}"]
        assert abs(estimate - exact) <= ALPHA * exact + 1e-9 * max(exact, 1), (p, exact)
    assert total["latency_ms_max"] == max(values)


def test_sketch_quantile_at_a_whole_rank_is_the_librarys() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(6, 1.2, 1001).tolist()  # rank q*(n-1) is whole for these q
    library = DDSketch(ALPHA)
    for v in values:
        library.add(v)
    total = _summary_of(values, "sketch")
    for p in (50, 90):
        assert total[f"latency_ms_p{p}"] == pytest.approx(library.get_quantile_value(p / 100),
                                                          rel=1e-12)


@pytest.fixture(scope="module")
def records() -> pl.DataFrame:
    return _frame(make_records(900, seed=11))


def _close(a: Any, b: Any, path: str = "") -> None:
    """Equal, with float sums allowed their rounding (ints and strings exactly)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


OPTIONS = ({"by": ["model"]}, {"by": ["team"], "window": "1d"}, {})


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, 900), flip=st.booleans(), mode=st.sampled_from(["exact", "sketch"]),
       which=st.sampled_from(range(len(OPTIONS))))
def test_two_halves_merged_equal_the_whole_in_either_order(
        records: pl.DataFrame, cut: int, flip: bool, mode: str, which: int) -> None:
    options = OPTIONS[which]
    whole = summarize(records, quantiles=mode, **options)
    halves = [summary_partial(part, quantiles=mode, **options)
              for part in (records[:cut], records[cut:])]
    merged = merge(*(reversed(halves) if flip else halves))
    _close(merged.finalize().to_dict(), whole.to_dict())
    assert whole.partial is not None
    # the merged partial is the whole's partial: counts exactly, sketches bucket for bucket
    ints = [c for c, t in merged.frame.schema.items() if t == pl.Int64]
    assert merged.frame.select(ints).equals(whole.partial.frame.select(ints))
    if mode == "sketch":
        sketches = ["_latency_ms_sketch", "_ttft_ms_sketch"]
        assert merged.frame.select(sketches).equals(whole.partial.frame.select(sketches))
        for p in (50, 95, 99):
            assert merged.finalize().total[f"latency_ms_p{p}"] == whole.total[f"latency_ms_p{p}"]


def test_merge_is_associative_through_json(records: pl.DataFrame, tmp_path: Path) -> None:
    thirds = [records[:250], records[250:600], records[600:]]
    for mode in ("exact", "sketch"):
        parts = [summary_partial(t, by=["model"], window="1d", quantiles=mode) for t in thirds]
        paths = []
        for i, part in enumerate(parts):
            paths.append(tmp_path / f"{mode}-{i}.json")
            part.write(paths[-1])
        read = [read_partial(p) for p in paths]
        left = merge(merge(read[0], read[1]), read[2]).finalize().to_dict()
        right = merge(read[2], merge(read[1], read[0])).finalize().to_dict()
        _close(left, right)
        _close(left, summarize(records, by=["model"], window="1d", quantiles=mode).to_dict())


def test_merge_refuses_different_options(records: pl.DataFrame) -> None:
    a = summary_partial(records, by=["model"])
    with pytest.raises(UsageError, match="differ in by"):
        merge(a, summary_partial(records, by=["team"]))
    with pytest.raises(UsageError, match="differ in quantiles"):
        merge(a, summary_partial(records, by=["model"], quantiles="sketch"))
    with pytest.raises(UsageError, match="nothing to merge"):
        merge()


def test_sampled_records_refused(records: pl.DataFrame) -> None:
    sampled = records.with_columns(pl.lit(0.5).alias("sample_rate"))
    with pytest.raises(UsageError, match="head-sampled"):
        summary_partial(sampled)


@pytest.mark.parametrize("text, message", [
    ("not json", "invalid JSON"),
    ("[]", "no \"format\""),
    ('{"format": "genailog.summary-partial", "version": 99}', "version 99"),
    ('{"format": "genailog.summary-partial", "version": 1, "quantiles": "exact", '
     '"relative_accuracy": null, "by": [], "window": null, "rows": 0, "prices": {}, '
     '"skipped_records": 0, "columns": {}}', "missing or unknown column"),
    ('{"format": "genailog.summary-partial", "version": 1, "quantiles": "exact", '
     '"relative_accuracy": NaN}', "invalid JSON"),
])
def test_bad_partial_files_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        SummaryPartial.from_json(text)


def test_tampered_column_is_an_input_error(records: pl.DataFrame) -> None:
    data = summary_partial(records.head(50)).to_dict()
    data["columns"]["requests"]["values"] = ["x"] * data["rows"]
    with pytest.raises(InputError, match="not a genailog summary partial"):
        SummaryPartial.from_dict(json.loads(json.dumps(data)))
    data["columns"]["requests"]["values"] = [1]
    with pytest.raises(InputError, match="has 1 values"):
        SummaryPartial.from_dict(data)


def test_partial_json_matches_its_schema(records: pl.DataFrame) -> None:
    import jsonschema

    from genailog.schema.files import schemas_dir

    schema = json.loads((schemas_dir() / "summarize.partial.schema.json").read_text())
    for mode in ("exact", "sketch"):
        data = json.loads(summary_partial(records.head(80), window="1h", quantiles=mode)
                          .to_json())
        jsonschema.validate(data, schema)


def test_cli_quantiles_sketch_and_partial_out(tmp_path: Path, records: pl.DataFrame) -> None:
    logs = tmp_path / "calls.jsonl"
    logs.write_text("".join(json.dumps(r, default=str) + "\n" for r in make_records(300)))
    out = tmp_path / "part.json"
    runner = CliRunner()
    result = runner.invoke(app, ["summarize", str(logs), "--by", "model", "--quantiles",
                                 "sketch", "--partial-out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quantiles"]["relative_accuracy"] == ALPHA
    assert data["quantiles"]["library"].startswith("ddsketch ")
    _close(read_partial(out).finalize().to_dict(), data)
    table = runner.invoke(app, ["summarize", str(logs), "--quantiles", "sketch"])
    assert "within 1% of the exact one" in table.stdout, table.output
    assert "p95 ms ±1%" in table.stdout
    bad = runner.invoke(app, ["summarize", str(logs), "--partial-out", str(tmp_path)])
    assert bad.exit_code == 4, bad.output


def test_partials_merged_while_streaming_give_the_one_pass_answer(
        records: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many small batches whose sketches are merged along the way (as many groups or a
    long input do) give the answer of one batch; merged sketches and a new batch's
    sketch stack (their counts once had different integer types: exit 70)."""
    from genailog.analysis import summarize as core

    whole = summarize(records, by=["model"], window="1d", quantiles="sketch")
    monkeypatch.setattr(core, "BATCH_ROWS", 40)
    monkeypatch.setattr(core, "MAX_PARTIAL_ROWS", 5)
    streamed = summarize(records, by=["model"], window="1d", quantiles="sketch")
    _close(streamed.to_dict(), whole.to_dict())
    assert whole.partial is not None and streamed.partial is not None
    sketches = ["_latency_ms_sketch", "_ttft_ms_sketch"]
    assert streamed.partial.frame.select(sketches).equals(whole.partial.frame.select(sketches))
