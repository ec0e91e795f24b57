"""`summarize`: known answers against DuckDB SQL and a plain Python loop, gates, formats.

The generated logs have cached and cache-write tokens, reasoning tokens, provider-reported
costs on some records, a model missing from the price table, fields that only some
records log, and a user field (``team``) to group on.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.analysis.summarize import METRICS
from genailog.api import summarize
from genailog.cli.app import app
from genailog.errors import ExpressionError, UsageError
from genailog.schema.files import load_output_schema

PRICES: dict[str, dict[str, float]] = {
    "gpt-4.1": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
                "cache_read_input_token_cost": 5e-07},
    "claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                 "cache_read_input_token_cost": 3e-07,
                 "cache_creation_input_token_cost": 3.75e-06},
    "gemini-y": {"input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
                 "output_cost_per_reasoning_token": 1.2e-05},
}  # fmt: skip
MODELS = (*PRICES, "mystery-model")
START = datetime(2026, 11, 1, tzinfo=UTC)
REL = 1e-9


def _maybe(rng: random.Random, p: float, value: Any) -> Any:
    return value if rng.random() < p else None


def _tokens(rng: random.Random, model: str) -> dict[str, Any]:
    inp = rng.randint(20, 4000)
    cached = _maybe(rng, 0.9, rng.randint(0, inp // 2))
    write = rng.randint(0, inp // 4) if model == "claude-x" else None
    out = rng.randint(1, 900)
    reasoning = rng.randint(0, out) if model == "gemini-y" else None
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_tokens": write,
        "output_tokens": out,
        "reasoning_tokens": reasoning,
    }


def _status(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.05:
        return {"status": "error", "error_type": "RateLimitError"}
    if roll < 0.08:
        return {"status": None, "error_type": "Timeout"}  # an error without a status
    return {"status": _maybe(rng, 0.9, "ok"), "error_type": None}


def make_records(n: int = 1200, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        model = rng.choice(MODELS)
        stamp = START + timedelta(seconds=i * 217 + rng.randint(0, 100))
        records.append({
            "timestamp": stamp.isoformat().replace("+00:00", "Z"),
            "model": model,
            **_tokens(rng, model),
            **_status(rng),
            "cost_usd": _maybe(rng, 0.25, round(rng.random() / 50, 6)),
            "latency_ms": _maybe(rng, 0.95, round(rng.lognormvariate(6.5, 0.6), 3)),
            "ttft_ms": _maybe(rng, 0.5, round(rng.random() * 400, 3)),
            "retries": _maybe(rng, 0.7, rng.choice([0, 0, 0, 1, 2])),
            "feedback_rating": _maybe(rng, 0.2, rng.randint(1, 5)),
            "hallucination_flag": _maybe(rng, 0.4, rng.random() < 0.1),
            "refusal": _maybe(rng, 0.6, rng.random() < 0.03),
            "team": rng.choice(["search", "support", None]),
        })  # fmt: skip
    return records


@pytest.fixture(scope="module")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("summarize")
    with (folder / "calls.jsonl").open("w") as handle:
        for record in make_records():
            handle.write(json.dumps({k: v for k, v in record.items() if v is not None}) + "\n")
    (folder / "prices.json").write_text(json.dumps(PRICES))
    return folder


@pytest.fixture(scope="module")
def by_model(logs_dir: Path) -> dict[str, Any]:
    result = summarize([logs_dir / "calls.jsonl"], by=["model"], prices=logs_dir / "prices.json")
    return result.to_dict()


# --- the independent computations -------------------------------------------------------

_DUCK_METRICS = """
    count(*) AS requests,
    sum(CASE WHEN status IS NOT NULL THEN (status = 'error')::INT
             ELSE (error_type IS NOT NULL)::INT END) AS errors,
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(cached_input_tokens) AS cached_input_tokens, sum(retries) AS retries,
    sum(cache_write_tokens) AS cache_write_tokens, sum(reasoning_tokens) AS reasoning_tokens,
    sum(cached_input_tokens) FILTER (WHERE input_tokens IS NOT NULL)
      / sum(input_tokens) FILTER (WHERE cached_input_tokens IS NOT NULL) AS cache_hit_ratio,
    count(cached_input_tokens) AS cache_hit_ratio_count,
    sum(cost) AS cost_usd, count(cost) AS cost_usd_count,
    count(cost_usd) AS cost_reported_count,
    count(*) FILTER (WHERE cost_usd IS NULL AND price_in IS NULL) AS unpriced_requests,
    avg(cost) AS cost_per_request,
    quantile_cont(latency_ms, 0.5) AS latency_ms_p50,
    quantile_cont(latency_ms, 0.9) AS latency_ms_p90,
    quantile_cont(latency_ms, 0.95) AS latency_ms_p95,
    quantile_cont(latency_ms, 0.99) AS latency_ms_p99,
    max(latency_ms) AS latency_ms_max, count(latency_ms) AS latency_ms_count,
    quantile_cont(ttft_ms, 0.95) AS ttft_ms_p95, count(ttft_ms) AS ttft_ms_count,
    avg(hallucination_flag::INT) AS hallucination_rate,
    count(hallucination_flag) AS hallucination_rate_count,
    avg(refusal::INT) AS refusal_rate,
    avg(feedback_rating) AS feedback_mean, count(feedback_rating) AS feedback_count,
    epoch(max(ts)) - epoch(min(ts)) AS span_seconds
"""

_DUCK_COST = """
    COALESCE(cost_usd,
      (input_tokens - COALESCE(cached_input_tokens, 0) - COALESCE(cache_write_tokens, 0))
        * price_in
      + COALESCE(cached_input_tokens, 0) * COALESCE(price_read, price_in)
      + COALESCE(cache_write_tokens, 0) * COALESCE(price_write, price_in)
      + (output_tokens - CASE WHEN price_reason IS NULL THEN 0
                              ELSE COALESCE(reasoning_tokens, 0) END) * price_out
      + CASE WHEN price_reason IS NULL THEN 0
             ELSE COALESCE(reasoning_tokens, 0) * price_reason END) AS cost
"""


def duckdb_summary(jsonl: Path, group: str | None) -> list[dict[str, Any]]:
    """The same summary in DuckDB SQL: read_json, a price join, GROUPING SETS."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE prices (model VARCHAR, price_in DOUBLE, price_out DOUBLE, "
        "price_read DOUBLE, price_write DOUBLE, price_reason DOUBLE)"
    )
    for model, p in PRICES.items():
        con.execute("INSERT INTO prices VALUES (?, ?, ?, ?, ?, ?)", [
            model, p["input_cost_per_token"], p["output_cost_per_token"],
            p.get("cache_read_input_token_cost"), p.get("cache_creation_input_token_cost"),
            p.get("output_cost_per_reasoning_token")])  # fmt: skip
    sets = f"GROUPING SETS (({group}), ())" if group else "()"
    key = f"{group}, grouping({group}) AS is_total" if group else "1 AS is_total"
    sql = f"""
        WITH raw AS (SELECT *, timestamp::TIMESTAMPTZ AS ts FROM read_json('{jsonl}',
               format='newline_delimited', union_by_name=true)),
             r AS (SELECT raw.*, prices.*, {_DUCK_COST}
                   FROM raw LEFT JOIN prices ON raw.model = prices.model)
        SELECT {key}, {_DUCK_METRICS} FROM r GROUP BY {sets}
    """
    cursor = con.execute(sql.replace("prices.*", "prices.* EXCLUDE (model)"))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def assert_close(
    ours: dict[str, Any], theirs: dict[str, Any], where: str, at_least: int = 10
) -> None:
    compared = 0
    for name, want in theirs.items():
        if name not in METRICS:
            continue
        got = ours[name]
        if want is None or got is None or isinstance(want, str):
            assert got == want, f"{where} {name}: {got} != {want}"
        else:
            assert math.isclose(got, float(want), rel_tol=REL), f"{where} {name}: {got} != {want}"
        compared += 1
    assert compared >= at_least


def test_groups_and_total_match_duckdb(logs_dir: Path, by_model: dict[str, Any]) -> None:
    expected = duckdb_summary(logs_dir / "calls.jsonl", "model")
    assert len(by_model["groups"]) == len(MODELS)
    for row in expected:
        if row["is_total"]:
            assert_close(by_model["total"], row, "total", at_least=25)
        else:
            ours = next(g for g in by_model["groups"] if g["model"] == row["model"])
            assert_close(ours, row, row["model"], at_least=25)


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def python_total(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The total row by a plain loop, with numpy's (linear) percentiles."""
    rows = list(records)
    cost_sum, cost_n, unpriced, lat = 0.0, 0, 0, []
    for r in rows:
        cost = r["cost_usd"]
        price = PRICES.get(r["model"])
        if cost is None and price is not None:
            cost = python_cost(r, price)
        unpriced += cost is None and price is None
        if cost is not None:
            cost_sum, cost_n = cost_sum + cost, cost_n + 1
        if r["latency_ms"] is not None:
            lat.append(r["latency_ms"])
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    span = (max(stamps) - min(stamps)).total_seconds()
    return {
        "requests": len(rows), "cost_usd": cost_sum if cost_n else None,
        "cost_usd_count": cost_n, "unpriced_requests": unpriced,
        "cost_per_1k_requests": _div(1000 * cost_sum, cost_n),
        "latency_ms_p50": _percentile(lat, 50), "latency_ms_p99": _percentile(lat, 99),
        "latency_ms_mean": _div(sum(lat), len(lat)), "span_seconds": span,
        "requests_per_second": _div(len(rows), span),
        "output_tokens_per_second": _div(sum(r["output_tokens"] for r in rows), span),
    }  # fmt: skip


def _div(num: float, den: float) -> float | None:
    return num / den if den else None


def python_cost(r: dict[str, Any], price: dict[str, float]) -> float:
    cached, write = r["cached_input_tokens"] or 0, r["cache_write_tokens"] or 0
    reasoning_rate = price.get("output_cost_per_reasoning_token")
    reasoning = (r["reasoning_tokens"] or 0) if reasoning_rate else 0
    return float(
        (r["input_tokens"] - cached - write) * price["input_cost_per_token"]
        + cached * price.get("cache_read_input_token_cost", price["input_cost_per_token"])
        + write * price.get("cache_creation_input_token_cost", price["input_cost_per_token"])
        + (r["output_tokens"] - reasoning) * price["output_cost_per_token"]
        + reasoning * (reasoning_rate or 0)
    )


def test_total_matches_a_plain_python_loop(by_model: dict[str, Any]) -> None:
    assert_close(by_model["total"], python_total(make_records()), "total")


def test_unknown_model_is_listed_and_never_priced_at_zero(by_model: dict[str, Any]) -> None:
    records = make_records()
    unreported = sum(r["model"] == "mystery-model" and r["cost_usd"] is None for r in records)
    assert by_model["unpriced_models"] == [{"model": "mystery-model", "requests": unreported}]
    mystery = next(g for g in by_model["groups"] if g["model"] == "mystery-model")
    reported = [
        r["cost_usd"]
        for r in records
        if r["model"] == "mystery-model" and r["cost_usd"] is not None
    ]
    assert mystery["unpriced_requests"] == unreported
    assert mystery["cost_usd_count"] == len(reported)  # only what the provider reported
    assert math.isclose(mystery["cost_usd"], sum(reported), rel_tol=REL)


def test_window_and_user_field_groups_match_a_python_loop(logs_dir: Path) -> None:
    result = summarize(
        logs_dir / "calls.jsonl", by=["team"], window="1d", prices=logs_dir / "prices.json"
    ).to_dict()
    buckets: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for r in make_records():
        day = datetime.fromisoformat(r["timestamp"]).strftime("%Y-%m-%dT00:00:00Z")
        buckets.setdefault((day, r["team"]), []).append(r)
    assert {(g["window"], g["team"]) for g in result["groups"]} == set(buckets)
    for group in result["groups"]:
        expected = python_total(buckets[(group["window"], group["team"])])
        assert_close(group, expected, f"{group['window']} {group['team']}")


def test_where_since_until_filter_records(logs_dir: Path) -> None:
    result = summarize(
        logs_dir / "calls.jsonl",
        where="model = 'gpt-4.1' AND latency_ms > 700",
        since="2026-11-01T12:00:00Z",
        until="2026-11-03",
        prices=logs_dir / "prices.json",
    ).to_dict()
    kept = [
        r
        for r in make_records()
        if r["model"] == "gpt-4.1"
        and r["latency_ms"] is not None
        and r["latency_ms"] > 700
        and "2026-11-01T12:00:00Z" <= r["timestamp"] < "2026-11-03"
    ]
    assert result["total"]["requests"] == len(kept) > 0
    assert_close(result["total"], python_total(kept), "filtered")


def test_no_matching_records_gives_an_empty_total(logs_dir: Path) -> None:
    result = summarize(logs_dir / "calls.jsonl", by=["model"], where="model = 'none'")
    assert result.groups == []
    assert result.total["requests"] == 0
    assert result.total["cost_usd"] is None and result.total["latency_ms_p95"] is None


def test_gates_name_the_group_that_tripped(logs_dir: Path, by_model: dict[str, Any]) -> None:
    worst = max(by_model["groups"], key=lambda g: g["latency_ms_p95"])
    threshold = sorted(g["latency_ms_p95"] for g in by_model["groups"])[-2]
    result = summarize(
        logs_dir / "calls.jsonl",
        by=["model"],
        prices=logs_dir / "prices.json",
        fail_if=[f"latency_ms_p95 > {threshold}", "requests < 0"],
    )
    tripped, passed = result.gates
    total_trips = by_model["total"]["latency_ms_p95"] > threshold
    assert [f["label"] for f in tripped.failed] == [f"model={worst['model']}"] + (
        ["total"] if total_trips else []
    )
    assert tripped.failed[0]["group"] == {"model": worst["model"]}
    assert passed.passed and result.failed


def test_bad_gate_or_group_is_a_usage_error(logs_dir: Path) -> None:
    with pytest.raises(ExpressionError, match="latency_p95.*valid metrics: requests"):
        summarize(logs_dir / "calls.jsonl", fail_if=["latency_p95 > 1"])
    with pytest.raises(UsageError, match="--by names unknown field"):
        summarize(logs_dir / "calls.jsonl", by=["tenant"])
    with pytest.raises(UsageError, match="--window"):
        summarize(logs_dir / "calls.jsonl", window="hourly")


# --- the CLI --------------------------------------------------------------------------------

RunCli = Callable[..., Any]


@pytest.fixture
def run(logs_dir: Path) -> RunCli:
    def invoke(*args: str) -> Any:
        runner = CliRunner()
        return runner.invoke(
            app,
            [
                "summarize",
                str(logs_dir / "calls.jsonl"),
                "--prices",
                str(logs_dir / "prices.json"),
                *args,
            ],
            env={"COLUMNS": "200"},
        )

    return invoke


def test_cli_json_is_the_library_result_and_fits_the_schema(
    run: RunCli, by_model: dict[str, Any]
) -> None:
    result = run("--by", "model", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == json.loads(json.dumps(by_model))
    validator = jsonschema.Draft202012Validator(
        load_output_schema("summarize"), format_checker=jsonschema.FormatChecker()
    )
    validator.validate(data)


def test_cli_gate_exit_codes(run: RunCli) -> None:
    tripped = run("--by", "model", "--format", "json", "--fail-if", "requests > 0")
    assert tripped.exit_code == 1, tripped.output
    assert "gate failed: requests > 0 for " in tripped.stderr
    assert "model=mystery-model (condition true)" in tripped.stderr
    assert json.loads(tripped.stdout)["passed"] is False
    bad = run("--fail-if", "p95_latency > 2")
    assert bad.exit_code == 2, bad.output
    assert "p95_latency" in bad.stderr and "latency_ms_p95" in bad.stderr
    assert run("--fail-if", "error_rate > 0.9").exit_code == 0


def test_cli_markdown_and_table_show_unpriced_plainly(run: RunCli) -> None:
    markdown = run("--by", "model", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert "| model | requests |" in markdown.stdout
    assert "| **TOTAL** |" in markdown.stdout
    assert "unpriced model: mystery-model" in markdown.stdout
    table = run("--by", "model")
    assert table.exit_code == 0, table.output
    mystery = next(line for line in table.stdout.splitlines() if "mystery-model" in line)
    assert "unpriced" in mystery


def test_cli_csv_has_every_metric_per_group(run: RunCli, by_model: dict[str, Any]) -> None:
    result = run("--by", "model,team", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[-1]["scope"] == "total" and rows[-1]["requests"] == "1200"
    assert set(METRICS) <= set(rows[0])
    assert {r["model"] for r in rows[:-1]} == set(MODELS)


def test_cli_reports_skipped_invalid_records(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    good = {
        "timestamp": "2026-11-01T00:00:00Z",
        "model": "gpt-4.1",
        "input_tokens": 100,
        "output_tokens": 10,
    }
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps(good) + "\n")
    result = CliRunner().invoke(
        app, ["summarize", str(path), "--on-invalid", "skip", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["skipped_records"] == 1 and data["total"]["requests"] == 2
    assert math.isclose(data["total"]["cost_usd"], 2 * (100 * 2e-06 + 10 * 8e-06), rel_tol=REL)
    assert CliRunner().invoke(app, ["summarize", str(path)]).exit_code == 3


def test_a_group_with_no_cost_at_all_reads_unpriced() -> None:
    from genailog.cli.summarize import _cost_cell

    assert _cost_cell({"cost_usd": None, "unpriced_requests": 4}) == "UNPRICED"
    assert _cost_cell({"cost_usd": 1.5, "unpriced_requests": 0}) == "$1.5000"


_small_record = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["gpt-4.1", "claude-x", "mystery-model"]),
        "team": st.sampled_from(["a", "b", None]),
        "input_tokens": st.integers(0, 5000),
        "output_tokens": st.integers(0, 500),
        "latency_ms": st.one_of(st.none(), st.floats(0, 1e5)),
        "cost_usd": st.one_of(st.none(), st.floats(0, 1)),
        "minute": st.integers(0, 3000),
    }
)


@settings(max_examples=30, deadline=None)
@given(st.lists(_small_record, min_size=1, max_size=40))
def test_groups_add_up_to_the_total(rows: list[dict[str, Any]]) -> None:
    """Invariant: counts and sums over the groups equal the total; max of maxes is the max."""
    from genailog.ingest.frame import canonical_frame
    from genailog.pricing import price_table_from_json

    records = [
        {
            **{k: v for k, v in r.items() if k != "minute"},
            "timestamp": START + timedelta(minutes=r["minute"]),
        }
        for r in rows
    ]
    frame, _ = canonical_frame(records)
    result = summarize(
        frame, by=["model", "team"], window="1d", prices=price_table_from_json(PRICES, "test")
    )
    groups, total = result.groups, result.total
    for name in ("requests", "latency_ms_count", "cost_usd_count", "unpriced_requests"):
        assert sum(g[name] for g in groups) == total[name], name
    costs = [g["cost_usd"] for g in groups if g["cost_usd"] is not None]
    assert math.isclose(sum(costs), total["cost_usd"] or 0.0, rel_tol=REL, abs_tol=1e-12)
    maxes = [g["latency_ms_max"] for g in groups if g["latency_ms_max"] is not None]
    assert (max(maxes) if maxes else None) == total["latency_ms_max"]


def test_small_batches_and_merged_partials_give_the_same_summary(
    logs_dir: Path, by_model: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming in many batches, with partials merged as they pile up, changes nothing."""
    import genailog.analysis.summarize as module

    monkeypatch.setattr(module, "BATCH_ROWS", 97)
    monkeypatch.setattr(module, "MAX_PARTIAL_ROWS", 10)
    small = summarize(logs_dir / "calls.jsonl", by=["model"], prices=logs_dir / "prices.json")
    data = small.to_dict()
    assert data["unpriced_models"] == by_model["unpriced_models"]
    for ours, theirs in zip(data["groups"], by_model["groups"], strict=True):
        assert ours["model"] == theirs["model"]
        assert_close(ours, theirs, ours["model"], at_least=40)
    assert_close(data["total"], by_model["total"], "total", at_least=40)


def test_table_numbers_are_never_cut_on_a_narrow_terminal(tmp_path: Path) -> None:
    from genailog.cli import render

    records = [{"timestamp": "2025-12-26T10:00:12Z", "model": "gpt-4.1",
                "input_tokens": 10**9, "output_tokens": 10**9, "latency_ms": 123456789.5,
                "cost_usd": 123456.789}] * 3
    path = tmp_path / "wide.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    width = render.stdout.width
    render.stdout.width = 60
    try:
        out = CliRunner().invoke(app, ["summarize", str(path), "--by", "model"])
    finally:
        render.stdout.width = width
    assert out.exit_code == 0, out.output
    assert "gpt-4.1" in out.stdout and "1,000,000,000" in out.stdout
    assert "$370,370.3670" in out.stdout and "…" not in out.stdout.split("span:")[0]


def test_groups_list_numbers_inside_names_as_numbers(tmp_path: Path) -> None:
    """Issue 15: --by user_id listed u0, u1, u10, u100, u11 (text order)."""
    from conftest import base_record, write_jsonl

    users = [f"u{i}" for i in (10, 2, 100, 0, 1, 11)] + ["admin"]
    path = write_jsonl(tmp_path / "u.jsonl", [base_record(user_id=u) for u in users])
    data = json.loads(CliRunner().invoke(
        app, ["summarize", str(path), "--by", "user_id", "--format", "json"]).stdout)
    assert [g["user_id"] for g in data["groups"]] == [
        "admin", "u0", "u1", "u2", "u10", "u11", "u100"]


@given(st.lists(st.one_of(st.none(), st.text("ab٣0123456789", max_size=4)), max_size=8),
       st.integers(0, 1))
def test_the_digit_check_reads_few_and_many_rows_alike(values: list[str | None],
                                                      many: int) -> None:
    """natural_order's check for a digit (ASCII 0-9) reads a few rows in Python and many in
    polars: both say the same."""
    import polars as pl

    from genailog.analysis.summarize import _FEW_ROWS, _has_digit

    texts = pl.Series(values * (1 + many * _FEW_ROWS), dtype=pl.String)
    assert (texts.len() > _FEW_ROWS) == bool(many and values)
    assert _has_digit(texts) == any(c in "0123456789" for v in values if v for c in v)


@example(["9" * 5000, "1" + "0" * 5000])  # past int()'s 4,300-digit limit
@given(st.lists(st.one_of(st.none(), st.text("ab0123456789", max_size=6)), min_size=2,
                max_size=30))
def test_natural_order_sorts_the_numbers_inside_text(values: list[str | None]) -> None:
    """Reading each run of digits as a number and comparing run by run is the order."""
    import re

    import polars as pl

    from genailog.analysis.summarize import natural_order

    # what the aggregation hands over: groups sorted as text, nulls last
    frame = pl.DataFrame({"k": values}, schema={"k": pl.String}).sort("k", nulls_last=True)
    shown = natural_order(frame, ["k"])
    got = shown["k"].to_list()
    assert sorted(got, key=lambda v: v is None) == got  # nulls last
    present = [v for v in got if v is not None]

    def runs(v: str) -> list[tuple[int, int | str]]:
        return [(0, int(r)) if r.isdigit() else (1, r) for r in re.findall(r"\d+|\D+", v)]

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # the reference may convert any run of digits
    try:
        assert all(runs(a) <= runs(b) for a, b in zip(present, present[1:], strict=False))
    finally:
        sys.set_int_max_str_digits(limit)
