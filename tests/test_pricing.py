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
                "model": st.sampled_from(
                    [
                        "claude-x",
                        "thinker",
                        "gpt-4o",
                        "mystery",
                        "gemini-2.5-pro",
                        "two-tiers",
                        "deepseek/deepseek-v4-pro",
                    ]
                ),  # fmt: skip
                "input_tokens": st.one_of(st.none(), st.integers(100, 4 * 10**5)),
                "cached_input_tokens": st.one_of(st.none(), st.integers(0, 50)),
                "cache_write_tokens": st.one_of(st.none(), st.integers(0, 50)),
                "output_tokens": st.integers(0, 10**4),
                "reasoning_tokens": st.one_of(st.none(), st.integers(0, 10)),
                "cost_usd": st.one_of(st.none(), st.floats(0, 1)),
                "minute": st.integers(0, 7 * 24 * 60 - 1),  # a week: peak and off-peak
            }
        ),
        min_size=1,
        max_size=30,
    )
)
def test_pricing_token_sums_equals_summing_record_costs(rows: list[dict[str, Any]]) -> None:
    """The two forms of the formula agree: per record, and per model and price keys (tier,
    off-peak) from sums."""
    from datetime import UTC, datetime, timedelta

    from genailog.pricing.cost import (
        PRICE_KEYS,
        cost_from_sums,
        price_keys,
        tier_rates_frame,
        token_parts,
        token_sums,
    )

    table = price_table_from_json({**LITELLM_SAMPLE, **TIERED, **OFF_PEAK}, "t")
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    records = [
        {**{k: v for k, v in r.items() if k != "minute"},
         "timestamp": (monday + timedelta(minutes=r["minute"])).isoformat()}
        for r in rows
    ]  # fmt: skip
    frame, _ = canonical_frame(records)
    per_record = (
        with_cost(frame.lazy(), table)
        .group_by("model")
        .agg(pl.col("_cost").sum(), pl.col("_cost").count().alias("n"), pl.col("_unpriced").sum())
        .collect()
    )
    sums = (frame.with_columns(price_keys(table)).with_columns(token_parts())
            .group_by("model", *PRICE_KEYS).agg(token_sums()))
    rates = tier_rates_frame(sums.select("model", *PRICE_KEYS), table)
    by_sums = (
        sums.join(rates, on=["model", *PRICE_KEYS])
        .with_columns(cost_from_sums())
        .group_by("model")
        .agg(pl.col("cost_usd", "cost_usd_count", "unpriced_requests").sum())
    )
    for row in per_record.iter_rows(named=True):
        other = by_sums.filter(pl.col("model") == row["model"]).row(0, named=True)
        assert math.isclose(other["cost_usd"], row["_cost"], rel_tol=1e-9, abs_tol=1e-15)
        assert other["cost_usd_count"] == row["n"]
        assert other["unpriced_requests"] == row["_unpriced"]


# --- issue 13, findings 10 and 12-16: the repro of each finding is the test's input ---

#: LiteLLM's layout: resellers' entries come before the maker's own, and some makers' names
#: exist only under a gateway (findings 12). Prices are LiteLLM 1.110.2's.
RESELLERS_FIRST: dict[str, Any] = {
    "azure/mistral-large-latest": {"input_cost_per_token": 8e-06, "output_cost_per_token": 2.4e-05,
                                   "litellm_provider": "azure"},
    "mistral/mistral-large-latest": {"input_cost_per_token": 5e-07,
                                     "output_cost_per_token": 1.5e-06,
                                     "cache_read_input_token_cost": 5e-08,
                                     "litellm_provider": "mistral"},
    "azure_ai/codestral-latest": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                  "litellm_provider": "azure_ai"},
    "mistral/codestral-latest": {"input_cost_per_token": 3e-07, "output_cost_per_token": 9e-07,
                                 "litellm_provider": "mistral"},
    "databricks/claude-3-5-haiku": {"input_cost_per_token": 1.3e-06,
                                    "output_cost_per_token": 6.5e-06,
                                    "litellm_provider": "databricks"},
    "vercel_ai_gateway/anthropic/claude-sonnet-4": {"input_cost_per_token": 3e-06,
                                                   "output_cost_per_token": 1.5e-05,
                                                   "litellm_provider": "vercel_ai_gateway"},
    "anthropic.claude-sonnet-4-20250514-v1:0": {"input_cost_per_token": 3e-06,
                                                "output_cost_per_token": 1.5e-05,
                                                "cache_read_input_token_cost": 3e-07,
                                                "litellm_provider": "bedrock_converse"},
    "deepseek-chat": {"input_cost_per_token": 2.8e-07, "output_cost_per_token": 4.2e-07,
                      "litellm_provider": "deepseek"},
    "deepseek/deepseek-chat": {"input_cost_per_token": 2.8e-07, "output_cost_per_token": 4.2e-07,
                               "cache_creation_input_token_cost": 0.0,
                               "litellm_provider": "deepseek"},
    "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": {
        "input_cost_per_token": 8.8e-07, "output_cost_per_token": 8.8e-07,
        "litellm_provider": "together_ai"},
    "together_ai/Qwen/Qwen3-8B": {"input_cost_per_token": 1e-07, "output_cost_per_token": 1e-07,
                                  "litellm_provider": "together_ai"},
    "fireworks_ai/accounts/fireworks/models/qwen3-8b": {"input_cost_per_token": 2e-07,
                                                       "output_cost_per_token": 2e-07,
                                                       "litellm_provider": "fireworks_ai"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("logged", "key"),
    [
        ("mistral-large-latest", "mistral/mistral-large-latest"),  # was Azure's, 16x the price
        ("codestral-latest", "mistral/codestral-latest"),  # was azure_ai's $0
        ("claude-3-5-haiku-20241022", None),  # only a reseller has it: unpriced, not theirs
        ("claude-sonnet-4-20250514", None),  # only a gateway has the bare name
        ("bedrock/anthropic.claude-sonnet-4-20250514-v1:0",
         "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("deepseek-chat", "deepseek/deepseek-chat"),  # the entry LiteLLM prices it from
        ("Llama-3.3-70B-Instruct-Turbo", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo",
         "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ("qwen3-8b", None),  # two hosts, two prices: ambiguous, so unpriced
        ("openrouter/mistral/codestral-latest", "mistral/codestral-latest"),  # unknown gateway
    ],
)  # fmt: skip
def test_finding_12_bare_names_resolve_to_the_makers_entry_never_a_resellers(
    logged: str, key: str | None
) -> None:
    table = price_table_from_json(RESELLERS_FIRST, "litellm")
    assert table.resolve(logged) == key
    if key is not None:
        assert table.lookup(logged) == table.prices[key]


TIERED: dict[str, Any] = {
    # gemini-2.5-pro as LiteLLM 1.110.2 prices it (the _priority/_batches keys are ignored).
    "gemini-2.5-pro": {"input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
                       "cache_read_input_token_cost": 1.25e-07,
                       "input_cost_per_token_above_200k_tokens": 2.5e-06,
                       "output_cost_per_token_above_200k_tokens": 1.5e-05,
                       "cache_read_input_token_cost_above_200k_tokens": 2.5e-07,
                       "input_cost_per_token_above_200k_tokens_priority": 4.5e-06,
                       "litellm_provider": "vertex_ai-language-models"},
    # two thresholds; the higher one sets only the input rate
    "two-tiers": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                  "input_cost_per_token_above_128k_tokens": 2e-06,
                  "output_cost_per_token_above_128k_tokens": 4e-06,
                  "input_cost_per_token_above_256k_tokens": 3e-06,
                  "output_cost_per_reasoning_token": 9e-06},
    "grok-x": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
               "input_cost_per_token_above_128k_tokens": 2e-06, "litellm_provider": "xai"},
}  # fmt: skip


def _priced(records: list[dict[str, Any]], prices: dict[str, Any]) -> list[float | None]:
    frame, _ = canonical_frame([{"timestamp": "2026-01-01T00:00:00Z", **r} for r in records])
    costs: list[float | None] = (
        with_cost(frame.lazy(), price_table_from_json(prices, "t")).collect()["_cost"].to_list()
    )
    return costs


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # at the threshold: base rates
        ({"model": "gemini-2.5-pro", "input_tokens": 200_000, "cached_input_tokens": 50_000,
          "output_tokens": 1000}, 150_000 * 1.25e-06 + 50_000 * 1.25e-07 + 1000 * 1e-05),
        # above it: every token at the tier's rates (was billed at the base rates, about -50%)
        ({"model": "gemini-2.5-pro", "input_tokens": 200_001, "cached_input_tokens": 50_000,
          "output_tokens": 1000}, 150_001 * 2.5e-06 + 50_000 * 2.5e-07 + 1000 * 1.5e-05),
        # a tier without a cache-write rate: writes at the tier's input rate
        ({"model": "gemini-2.5-pro", "input_tokens": 300_000, "cache_write_tokens": 100_000,
          "output_tokens": 0}, 300_000 * 2.5e-06),
        # the highest threshold exceeded wins, per rate; the reasoning rate is not tiered
        ({"model": "two-tiers", "input_tokens": 300_000, "output_tokens": 100,
          "reasoning_tokens": 60}, 300_000 * 3e-06 + 40 * 4e-06 + 60 * 9e-06),
        ({"model": "two-tiers", "input_tokens": 130_000, "output_tokens": 100},
         130_000 * 2e-06 + 100 * 4e-06),
        # xAI bills the tier from the threshold itself (LiteLLM's inclusive providers)
        ({"model": "grok-x", "input_tokens": 128_000, "output_tokens": 0}, 128_000 * 2e-06),
    ],
)  # fmt: skip
def test_finding_13_prices_above_a_prompt_size_threshold_apply(
    record: dict[str, Any], expected: float
) -> None:
    (cost,) = _priced([record], TIERED)
    assert cost is not None and math.isclose(cost, expected, rel_tol=1e-12)


def test_finding_13_summarize_prices_each_record_in_its_tier() -> None:
    """Token sums of one model mix tiers; summarize must still bill each record's tier."""
    from genailog.api import summarize

    records = [
        {"timestamp": "2026-01-01T00:00:00Z", "model": "gemini-2.5-pro", "input_tokens": n,
         "output_tokens": 10, "team": team}
        for n, team in ((1000, "a"), (250_000, "a"), (200_000, "b"), (400_000, "b"))
    ]  # fmt: skip
    frame, _ = canonical_frame(records)
    result = summarize(frame, by=["team"], prices=price_table_from_json(TIERED, "t"))
    base, tier = 1.25e-06, 2.5e-06  # per input token, below and above 200k
    a = 1000 * base + 10 * 1e-05 + 250_000 * tier + 10 * 1.5e-05
    b = 200_000 * base + 10 * 1e-05 + 400_000 * tier + 10 * 1.5e-05
    by_team = {g["team"]: g["cost_usd"] for g in result.groups}
    assert math.isclose(by_team["a"], a, rel_tol=1e-12)
    assert math.isclose(by_team["b"], b, rel_tol=1e-12)
    assert math.isclose(result.total["cost_usd"], a + b, rel_tol=1e-12)


def test_finding_14_fireworks_cache_reads_cost_half_the_input_rate() -> None:
    prices = {
        "fireworks_ai/accounts/fireworks/models/deepseek-v3": {
            "input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07,
            "litellm_provider": "fireworks_ai"},
        "other-host/deepseek-v3": {"input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07,
                                   "litellm_provider": "other-host"},
    }  # fmt: skip
    tokens = {"input_tokens": 10_000, "cached_input_tokens": 8_000, "output_tokens": 0}
    fireworks, other = _priced(
        [{"model": "fireworks_ai/accounts/fireworks/models/deepseek-v3", **tokens},
         {"model": "other-host/deepseek-v3", **tokens}],
        prices,
    )  # fmt: skip
    assert fireworks is not None and math.isclose(fireworks, 2000 * 9e-07 + 8000 * 4.5e-07)
    assert other is not None and math.isclose(other, 10_000 * 9e-07)  # no discount elsewhere


@pytest.mark.parametrize(
    ("logged", "key"),
    [
        ("anthropic.claude-sonnet-4-5-20250929-v1:0",
         "anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("bedrock/anthropic.claude-sonnet-4-20250514-v1:0",
         "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0",
         "us.anthropic.claude-sonnet-4-20250514-v1:0"),
        ("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
         "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("vertex_ai/meta/llama-3.3-70b-instruct-maas",
         "vertex_ai/meta/llama-3.3-70b-instruct-maas"),
        ("vertex_ai/claude-sonnet-4-5@20250929", "vertex_ai/claude-sonnet-4-5@20250929"),
        ("deepseek/deepseek-chat", "deepseek/deepseek-chat"),
        ("deepseek-chat", "deepseek/deepseek-chat"),
        ("gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro"),
        ("fireworks_ai/accounts/fireworks/models/deepseek-v3",
         "fireworks_ai/accounts/fireworks/models/deepseek-v3"),
    ],
)  # fmt: skip
def test_finding_15_the_bundled_table_prices_cloud_ids_as_litellm_does(
    logged: str, key: str
) -> None:
    table = default_prices()
    assert table.resolve(logged) == key
    bundled = json.loads(
        (Path(__file__).parents[1] / "genailog/pricing/default_prices.json").read_text()
    )
    assert bundled[key]["litellm_provider"]  # copied from LiteLLM, not invented


def test_finding_15_bundled_tiers_are_kept() -> None:
    sonnet_4 = default_prices().lookup("bedrock/anthropic.claude-sonnet-4-20250514-v1:0")
    assert sonnet_4 is not None and [t.above for t in sonnet_4.tiers] == [200_000]
    assert sonnet_4.tiers[0].input == 6e-06


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "model": st.sampled_from(["claude-x", "thinker", "gpt-4o", "gemini-2.5-pro"]),
            "input_tokens": st.integers(0, 400_000),
            "cached_input_tokens": st.integers(0, 400_000),
            "cache_write_tokens": st.integers(0, 400_000),
            "output_tokens": st.integers(0, 10_000),
            "reasoning_tokens": st.integers(0, 10_000),
        }
    )
)
def test_finding_16_cost_is_never_negative(record: dict[str, Any]) -> None:
    """Inconsistent counts (cached or written above input, reasoning above output) are for
    validate to reject; priced anyway by a library caller, they never bill negatively."""
    (cost,) = _priced([record], {**LITELLM_SAMPLE, **TIERED})
    assert cost is not None and cost >= 0


def test_finding_16_more_cached_than_input_bills_the_cached_part_only() -> None:
    (cost,) = _priced(
        [{"model": "gpt-4o", "input_tokens": 100, "cached_input_tokens": 5000, "output_tokens": 0}],
        LITELLM_SAMPLE,
    )
    assert cost is not None and math.isclose(cost, 5000 * 1.25e-06)  # was -0.00615


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_finding_10_non_finite_prices_are_rejected_at_load_naming_the_entry(
    tmp_path: Path, bad: str
) -> None:
    from typer.testing import CliRunner

    from genailog.cli.app import app

    prices = tmp_path / "prices.json"
    prices.write_text(
        '{"gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},'
        f' "weird-model": {{"input_cost_per_token": 1e-06, "output_cost_per_token": {bad}}}}}'
    )
    with pytest.raises(InputError, match=r"weird-model.*output_cost_per_token.*finite"):
        load_prices(prices)
    logs = tmp_path / "calls.jsonl"
    logs.write_text(
        '{"timestamp": "2026-01-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 1, '
        '"output_tokens": 1}\n'
    )
    out = CliRunner().invoke(
        app, ["summarize", str(logs), "--prices", str(prices), "--format", "json"]
    )
    assert out.exit_code == 3, out.output
    assert "weird-model" in out.output


OFF_PEAK: dict[str, Any] = {
    # deepseek/deepseek-v4-pro as LiteLLM 1.110.2 prices it
    "deepseek/deepseek-v4-pro": {
        "input_cost_per_token": 1.74e-06, "output_cost_per_token": 3.48e-06,
        "cache_read_input_token_cost": 1.45e-07, "litellm_provider": "deepseek",
        "off_peak_pricing": {
            "cache_read_input_token_cost": 2.2e-08, "input_cost_per_token": 6.6e-07,
            "output_cost_per_token": 1.98e-06,
            "windows": [{"hours_utc": ["00:00-01:00", "04:00-06:00", "10:00-00:00"],
                         "weekdays": [1, 2, 3, 4, 5]},
                        {"hours_utc": "00:00-00:00", "weekdays": [6, 7]}]}},
    # weekdays read on Shanghai's calendar: Friday 17:00 UTC is Saturday there
    "tencent/x": {
        "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
        "litellm_provider": "tencent",
        "off_peak_pricing": {"input_cost_per_token": 5e-07, "weekday_timezone": "Asia/Shanghai",
                             "windows": [{"hours_utc": "00:00-00:00", "weekdays": [6, 7]}]}},
}  # fmt: skip


@pytest.mark.parametrize(
    ("model", "timestamp", "off_peak"),
    [
        ("deepseek/deepseek-v4-pro", "2026-11-25T08:00:00Z", False),  # Wednesday, peak
        ("deepseek/deepseek-v4-pro", "2026-11-25T09:59:59Z", False),
        ("deepseek/deepseek-v4-pro", "2026-11-25T10:00:00Z", True),  # a window opens
        ("deepseek/deepseek-v4-pro", "2026-11-25T00:59:00Z", True),
        ("deepseek/deepseek-v4-pro", "2026-11-25T01:00:00Z", False),  # end is exclusive
        ("deepseek/deepseek-v4-pro", "2026-11-28T08:00:00Z", True),  # Saturday
        ("deepseek/deepseek-v4-pro", "2026-11-25T07:30:00+02:00", True),  # 05:30 UTC
        ("deepseek/deepseek-v4-pro", "2026-11-25T08:00:00+02:00", False),  # 06:00 UTC
        ("tencent/x", "2026-11-27T17:00:00Z", True),  # Friday UTC, Saturday in Shanghai
        ("tencent/x", "2026-11-29T17:00:00Z", False),  # Sunday UTC, Monday in Shanghai
    ],
)
def test_off_peak_prices_apply_by_the_records_timestamp(
    model: str, timestamp: str, off_peak: bool
) -> None:
    record = {"model": model, "timestamp": timestamp, "input_tokens": 1000,
              "cached_input_tokens": 400, "output_tokens": 100}  # fmt: skip
    price = price_table_from_json(OFF_PEAK, "t").prices[model]
    rates = price.rates(None, off_peak)
    expected = 600 * rates["input"] + 400 * rates["cache_read"] + 100 * rates["output"]
    frame, _ = canonical_frame([record])
    (cost,) = with_cost(frame.lazy(), price_table_from_json(OFF_PEAK, "t")).collect()["_cost"]
    assert math.isclose(cost, expected, rel_tol=1e-12)
    assert price.rates(None, True) != price.rates(None, False)


def test_summarize_bills_peak_and_off_peak_records_of_one_model_apart() -> None:
    from genailog.api import summarize

    records = [
        {"model": "deepseek/deepseek-v4-pro", "timestamp": stamp, "input_tokens": 1000,
         "output_tokens": 100}
        for stamp in ("2026-11-25T08:00:00Z", "2026-11-28T08:00:00Z", "2026-11-25T08:30:00Z")
    ]  # fmt: skip
    frame, _ = canonical_frame(records)
    result = summarize(frame, by=["model"], prices=price_table_from_json(OFF_PEAK, "t"))
    peak, night = 1000 * 1.74e-06 + 100 * 3.48e-06, 1000 * 6.6e-07 + 100 * 1.98e-06
    assert math.isclose(result.total["cost_usd"], 2 * peak + night, rel_tol=1e-12)
