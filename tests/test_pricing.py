"""Price tables, model-name matching and the per-record cost expression."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genailog.errors import InputError
from genailog.ingest.frame import canonical_frame
from genailog.pricing import (
    ModelPrice,
    default_prices,
    load_prices,
    price_table_from_json,
    with_cost,
)

LITELLM_SAMPLE: dict[str, Any] = {
    "sample_spec": {"max_tokens": "LEGACY parameter", "input_cost_per_token": 0.0},
    "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
               "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai",
               "mode": "chat"},
    "gpt-4o-2024-05-13": {"input_cost_per_token": 5e-06, "output_cost_per_token": 1.5e-05},
    "mistral/mistral-large-latest": {"input_cost_per_token": 5e-07,
                                     "output_cost_per_token": 1.5e-06},
    "dall-e-3": {"output_cost_per_image": 0.04, "mode": "image_generation"},
    "claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                 "cache_read_input_token_cost": 3e-07,
                 "cache_creation_input_token_cost": 3.75e-06},
    "thinker": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                "output_cost_per_reasoning_token": 5e-06},
}  # fmt: skip


@pytest.fixture
def table_path(tmp_path: Path) -> Path:
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps(LITELLM_SAMPLE))
    return path


def test_litellm_file_loads_token_priced_entries_only(table_path: Path) -> None:
    table = load_prices(table_path)
    assert set(table.prices) == {
        "sample_spec",
        "gpt-4o",
        "gpt-4o-2024-05-13",
        "mistral/mistral-large-latest",
        "claude-x",
        "thinker",
    }
    assert table.prices["claude-x"] == ModelPrice(3e-06, 1.5e-05, 3e-07, 3.75e-06, None)
    assert table.source == str(table_path)


@pytest.mark.parametrize(
    ("logged", "expected_input"),
    [
        ("gpt-4o", 2.5e-06),  # exact
        ("openai/gpt-4o", 2.5e-06),  # provider prefix removed
        ("gpt-4o-2024-08-06", 2.5e-06),  # dated snapshot removed
        ("azure/gpt-4o-2024-11-20", 2.5e-06),  # both
        ("gpt-4o-2024-05-13", 5e-06),  # an exact snapshot wins over the stripped name
        ("mistral-large-latest", 5e-07),  # a prefixed table key reached by its bare name
        ("claude-x-20250514", 3e-06),  # compact date suffix
        ("claude-x@20250514", 3e-06),  # Vertex-style suffix
    ],
)
def test_model_names_match_as_logs_spell_them(
    table_path: Path, logged: str, expected_input: float
) -> None:
    price = load_prices(table_path).lookup(logged)
    assert price is not None, logged
    assert price.input == expected_input


def test_unknown_model_has_no_price(table_path: Path) -> None:
    assert load_prices(table_path).lookup("mystery-model") is None
    assert load_prices(table_path).lookup("gpt-4o-mini") is None  # no prefix matching


def test_bad_price_files_are_input_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_prices(bad_json)
    with pytest.raises(InputError, match="cannot read"):
        load_prices(tmp_path / "missing.json")
    with pytest.raises(InputError, match="non-negative"):
        price_table_from_json({"m": {"input_cost_per_token": -1}}, "x")
    with pytest.raises(InputError, match="JSON object"):
        price_table_from_json([1, 2], "x")


def test_bundled_table_is_dated_and_covers_the_major_providers() -> None:
    table = default_prices()
    assert table.as_of is not None and table.as_of[:4] == "2026"
    assert "LiteLLM" in table.source
    for logged in (
        "gpt-4.1",
        "openai/gpt-4.1-2025-04-14",
        "gpt-4o-mini",
        "o3",
        "claude-sonnet-4-5",
        "claude-haiku-4-5-20251001",
        "gemini-2.5-pro",
        "gemini/gemini-2.5-flash",
        "mistral-large-latest",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    ):
        assert table.lookup(logged) is not None, logged
    assert table.lookup("gpt-4.1").input == 2e-06  # type: ignore[union-attr]


def _costs(records: list[dict[str, Any]], table_path: Path) -> pl.DataFrame:
    frame, _ = canonical_frame(records)
    return with_cost(frame.lazy(), load_prices(table_path)).collect()


def test_cost_follows_the_cached_token_formula(table_path: Path) -> None:
    base = {"timestamp": "2026-01-01T00:00:00Z"}
    records = [
        {
            **base,
            "model": "claude-x",
            "input_tokens": 1000,
            "cached_input_tokens": 600,
            "cache_write_tokens": 100,
            "output_tokens": 50,
        },
        {
            **base,
            "model": "gpt-4o",
            "input_tokens": 1000,
            "cached_input_tokens": 400,
            "output_tokens": 10,
            "cache_write_tokens": 20,
        },  # no write rate: input rate
        {
            **base,
            "model": "thinker",
            "input_tokens": 10,
            "output_tokens": 100,
            "reasoning_tokens": 70,
        },
        {
            **base,
            "model": "mistral-large-latest",
            "input_tokens": 10,
            "output_tokens": 100,
            "reasoning_tokens": 70,
        },  # no reasoning rate: all output at the output rate
        {**base, "model": "gpt-4o", "input_tokens": 5, "output_tokens": 5, "cost_usd": 0.25},
        {**base, "model": "mystery", "input_tokens": 5, "output_tokens": 5},
        {**base, "model": "mystery", "input_tokens": 5, "output_tokens": 5, "cost_usd": 0.5},
        {**base, "model": "gpt-4o", "output_tokens": 5},  # priced model, tokens missing
    ]
    out = _costs(records, table_path)
    expected = [
        300 * 3e-06 + 600 * 3e-07 + 100 * 3.75e-06 + 50 * 1.5e-05,
        580 * 2.5e-06 + 400 * 1.25e-06 + 20 * 2.5e-06 + 10 * 1e-05,
        10 * 1e-06 + 30 * 2e-06 + 70 * 5e-06,
        10 * 5e-07 + 100 * 1.5e-06,
        0.25, None, 0.5, None,
    ]  # fmt: skip
    for got, want in zip(out["_cost"].to_list(), expected, strict=True):
        assert (got is None and want is None) or math.isclose(got, want, rel_tol=1e-12)
    assert out["_unpriced"].to_list() == [False] * 5 + [True, False, False]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)),
        min_size=1,
        max_size=20,
    )
)
def test_computed_cost_is_additive_in_its_token_parts(rows: list[tuple[int, int, int]]) -> None:
    """Invariant: cost(input, cached, output) = uncached + cached + output parts, each >= 0."""
    table = price_table_from_json(LITELLM_SAMPLE, "t")
    records = [
        {
            "timestamp": "2026-01-01T00:00:00Z",
            "model": "gpt-4o",
            "input_tokens": i + c,
            "cached_input_tokens": c,
            "output_tokens": o,
        }
        for i, c, o in rows
    ]
    frame, _ = canonical_frame(records)
    costs = with_cost(frame.lazy(), table).collect()["_cost"].to_list()
    for (i, c, o), cost in zip(rows, costs, strict=True):
        assert math.isclose(cost, i * 2.5e-06 + c * 1.25e-06 + o * 1e-05, rel_tol=1e-12)
        assert cost >= 0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "model": st.sampled_from(["claude-x", "thinker", "gpt-4o", "mystery"]),
                "input_tokens": st.one_of(st.none(), st.integers(100, 10**5)),
                "cached_input_tokens": st.one_of(st.none(), st.integers(0, 50)),
                "cache_write_tokens": st.one_of(st.none(), st.integers(0, 50)),
                "output_tokens": st.integers(0, 10**4),
                "reasoning_tokens": st.one_of(st.none(), st.integers(0, 10)),
                "cost_usd": st.one_of(st.none(), st.floats(0, 1)),
            }
        ),
        min_size=1,
        max_size=30,
    )
)
def test_pricing_token_sums_equals_summing_record_costs(rows: list[dict[str, Any]]) -> None:
    """The two forms of the formula agree: per record, and per model and tier from sums."""
    from genailog.pricing.cost import TIER, cost_from_sums, tier_expr, tier_rates_frame, token_sums

    table = price_table_from_json(LITELLM_SAMPLE, "t")
    records = [{"timestamp": "2026-01-01T00:00:00Z", **r} for r in rows]
    frame, _ = canonical_frame(records)
    per_record = (
        with_cost(frame.lazy(), table)
        .group_by("model")
        .agg(pl.col("_cost").sum(), pl.col("_cost").count().alias("n"), pl.col("_unpriced").sum())
        .collect()
    )
    sums = frame.with_columns(tier_expr(table)).group_by("model", TIER).agg(token_sums())
    rates = tier_rates_frame(sums.select("model", TIER), table)
    by_sums = (
        sums.join(rates, on=["model", TIER])
        .with_columns(cost_from_sums())
        .group_by("model")
        .agg(pl.col("cost_usd", "cost_usd_count", "unpriced_requests").sum())
    )
    for row in per_record.iter_rows(named=True):
        other = by_sums.filter(pl.col("model") == row["model"]).row(0, named=True)
        assert math.isclose(other["cost_usd"], row["_cost"], rel_tol=1e-9, abs_tol=1e-15)
        assert other["cost_usd_count"] == row["n"]
        assert other["unpriced_requests"] == row["_unpriced"]
