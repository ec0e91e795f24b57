"""The per-record cost expression over canonical columns.

A record's ``cost_usd``, when logged, is taken as reported. Otherwise, following the
OpenTelemetry GenAI convention that ``input_tokens`` includes cached tokens::

    max(input - cached - cache_write, 0) x input rate + cached x cache-read rate
      + cache_write x cache-write rate
      + max(output - reasoning, 0) x output rate + reasoning x reasoning rate

with the rates of the record's prompt-size tier (``*_above_200k_tokens``: every token of
a larger prompt is billed at the tier's rates) and the fallbacks of
:meth:`ModelPrice.levels`. This is LiteLLM's ``generic_cost_per_token`` for text tokens.
A model missing from the table gets a null cost, never $0, and is flagged so the caller
can list it.

Two equivalent forms: :func:`with_cost` prices each record (prices looked up once per
distinct model name in each batch); :func:`tier_expr`, :func:`token_sums` and
:func:`cost_from_sums` price the token sums of a group of one model and one prompt-size
tier after aggregation, which is what ``summarize`` uses since it keeps Python out of the
per-record path.
"""

from __future__ import annotations

import polars as pl

from genailog.pricing.table import PriceTable

_RATES = ("input", "output", "cache_read", "cache_write", "reasoning")


def _level_fields(levels: int) -> list[str]:
    return [f"above{i}" for i in range(1, levels)] + [
        f"{rate}{i}" for i in range(levels) for rate in _RATES
    ]


def rates_frame(models: list[str], table: PriceTable) -> pl.DataFrame:
    """One row per model name: the resolved rates of each prompt-size level, null when
    the table has no price (``above<i>`` is level i's threshold; level 0 is the base)."""
    count = table.max_tiers + 1
    columns: dict[str, list[float | None]] = {name: [] for name in _level_fields(count)}
    for name in models:
        price = table.lookup(name)
        levels = price.levels() if price is not None else []
        for i in range(count):
            above, rates = levels[i] if i < len(levels) else (None, {})
            if i:
                columns[f"above{i}"].append(above)
            for rate in _RATES:
                columns[f"{rate}{i}"].append(rates.get(rate))
    return pl.DataFrame(
        {
            "model": pl.Series(models, dtype=pl.String),
            **{name: pl.Series(values, dtype=pl.Float64) for name, values in columns.items()},
        }
    )


def _rates_for(models: pl.Series, table: PriceTable) -> pl.Series:
    """Per-record struct of level rates; null fields where the model has no price."""
    rates = rates_frame(models.unique().drop_nulls().to_list(), table)
    joined = (
        models.cast(pl.String)
        .to_frame("model")
        .join(rates, on="model", how="left", maintain_order="left")
    )
    return joined.select(pl.struct(rates.columns[1:]).alias("rates")).to_series()


def rates_expr(table: PriceTable, model: str = "model") -> pl.Expr:
    """A struct column of the per-token rates (of every prompt-size level) for each record."""
    dtype = pl.Struct(dict.fromkeys(_level_fields(table.max_tiers + 1), pl.Float64))
    return pl.col(model).map_batches(
        lambda s: _rates_for(s, table), return_dtype=dtype, is_elementwise=True
    )


def _rate(rates: pl.Expr, rate: str, levels: int) -> pl.Expr:
    """The rate of the highest level whose threshold the record's prompt exceeds."""
    expr = rates.struct.field(f"{rate}0")
    for i in range(1, levels):
        above = pl.col("input_tokens") > rates.struct.field(f"above{i}")
        expr = pl.when(above).then(rates.struct.field(f"{rate}{i}")).otherwise(expr)
    return expr


def computed_cost(rates: pl.Expr, levels: int = 1) -> pl.Expr:
    """Cost from token counts and rates; null when the price or a token count is missing.

    Token counts that contradict each other (cached above input, reasoning above output)
    never make a part negative: the uncached and non-reasoning parts stop at 0, as in
    LiteLLM; ``validate`` reports such records as invalid.
    """
    cached = pl.col("cached_input_tokens").fill_null(0)
    written = pl.col("cache_write_tokens").fill_null(0)
    reasoning = pl.col("reasoning_tokens").fill_null(0)
    uncached = (pl.col("input_tokens") - cached - written).clip(lower_bound=0)
    text_output = (pl.col("output_tokens") - reasoning).clip(lower_bound=0)
    return (
        uncached * _rate(rates, "input", levels)
        + cached * _rate(rates, "cache_read", levels)
        + written * _rate(rates, "cache_write", levels)
        + text_output * _rate(rates, "output", levels)
        + reasoning * _rate(rates, "reasoning", levels)
    )


def cost_columns(levels: int = 1) -> list[pl.Expr]:
    """``_cost`` (reported, else computed, else null) and ``_unpriced`` (no cost, no price)."""
    rates = pl.col("_rates")
    return [
        pl.coalesce(pl.col("cost_usd"), computed_cost(rates, levels)).alias("_cost"),
        (pl.col("cost_usd").is_null() & rates.struct.field("input0").is_null()).alias("_unpriced"),
    ]


def with_cost(frame: pl.LazyFrame, table: PriceTable) -> pl.LazyFrame:
    """``frame`` plus the ``_cost`` and ``_unpriced`` columns."""
    return (
        frame.with_columns(rates_expr(table).alias("_rates"))
        .with_columns(cost_columns(table.max_tiers + 1))
        .drop("_rates")
    )


TIER = "_tier"


def tier_expr(table: PriceTable) -> pl.Expr:
    """``_tier``: how many of the table's prompt-size thresholds a record's prompt exceeds.

    Records of one model and one ``_tier`` share their rates, so a group of them is priced
    from its token sums (:func:`token_sums`, :func:`cost_from_sums`) with no per-record
    Python; that is how ``summarize`` prices.
    """
    thresholds = table.thresholds
    if not thresholds:
        return pl.lit(0, dtype=pl.Int32).alias(TIER)
    tokens = pl.col("input_tokens")
    exceeded = [(tokens > above).fill_null(False).cast(pl.Int32) for above in thresholds]
    return pl.sum_horizontal(exceeded).cast(pl.Int32).alias(TIER)


def tier_rates_frame(pairs: pl.DataFrame, table: PriceTable) -> pl.DataFrame:
    """For each ``(model, _tier)`` row of ``pairs``: the resolved rates, null when unpriced."""
    thresholds = table.thresholds
    columns: dict[str, list[float | None]] = {rate: [] for rate in _RATES}
    for model, tier in pairs.select("model", TIER).iter_rows():
        price = table.lookup(model) if model is not None else None
        rates: dict[str, float] = {}
        if price is not None:
            floor = thresholds[tier - 1] if tier else None  # the prompt exceeds this one
            for above, level in price.levels():
                if above is None or (floor is not None and above <= floor):
                    rates = level
        for rate in _RATES:
            columns[rate].append(rates.get(rate))
    return pl.DataFrame(
        {
            "model": pairs["model"].cast(pl.String),
            TIER: pairs[TIER].cast(pl.Int32),
            **{rate: pl.Series(values, dtype=pl.Float64) for rate, values in columns.items()},
        }
    )


def token_sums() -> list[pl.Expr]:
    """Aggregations giving the token sums :func:`cost_from_sums` prices.

    The sums run over the records that need pricing (no reported cost, both token counts
    logged), with each record's parts clipped as in :func:`computed_cost`; cost is linear
    in them within one model and tier.
    """
    col = pl.col
    needs_price = (
        col("cost_usd").is_null() & col("input_tokens").is_not_null()
        & col("output_tokens").is_not_null()
    )  # fmt: skip
    cached = col("cached_input_tokens").fill_null(0)
    written = col("cache_write_tokens").fill_null(0)
    reasoning = col("reasoning_tokens").fill_null(0)
    uncached = (col("input_tokens") - cached - written).clip(lower_bound=0)
    text_output = (col("output_tokens") - reasoning).clip(lower_bound=0)
    return [
        uncached.filter(needs_price).sum().alias("_tok_uncached"),
        cached.filter(needs_price).sum().alias("_tok_cached"),
        written.filter(needs_price).sum().alias("_tok_written"),
        text_output.filter(needs_price).sum().alias("_tok_output"),
        reasoning.filter(needs_price).sum().alias("_tok_reasoning"),
        needs_price.sum().alias("_tok_records"),
        col("cost_usd").is_null().sum().alias("_cost_missing"),
        col("cost_usd").sum().alias("_cost_reported"),
        col("cost_usd").count().alias("cost_reported_count"),
    ]


def cost_from_sums() -> list[pl.Expr]:
    """``cost_usd``, ``cost_usd_count`` and ``unpriced_requests`` for a one-model, one-tier
    row with the columns of :func:`token_sums` and the rates of :func:`tier_rates_frame`;
    the formula is :func:`computed_cost`'s, applied to sums instead of single records."""
    col = pl.col
    priced = col("input").is_not_null()
    computed = (
        col("_tok_uncached") * col("input")
        + col("_tok_cached") * col("cache_read")
        + col("_tok_written") * col("cache_write")
        + col("_tok_output") * col("output")
        + col("_tok_reasoning") * col("reasoning")
    )
    return [
        (col("_cost_reported") + pl.when(priced).then(computed).otherwise(0.0)).alias("cost_usd"),
        (col("cost_reported_count") + pl.when(priced).then(col("_tok_records")).otherwise(0)).alias(
            "cost_usd_count"
        ),
        pl.when(priced).then(0).otherwise(col("_cost_missing")).alias("unpriced_requests"),
    ]
