"""The per-record cost expression over canonical columns.

A record's ``cost_usd``, when logged, is taken as reported. Otherwise, following the
OpenTelemetry GenAI convention that ``input_tokens`` includes cached tokens::

    max(input - cached - cache_write, 0) x input rate + cached x cache-read rate
      + cache_write x cache-write rate
      + max(output - reasoning, 0) x output rate + reasoning x reasoning rate

with the rates of the record's prompt-size tier (``*_above_200k_tokens``: every token of
a larger prompt is billed at the tier's rates) and, for models with time-of-day prices,
of the record's timestamp (:meth:`ModelPrice.rates`). This is LiteLLM's
``generic_cost_per_token`` for text tokens. A model missing from the table gets a null
cost, never $0, and is flagged so the caller can list it.

Records of one model with the same *price keys* (:func:`price_keys`: the prompt-size tier
and the off-peak flags, both plain expressions) share their rates. Two equivalent forms
follow: :func:`with_cost` prices each record (rates looked up once per distinct model and
keys in each batch); :func:`token_parts`, :func:`token_sums` and :func:`cost_from_sums`
price the token sums of a group of one model and one set of keys after aggregation, which
is what ``summarize`` uses since it keeps Python out of the per-record path.
"""

from __future__ import annotations

import functools

import polars as pl

from genailog.pricing.table import OffPeakWindow, PriceTable

_RATES = ("input", "output", "cache_read", "cache_write", "reasoning")
_RATE_DTYPE = pl.Struct(dict.fromkeys(_RATES, pl.Float64))
#: How many of the table's prompt-size thresholds a record's prompt exceeds.
TIER = "_tier"
#: Bit i set when the record's timestamp is inside the table's off-peak schedule i.
OFF_PEAK = "_off_peak"
PRICE_KEYS = (TIER, OFF_PEAK)


def tier_expr(table: PriceTable) -> pl.Expr:
    """``_tier``: how many of the table's prompt-size thresholds the prompt exceeds."""
    thresholds = table.thresholds
    if not thresholds:
        return pl.lit(0, dtype=pl.Int32).alias(TIER)
    tokens = pl.col("input_tokens")
    exceeded = [(tokens > above).fill_null(False).cast(pl.Int32) for above in thresholds]
    return pl.sum_horizontal(exceeded).cast(pl.Int32).alias(TIER)


def _in_window(window: OffPeakWindow, zone: str | None) -> pl.Expr:
    stamp = pl.col("timestamp")
    # minute of the UTC day and ISO weekday by integer arithmetic on the epoch (1970-01-01
    # was a Thursday): 3x faster than dt.hour/minute/weekday, equal for UTC timestamps
    epoch = stamp.dt.epoch("us")
    minutes = ((epoch // 60_000_000) % 1440).cast(pl.Int32)
    inside = pl.lit(False)
    for start, end in window.spans:
        if start < end:
            inside = inside | ((minutes >= start) & (minutes < end))
        elif start == end:
            inside = pl.lit(True)  # the whole day
        else:
            inside = inside | (minutes >= start) | (minutes < end)
    if window.weekdays is not None:
        weekday = ((epoch // 86_400_000_000 + 3) % 7 + 1).cast(pl.Int8)
        if zone:
            weekday = stamp.dt.convert_time_zone(zone).dt.weekday()
        inside = inside & weekday.is_in(sorted(window.weekdays))
    return inside


Schedules = tuple[tuple[tuple[OffPeakWindow, ...], str | None], ...]
#: Minutes in a week, and the first minute of a Monday (1970-01-05 00:00 UTC).
_WEEK = 7 * 1440
_MONDAY_MINUTE = 4 * 1440


def off_peak_expr(table: PriceTable) -> pl.Expr:
    """``_off_peak``: a bit per off-peak schedule of the table, set when the record's
    timestamp (taken as UTC, as LiteLLM takes its billing time) is inside it.

    Without a time zone the bits depend only on the minute of the UTC week, so they are
    read from a table of the 10,080 minutes of a week, computed once by
    :func:`off_peak_rule` (same bits, about 5x less CPU per record); a schedule with a
    zone (weekday in local time, daylight saving) keeps the rule itself.
    """
    schedules: Schedules = tuple(table.schedules)
    if not schedules:
        return pl.lit(0, dtype=pl.Int32).alias(OFF_PEAK)
    if any(zone for _, zone in schedules):
        return off_peak_rule(schedules)
    bits, if_null = _week_bits(schedules)
    minute = (pl.col("timestamp").dt.epoch("us") // 60_000_000 - _MONDAY_MINUTE) % _WEEK
    return pl.lit(bits).gather(minute).fill_null(if_null).cast(pl.Int32).alias(OFF_PEAK)


@functools.cache
def _week_bits(schedules: Schedules) -> tuple[pl.Series, int]:
    """:func:`off_peak_rule` at each minute of the UTC week from a Monday, and its value
    for a null timestamp (set by a window of whole days on every weekday, as the rule's
    null logic gives). Worked out here from the windows: evaluating the rule over the
    week's minutes took 6-8 ms of a command's start, most of it polars setting up its
    first datetime query (tests/test_offpeak.py holds the two to the same bits)."""
    bits = [0] * _WEEK
    if_null = 0
    for bit, (windows, _) in enumerate(schedules):  # no zone: the table is not read else
        for window in windows:
            days = range(7) if window.weekdays is None else [d - 1 for d in window.weekdays]
            for start, end in window.spans:
                whole_day = start == end
                spans = ([(0, 1440)] if whole_day else [(start, end)] if start < end
                         else [(start, 1440), (0, end)])
                for day in days:
                    for first, stop in spans:
                        for minute in range(day * 1440 + first, day * 1440 + stop):
                            bits[minute] |= 1 << bit
                if whole_day and window.weekdays is None:
                    if_null |= 1 << bit
    return pl.Series(OFF_PEAK, bits, dtype=pl.Int32), if_null


def off_peak_rule(schedules: Schedules) -> pl.Expr:
    """:func:`off_peak_expr` computed from each record's timestamp by the schedules' rule."""
    flags: list[pl.Expr] = []
    for bit, (windows, zone) in enumerate(schedules):
        inside = pl.lit(False)
        for window in windows:
            inside = inside | _in_window(window, zone)
        flags.append(inside.fill_null(False).cast(pl.Int32) * (1 << bit))
    if not flags:
        return pl.lit(0, dtype=pl.Int32).alias(OFF_PEAK)
    return pl.sum_horizontal(flags).cast(pl.Int32).alias(OFF_PEAK)


def price_keys(table: PriceTable) -> list[pl.Expr]:
    """The columns that, with the model, decide a record's rates."""
    return [tier_expr(table), off_peak_expr(table)]


def tier_rates_frame(keys: pl.DataFrame, table: PriceTable) -> pl.DataFrame:
    """For each ``(model, _tier, _off_peak)`` row of ``keys``: the resolved rates, null
    when the model is unpriced."""
    thresholds, schedules = table.thresholds, table.schedules
    columns: dict[str, list[float | None]] = {rate: [] for rate in _RATES}
    for model, tier, mask in keys.select("model", *PRICE_KEYS).iter_rows():
        price = table.lookup(model) if model is not None else None
        rates: dict[str, float] = {}
        if price is not None:
            off_peak = price.off_peak is not None and bool(
                (mask or 0) >> schedules.index(price.off_peak.schedule) & 1
            )
            rates = price.rates(thresholds[tier - 1] if tier else None, off_peak)
        for rate in _RATES:
            columns[rate].append(rates.get(rate))
    return pl.DataFrame(
        {
            "model": keys["model"].cast(pl.String),
            **{key: keys[key].cast(pl.Int32) for key in PRICE_KEYS},
            **{rate: pl.Series(values, dtype=pl.Float64) for rate, values in columns.items()},
        }
    )


def _rates_for(keys: pl.Series, table: PriceTable) -> pl.Series:
    """Per-record struct of rates; null fields where the model has no price."""
    frame = keys.struct.unnest().with_columns(pl.col("model").cast(pl.String))
    rates = tier_rates_frame(frame.unique(), table)
    joined = frame.join(rates, on=["model", *PRICE_KEYS], how="left", maintain_order="left")
    return joined.select(pl.struct(*_RATES).alias("rates")).to_series()


def rates_expr(table: PriceTable) -> pl.Expr:
    """A struct column of each record's per-token rates (needs :func:`price_keys`)."""
    return pl.struct("model", *PRICE_KEYS).map_batches(
        lambda s: _rates_for(s, table), return_dtype=_RATE_DTYPE, is_elementwise=True
    )


def computed_cost(rates: pl.Expr) -> pl.Expr:
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
    rate = rates.struct.field
    return (
        uncached * rate("input")
        + cached * rate("cache_read")
        + written * rate("cache_write")
        + text_output * rate("output")
        + reasoning * rate("reasoning")
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
        frame.with_columns(price_keys(table))
        .with_columns(rates_expr(table).alias("_rates"))
        .with_columns(cost_columns())
        .drop("_rates", *PRICE_KEYS)
    )


_TOKEN_PARTS = ("_tok_uncached", "_tok_cached", "_tok_written", "_tok_output", "_tok_reasoning")


def token_parts() -> list[pl.Expr]:
    """Per record: the token counts :func:`token_sums` adds, each null unless the record
    needs pricing (no reported cost, both token counts logged), with each record's parts
    clipped as in :func:`computed_cost`. Computed before the group-by, so the group-by
    runs plain sums (about twice as fast as filtered sums per group)."""
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
    parts = (uncached, cached, written, text_output, reasoning)
    return [
        *(pl.when(needs_price).then(part).alias(name)
          for part, name in zip(parts, _TOKEN_PARTS, strict=True)),
        needs_price.alias("_tok_records"),
    ]


def token_sums() -> list[pl.Expr]:
    """Aggregations giving the token sums :func:`cost_from_sums` prices, over the columns
    of :func:`token_parts`; cost is linear in them within one model and one set of price
    keys."""
    col = pl.col
    return [
        *(col(name).sum() for name in _TOKEN_PARTS),
        col("_tok_records").sum(),
        col("cost_usd").is_null().sum().alias("_cost_missing"),
        col("cost_usd").sum().alias("_cost_reported"),
        col("cost_usd").count().alias("cost_reported_count"),
    ]


def cost_from_sums() -> list[pl.Expr]:
    """``cost_usd``, ``cost_usd_count`` and ``unpriced_requests`` for a row of one model and
    one set of price keys, with the columns of :func:`token_sums` and the rates of
    :func:`tier_rates_frame`; :func:`computed_cost`'s formula applied to sums."""
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
