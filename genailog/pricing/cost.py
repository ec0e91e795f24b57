"""The per-record cost expression over canonical columns.

A record's ``cost_usd``, when logged, is taken as reported. Otherwise, following the
OpenTelemetry GenAI convention that ``input_tokens`` includes cached tokens::

    (input - cached - cache_write) x input rate + cached x cache-read rate
      + cache_write x cache-write rate + output x output rate

where reasoning tokens are billed at the reasoning rate when the table has one (and the
record counts them). A model missing from the table gets a null cost, never $0, and is
flagged so the caller can list it.

Two equivalent forms: :func:`with_cost` prices each record (prices looked up once per
distinct model name in each batch); :func:`token_sums` and :func:`cost_from_sums` price the
token sums of a group of one model after aggregation, which is what ``summarize`` uses
since it keeps Python out of the per-record path.
"""

from __future__ import annotations

import polars as pl

from genailog.pricing.table import PriceTable

_RATES = ("input", "output", "cache_read", "cache_write", "reasoning")
_RATE_DTYPE = pl.Struct(dict.fromkeys(_RATES, pl.Float64))


def rates_frame(models: list[str], table: PriceTable) -> pl.DataFrame:
    """One row per model name: its per-token rates, null where the table has none."""
    prices = [table.lookup(name) for name in models]
    return pl.DataFrame(
        {
            "model": pl.Series(models, dtype=pl.String),
            **{
                rate: pl.Series([getattr(p, rate) if p else None for p in prices], dtype=pl.Float64)
                for rate in _RATES
            },
        }
    )


def _rates_for(models: pl.Series, table: PriceTable) -> pl.Series:
    """Per-record price struct; a null struct field means 'no such rate'."""
    rates = rates_frame(models.unique().drop_nulls().to_list(), table)
    joined = (
        models.cast(pl.String)
        .to_frame("model")
        .join(rates, on="model", how="left", maintain_order="left")
    )
    return joined.select(pl.struct(*_RATES).alias("rates")).to_series()


def rates_expr(table: PriceTable, model: str = "model") -> pl.Expr:
    """A struct column of the per-token rates for each record's model."""
    return pl.col(model).map_batches(
        lambda s: _rates_for(s, table), return_dtype=_RATE_DTYPE, is_elementwise=True
    )


def computed_cost(rates: pl.Expr) -> pl.Expr:
    """Cost from token counts and rates; null when the price or a token count is missing."""
    cached = pl.col("cached_input_tokens").fill_null(0)
    written = pl.col("cache_write_tokens").fill_null(0)
    reasoning = pl.col("reasoning_tokens").fill_null(0)
    input_rate = rates.struct.field("input")
    reasoning_rate = rates.struct.field("reasoning")
    output_rate = rates.struct.field("output")
    billed_reasoning = pl.when(reasoning_rate.is_not_null()).then(reasoning).otherwise(0)
    return (
        (pl.col("input_tokens") - cached - written) * input_rate
        + cached * rates.struct.field("cache_read").fill_null(input_rate)
        + written * rates.struct.field("cache_write").fill_null(input_rate)
        + (pl.col("output_tokens") - billed_reasoning) * output_rate
        + billed_reasoning * reasoning_rate.fill_null(output_rate)
    )


def cost_columns() -> list[pl.Expr]:
    """``_cost`` (reported, else computed, else null) and ``_unpriced`` (no cost, no price)."""
    rates = pl.col("_rates")
    return [
        pl.coalesce(pl.col("cost_usd"), computed_cost(rates)).alias("_cost"),
        (pl.col("cost_usd").is_null() & rates.struct.field("input").is_null()).alias("_unpriced"),
    ]


def with_cost(frame: pl.LazyFrame, table: PriceTable) -> pl.LazyFrame:
    """``frame`` plus the ``_cost`` and ``_unpriced`` columns."""
    return (
        frame.with_columns(rates_expr(table).alias("_rates"))
        .with_columns(cost_columns())
        .drop("_rates")
    )


def token_sums() -> list[pl.Expr]:
    """Aggregations giving the token sums :func:`cost_from_sums` prices.

    The sums run over the records that need pricing (no reported cost, both token counts
    logged). Cost is linear in them, so a group of one model is priced from its sums.
    """
    col = pl.col
    needs_price = (
        col("cost_usd").is_null() & col("input_tokens").is_not_null()
        & col("output_tokens").is_not_null()
    )  # fmt: skip
    cached = col("cached_input_tokens").fill_null(0)
    written = col("cache_write_tokens").fill_null(0)
    return [
        (col("input_tokens") - cached - written).filter(needs_price).sum().alias("_tok_uncached"),
        cached.filter(needs_price).sum().alias("_tok_cached"),
        written.filter(needs_price).sum().alias("_tok_written"),
        col("output_tokens").filter(needs_price).sum().alias("_tok_output"),
        col("reasoning_tokens").fill_null(0).filter(needs_price).sum().alias("_tok_reasoning"),
        needs_price.sum().alias("_tok_records"),
        col("cost_usd").is_null().sum().alias("_cost_missing"),
        col("cost_usd").sum().alias("_cost_reported"),
        col("cost_usd").count().alias("cost_reported_count"),
    ]


def cost_from_sums() -> list[pl.Expr]:
    """``cost_usd``, ``cost_usd_count`` and ``unpriced_requests`` for a one-model row.

    Needs the columns of :func:`token_sums` and the rates of :func:`rates_frame`; the
    formula is :func:`computed_cost`'s, applied to sums instead of single records.
    """
    col = pl.col
    priced = col("input").is_not_null()
    reasoning = pl.when(col("reasoning").is_not_null()).then(col("_tok_reasoning")).otherwise(0)
    computed = (
        col("_tok_uncached") * col("input")
        + col("_tok_cached") * col("cache_read").fill_null(col("input"))
        + col("_tok_written") * col("cache_write").fill_null(col("input"))
        + (col("_tok_output") - reasoning) * col("output")
        + reasoning * col("reasoning").fill_null(0)
    )
    return [
        (col("_cost_reported") + pl.when(priced).then(computed).otherwise(0.0)).alias("cost_usd"),
        (col("cost_reported_count") + pl.when(priced).then(col("_tok_records")).otherwise(0)).alias(
            "cost_usd_count"
        ),
        pl.when(priced).then(0).otherwise(col("_cost_missing")).alias("unpriced_requests"),
    ]
