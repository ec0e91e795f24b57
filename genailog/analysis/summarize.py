"""Cost, latency, token and quality summaries of logged LLM calls, per group and in total.

The records are read once (:func:`stage`), batch by batch, into mergeable partials per
finest group (sums, counts, extremes, and the latency/TTFT values that exact percentiles
need, or their DDSketch buckets with ``quantiles="sketch"``). The group rows and the total
row are then finished from that small frame with the same merge expressions
(:func:`finish`), so the total never needs a second pass. The partial frame is what
:class:`genailog.analysis.partials.SummaryPartial` carries, writes and merges;
:func:`stage_many` gives several groupings from one read (``genailog report``).

Rules the numbers follow (docs/summarize.md):

- percentiles use linear interpolation (numpy's default, DuckDB's ``quantile_cont``);
- a rate, mean or sum over a field that some records lack counts only the records that
  have it, and ``<metric>_count`` says how many that was (null when none had it);
- cost is ``cost_usd`` as reported, else priced from tokens (genailog.pricing); records of
  a model missing from the price table get no cost and are counted in ``unpriced_requests``
  and ``unpriced_models``, never priced at $0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from genailog.analysis import sketch
from genailog.analysis.gates import (
    GatePolicy,
    GateResult,
    check_gate_expressions,
    evaluate_gates,
)
from genailog.analysis.weighting import needs_weighting, sampling_note, weighted
from genailog.errors import UsageError
from genailog.pricing import PriceTable, default_prices, load_prices
from genailog.pricing.cost import (
    PRICE_KEYS,
    cost_from_sums,
    price_keys,
    tier_rates_frame,
    token_parts,
    token_sums,
)
from genailog.query.filters import apply_filters, check_where
from genailog.schema.rules import check_window, is_error, utc_text

if TYPE_CHECKING:
    from genailog.analysis.partials import SummaryPartial
    from genailog.ingest import Logs

PERCENTILES = (50, 90, 95, 99)
WINDOW_KEY = "window"
_TOTAL = "_total"
#: Rows per streamed batch, and how many partial rows to gather before merging them.
BATCH_ROWS = 250_000
MAX_PARTIAL_ROWS = 200_000


_SUMS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
         "reasoning_tokens", "retries")  # fmt: skip
_TIMED = ("latency_ms", "ttft_ms")
_FLAGS = (("hallucination_flag", "hallucination_rate"), ("refusal", "refusal_rate"))
_EXTREMES = {"first_timestamp": "min", "last_timestamp": "max",
             **{f"{c}_max": "max" for c in _TIMED}}  # fmt: skip


#: How percentiles are computed: every value kept (exact), or DDSketch buckets (sketch).
QUANTILE_MODES = ("exact", "sketch")


def _record_columns(quantiles: str) -> list[pl.Expr]:
    """Per record, before the group-by: the parts the partials add up, so the group-by runs
    plain sums and counts (filtered sums per group are about twice as slow)."""
    col = pl.col
    both = col("input_tokens").is_not_null() & col("cached_input_tokens").is_not_null()
    keys = ([sketch.bucket_key(col(c)).alias(f"_{c}_key") for c in _TIMED]
            if quantiles == "sketch" else [])
    return [
        *token_parts(),
        is_error().alias("_error"),
        pl.when(both).then(col("input_tokens")).alias("_cache_base"),
        pl.when(both).then(col("cached_input_tokens")).alias("_cache_hits"),
        both.alias("_cache_both"),
        *keys,
    ]


def _timed_partials(column: str, quantiles: str) -> list[pl.Expr]:
    col = pl.col(column)
    kept = (
        col.drop_nulls().alias(f"_{column}_values")  # exact percentiles need the values
        if quantiles == "exact"
        else sketch.bucket_counts(pl.col(f"_{column}_key")).alias(f"_{column}_sketch")
    )
    return [
        kept,
        col.max().alias(f"{column}_max"),
        col.sum().alias(f"_{column}_sum"),
        col.count().alias(f"{column}_count"),
    ]


def _partials(quantiles: str = "exact") -> list[pl.Expr]:
    """Stage 1, over the records of each group (with :func:`_record_columns`): sums,
    counts, extremes, and the value lists (or sketches) of latency and TTFT."""
    col = pl.col
    return [
        pl.len().cast(pl.Int64).alias("requests"),
        col("_error").sum().alias("errors"),
        *(col(name).sum().alias(name) for name in _SUMS),
        *(col(name).count().alias(f"{name}_count") for name in _SUMS),
        col("_cache_base").sum(),
        col("_cache_hits").sum(),
        col("_cache_both").sum().alias("cache_hit_ratio_count"),
        *token_sums(),
        *(expr for column in _TIMED for expr in _timed_partials(column, quantiles)),
        *(col(flag).sum().alias(f"_{rate}_true") for flag, rate in _FLAGS),
        *(col(flag).count().alias(f"{rate}_count") for flag, rate in _FLAGS),
        col("feedback_rating").sum().alias("_feedback_sum"),
        col("feedback_rating").count().alias("feedback_count"),
        col("timestamp").min().alias("first_timestamp"),
        col("timestamp").max().alias("last_timestamp"),
    ]


def partial_exprs(keep: frozenset[str] | None = None,
                  quantiles: str = "exact") -> list[pl.Expr]:
    """Stage 1's aggregations (:func:`_partials`), only those named in ``keep`` when given,
    in order (what :func:`stage_many`'s ``only`` keeps)."""
    return [e for e in _partials(quantiles) if keep is None or e.meta.output_name() in keep]


def partial_columns(quantiles: str = "exact") -> list[str]:
    """The names of the partial columns stage 1 computes per group, in order."""
    return [e.meta.output_name() for e in _partials(quantiles)]


def _merged(columns: list[str], *, grouped: bool) -> list[pl.Expr]:
    """Stage 2: partial rows combined, per group (``grouped``) or into one total row.
    Sketch buckets are concatenated here; :func:`_dedup_sketches` adds equal buckets."""
    merged = []
    for name in columns:
        if name.endswith(("_values", "_sketch")):  # a group_by gathers them into a list
            values = pl.col(name).explode().drop_nulls()
            merged.append((values if grouped else values.implode()).alias(name))
        elif name.startswith(_RATE):  # one model and one set of price keys: equal rates
            merged.append(pl.col(name).first())
        else:
            merged.append(getattr(pl.col(name), _EXTREMES.get(name, "sum"))().alias(name))
    return merged


def sketch_columns(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    return [c for c in frame.collect_schema().names() if c.endswith("_sketch")]


def _dedup_sketches(frame: pl.DataFrame) -> pl.DataFrame:
    """Each row's sketch with equal buckets added and sorted by key (rows whose lists were
    concatenated by :func:`_merged`); a sketch with no value is null."""
    names = sketch_columns(frame)
    if not names:  # exact mode: the frame as it is (1-1.5 ms of a 1M-record summary)
        return frame
    out = frame.with_row_index("_row")
    for name in names:
        buckets = (
            out.select("_row", name).explode(name).unnest(name).drop_nulls(sketch.KEY)
            .group_by("_row", sketch.KEY).agg(pl.col(sketch.COUNT).sum().cast(pl.Int64))
            .sort("_row", sketch.KEY)
            .group_by("_row", maintain_order=True)
            .agg(pl.struct(sketch.KEY, sketch.COUNT).alias(name))
        )  # fmt: skip
        out = out.drop(name).join(buckets, on="_row", how="left", maintain_order="left")
    return out.drop("_row").select(frame.columns)


def _percentiles(quantiles: str) -> list[pl.Expr]:
    if quantiles != "exact":
        return []  # sketch quantiles: _sketch_percentiles, from the buckets
    return [
        pl.col(f"_{column}_values")
        .list.eval(pl.element().quantile(p / 100, "linear"))
        .list.first()
        .alias(f"{column}_p{p}")
        for column in _TIMED
        for p in PERCENTILES
    ]


def _flat_percentiles() -> list[pl.Expr]:
    """The exact percentiles over every value of a partial frame (the total row): the
    lists exploded, nulls dropped (the same quickselect and interpolation as
    :func:`_percentiles` on one list)."""
    return [
        pl.col(f"_{column}_values").explode().drop_nulls().quantile(p / 100, "linear")
        .alias(f"{column}_p{p}")
        for column in _TIMED
        for p in PERCENTILES
    ]


def _sketch_percentiles(merged: pl.DataFrame, accuracy: float) -> pl.DataFrame:
    """``merged`` (one row per group) with the percentiles read from its
    sketches, capped at the exact maximum (see :mod:`genailog.analysis.sketch`)."""
    out = merged.with_row_index("_row")
    for column in _TIMED:
        name = f"_{column}_sketch"
        buckets = out.select("_row", name).explode(name).unnest(name).drop_nulls(sketch.KEY)
        buckets = sketch.with_bucket_values(buckets, accuracy).sort("_row", sketch.KEY)
        buckets = buckets.with_columns(pl.col(sketch.COUNT).cum_sum().over("_row").alias("_cum"))
        per = buckets.group_by("_row").agg(
            sketch.quantile_exprs(p / 100, f"{column}_p{p}") for p in PERCENTILES)
        out = out.join(per, on="_row", how="left", maintain_order="left").with_columns(
            pl.min_horizontal(f"{column}_p{p}", f"{column}_max").alias(f"{column}_p{p}")
            for p in PERCENTILES)
    return out.drop("_row")


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def _derived() -> list[pl.Expr]:
    col = pl.col
    span = (col("last_timestamp") - col("first_timestamp")).dt.total_microseconds() / 1e6
    return [
        *(pl.when(col(f"{n}_count") > 0).then(col(n)).alias(n) for n in _SUMS),
        pl.when(col("cost_usd_count") > 0).then(col("cost_usd")).alias("cost_usd"),
        _ratio(col("errors"), col("requests")).alias("error_rate"),
        _ratio(col("_cache_hits"), col("_cache_base")).alias("cache_hit_ratio"),
        _ratio(col("input_tokens"), col("input_tokens_count")).alias("input_tokens_per_request"),
        _ratio(col("output_tokens"), col("output_tokens_count")).alias("output_tokens_per_request"),
        _ratio(col("cost_usd"), col("cost_usd_count")).alias("cost_per_request"),
        (_ratio(col("cost_usd"), col("cost_usd_count")) * 1000).alias("cost_per_1k_requests"),
        *(_ratio(col(f"_{c}_sum"), col(f"{c}_count")).alias(f"{c}_mean") for c in _TIMED),
        *(_ratio(col(f"_{rate}_true"), col(f"{rate}_count")).alias(rate) for _, rate in _FLAGS),
        _ratio(col("_feedback_sum"), col("feedback_count")).alias("feedback_mean"),
        span.alias("span_seconds"),
        _ratio(col("requests"), span).alias("requests_per_second"),
        _ratio(col("output_tokens"), span).alias("output_tokens_per_second"),
    ]


#: Every metric a summary row carries, in output order (also the names --fail-if accepts).
METRICS: tuple[str, ...] = (
    "requests", "errors", "error_rate", "retries", "retries_count",
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "input_tokens_count", "output_tokens_count",
    "cached_input_tokens_count", "cache_write_tokens_count", "reasoning_tokens_count",
    "input_tokens_per_request", "output_tokens_per_request",
    "cache_hit_ratio", "cache_hit_ratio_count",
    "cost_usd", "cost_usd_count", "cost_reported_count", "unpriced_requests",
    "cost_per_request", "cost_per_1k_requests",
    *(f"latency_ms_{s}" for s in ("p50", "p90", "p95", "p99", "max", "mean", "count")),
    *(f"ttft_ms_{s}" for s in ("p50", "p90", "p95", "p99", "max", "mean", "count")),
    "requests_per_second", "output_tokens_per_second",
    "hallucination_rate", "hallucination_rate_count", "refusal_rate", "refusal_rate_count",
    "feedback_mean", "feedback_count",
    "first_timestamp", "last_timestamp", "span_seconds",
)  # fmt: skip


@dataclass
class SummaryResult:
    """A summary: one row per group, the total row, and what could not be priced."""

    by: list[str]
    window: str | None
    groups: list[dict[str, Any]]
    total: dict[str, Any]
    unpriced_models: list[dict[str, Any]]
    skipped_records: int
    prices: dict[str, Any]
    gates: list[GateResult] = field(default_factory=list)
    #: Set when records were head-sampled (``sample_rate`` < 1): the rows then hold
    #: weighted estimates with ``*_se`` standard errors (genailog.analysis.weighting).
    sampling: dict[str, Any] | None = None
    #: ``top``: the costliest ``--by`` groups (``groups`` then holds only those, costliest
    #: first, each with ``cost_share``); ``safety``: the safety view (genailog.analysis.
    #: safety); ``cost_anomalies``: windows whose cost jumped (genailog.analysis.costviews).
    top: dict[str, Any] | None = None
    safety: dict[str, Any] | None = None
    cost_anomalies: list[dict[str, Any]] | None = None
    #: Set in sketch mode: how percentiles were estimated and their relative error bound.
    quantiles: dict[str, Any] | None = None
    #: The mergeable partial this result was finished from (not part of ``to_dict``).
    partial: SummaryPartial | None = field(default=None, repr=False, compare=False)

    @property
    def keys(self) -> list[str]:
        """The group key columns, window first."""
        return ([WINDOW_KEY] if self.window else []) + self.by

    @property
    def failed(self) -> bool:
        return any(not gate.passed for gate in self.gates)

    @property
    def span(self) -> dict[str, Any]:
        return {
            "start": self.total["first_timestamp"],
            "end": self.total["last_timestamp"],
            "seconds": self.total["span_seconds"],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "window": self.window,
            "groups": self.groups,
            "total": self.total,
            "unpriced_models": self.unpriced_models,
            "skipped_records": self.skipped_records,
            "span": self.span,
            "prices": self.prices,
            "gates": [gate.to_dict() for gate in self.gates],
            "passed": not self.failed,
            **({"sampling": self.sampling} if self.sampling is not None else {}),
            **{name: value for name in ("top", "safety", "cost_anomalies", "quantiles")
               if (value := getattr(self, name)) is not None},
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return utc_text(value)
    return value


def _row(record: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {name: _json_value(record[name]) for name in (*keys, *METRICS)}


def _unpriced(partials: pl.DataFrame) -> list[dict[str, Any]]:
    """Unpriced models and their request counts (stage 1 always groups by model too)."""
    per_model = (
        partials.group_by("model")
        .agg(pl.col("unpriced_requests").sum().alias("requests"))
        .filter(pl.col("requests") > 0)
        .sort(["requests", "model"], descending=[True, False])
    )
    return per_model.to_dicts()


def _check_keys(frame: pl.LazyFrame, by: list[str], window: str | None) -> None:
    schema = frame.collect_schema()
    unknown = [name for name in by if name not in schema]
    if unknown:
        raise UsageError(
            f"--by names unknown field(s) {', '.join(unknown)}; "
            f"fields present: {', '.join(sorted(schema.names()))}"
        )
    nested = [name for name in by if schema[name].is_nested()]
    if nested:
        raise UsageError(f"--by cannot group on list or struct field(s) {', '.join(nested)}")
    if window is not None:
        check_window(window)
    if window is not None and WINDOW_KEY in by:
        raise UsageError(f"--by {WINDOW_KEY} clashes with the --window bucket column")


#: One grouping of a pass: the finest keys and the aggregations per group.
Grouping = tuple[list[str], list[pl.Expr]]


@dataclass
class SampledRecords:
    """Whether a record of the pass was head-sampled (``sample_rate`` below 1), seen on the
    batches the stage reads anyway: :func:`genailog.analysis.weighting.is_sampled` without
    a second read of the records."""

    found: bool = False
    columns: tuple[str, ...] = ("sample_rate",)

    def __call__(self, batch: pl.DataFrame) -> None:
        if not self.found and "sample_rate" in batch.columns:
            rates = batch.get_column("sample_rate")
            self.found = rates.null_count() < rates.len() and bool(
                batch.select(needs_weighting(pl.col("sample_rate")).any()).item())


def _stage_one(records: pl.LazyFrame, groupings: Sequence[Grouping],
               watch: SampledRecords | None = None,
               derive: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
               keyed: Sequence[str | None] = (),
               ) -> list[pl.DataFrame]:
    """Partials per finest group of each grouping, from one streaming pass over the records.

    Each streamed batch is aggregated on arrival and only its partials are kept (the
    latency and TTFT values, 8 bytes each, or their sketches, and a row of sums per group):
    a streaming ``group_by`` holding the values for exact percentiles keeps several times
    that per record. Partials are merged whenever they pile up, so many small groups and
    many batches of sketches stay bounded. Every grouping sees the same batches, so a
    grouping's partials do not depend on the others asked for in the same pass.
    ``derive``, when given, turns each batch as read into the records the groupings
    aggregate (see :func:`stage_many`); ``keyed[i]``, when given, names one integer
    column of the batches that stands for grouping ``i``'s finest keys (:data:`_GROUP`).
    """
    derive = derive or (lambda batch: batch)
    if not hasattr(records, "sink_batches"):  # polars before sink_batches: one group_by
        whole = derive(records.collect())
        if watch is not None:
            watch(whole)
        return [combine([whole.group_by(f).agg(e)], f) for f, e in groupings]
    parts: list[list[pl.DataFrame]] = [[] for _ in groupings]
    pending = [0] * len(groupings)

    def consume(batch: pl.DataFrame) -> None:
        batch = derive(batch)
        if watch is not None:
            watch(batch)
        for i, (finest, exprs) in enumerate(groupings):
            key = keyed[i] if keyed else None
            part = (batch.group_by(finest).agg(exprs) if key is None else
                    batch.group_by(key).agg(*(pl.col(k).first() for k in finest), *exprs)
                    .drop(key))
            parts[i].append(part)
            pending[i] += part.height
            if pending[i] > MAX_PARTIAL_ROWS:
                parts[i][:] = [combine(parts[i], finest)]
                pending[i] = 0

    records.sink_batches(consume, chunk_size=BATCH_ROWS, maintain_order=True)
    if not all(parts):  # no record at all: the partials' columns, from an empty frame
        empty = derive(records.clear().collect())
        for part, (finest, exprs) in zip(parts, groupings, strict=True):
            part.append(empty.group_by(finest).agg(exprs))
    return [combine(part, finest) for part, (finest, _) in zip(parts, groupings, strict=True)]


def combine(parts: Sequence[pl.DataFrame], finest: list[str]) -> pl.DataFrame:
    """Partial frames merged into one row per finest group, sorted by group: a fixed order,
    so float sums for the total come out the same on every run and whatever the order of
    ``parts`` (the merge of :class:`~genailog.analysis.partials.SummaryPartial`)."""
    frame = pl.concat(parts)
    columns = [c for c in frame.columns if c not in finest]
    frame = frame.group_by(finest).agg(_merged(columns, grouped=True))
    return _dedup_sketches(frame.sort(finest, nulls_last=True, maintain_order=True))


_RATE = "_rate_"
_RATE_NAMES = ("input", "output", "cache_read", "cache_write", "reasoning")


def with_rates(partials: pl.DataFrame, table: PriceTable) -> pl.DataFrame:
    """Partials with the rates of their row: each row is one model and one set of price
    keys (prompt-size tier, off-peak flags: records that share them share their rates)."""
    keys = partials.select("model", *PRICE_KEYS).unique(maintain_order=True)
    rates = tier_rates_frame(keys, table).rename({r: f"{_RATE}{r}" for r in _RATE_NAMES})
    joined = partials.join(rates, on=["model", *PRICE_KEYS], how="left", maintain_order="left")
    return joined.with_columns(pl.col("model").cast(partials.schema["model"]))


def priced_rows(partials: pl.DataFrame) -> pl.DataFrame:
    """Each row priced from its token sums (cost is linear in the token sums of one model
    and one set of price keys), rates and token sums then dropped."""
    rates = rate_columns()
    return (
        partials.with_columns(pl.col(f"{_RATE}{r}").alias(r) for r in _RATE_NAMES)
        .with_columns(cost_from_sums())
        .drop(*rates, *_RATE_NAMES)
    )


def stage(frame: pl.LazyFrame, keys: list[str], table: PriceTable,
          quantiles: str = "exact") -> pl.DataFrame:
    """The partial frame: one row per group of ``keys``, model and price keys, from one read
    of the records, with the rates of its model and keys (see :func:`finish`)."""
    return stage_many(frame, [keys], table, quantiles)[0]


#: What a partial frame needs beyond its counts and sums to be priced (``priced_rows``).
PRICING_PARTIALS = frozenset({"_tok_uncached", "_tok_cached", "_tok_written", "_tok_output",
                              "_tok_reasoning", "_tok_records", "_cost_missing",
                              "_cost_reported", "cost_reported_count"})


def stage_many(frame: pl.LazyFrame, groupings: Sequence[list[str]], table: PriceTable,
               quantiles: str = "exact",
               only: Sequence[frozenset[str] | None] = (),
               watch: SampledRecords | None = None) -> list[pl.DataFrame]:
    """:func:`stage`'s partial frame for each list of keys in ``groupings``, all from ONE
    read of the records (``genailog report`` takes its overview and its cells this way).
    ``only[i]``, when given, keeps just those partial columns for grouping ``i`` (fewer
    aggregations per batch); ``watch`` sees every batch of records."""
    wanted = [*only, *[None] * (len(groupings) - len(only))]
    asked: list[Grouping] = [(_packed(finest_keys(keys)), partial_exprs(keep, quantiles))
                             for keys, keep in zip(groupings, wanted, strict=True)]
    group = _group_key(table)
    keyed = [_GROUP if group is not None and finest_keys(keys) == _MODEL_KEYS else None
             for keys in groupings]
    made_here = [*([group] if group is not None and any(keyed) else []), _pack()]
    needed = {name for e in _partials(quantiles) for name in e.meta.root_names()}
    # the price keys themselves stay in the batches: a watch (the report's) groups on them
    needed |= {name for keys in groupings for name in [*finest_keys(keys), _PRICE_KEY]}
    needed |= {e.meta.output_name() for e in made_here}
    if watch is not None:
        needed |= set(watch.columns) & set(frame.collect_schema().names())
    columns = sorted(needed)
    if quantiles == "exact":  # the per-record columns made in the reader's own pipeline
        records = (frame.with_columns(price_keys(table))
                   .with_columns(*_record_columns(quantiles), *made_here).select(columns))
        return [with_rates(_unpacked(part), table)
                for part in _stage_one(records, asked, watch, keyed=keyed)]
    # Sketch mode puts memory first: the per-record columns are made in each batch, so
    # the reader holds only the columns it reads in flight (10-15 MB lower peak, 3-5%
    # more CPU than the reader's pipeline, whose optimizer shares their subexpressions).
    derived = [*price_keys(table), *_record_columns(quantiles), *made_here]
    made = {e.meta.output_name() for e in derived}
    read = needed - made | {n for e in derived for n in e.meta.root_names()} - made

    def derive(batch: pl.DataFrame) -> pl.DataFrame:
        return (batch.with_columns(price_keys(table))
                .with_columns(*_record_columns(quantiles), *made_here).select(columns))

    return [with_rates(_unpacked(part), table)
            for part in _stage_one(frame.select(sorted(read)), asked, watch, derive, keyed)]


#: The price keys packed into one integer while the batches are grouped: polars groups on
#: a string and one integer about twice as fast as on a string and two (multi-column
#: keys are row-encoded), 30 ms less CPU over 1M records. The packing keeps their order
#: (``_tier`` above, ``_off_peak``, a non-negative Int32 bit mask, below), so partial
#: rows come out in the same order, and :func:`_unpacked` gives the keys back.
_PRICE_KEY = "_price_key"
_SHIFT = 1 << 32


def _pack() -> pl.Expr:
    tier, off_peak = (pl.col(k).cast(pl.Int64) for k in PRICE_KEYS)
    return (tier * _SHIFT + off_peak).alias(_PRICE_KEY)


#: One integer standing for a model and its price keys while the batches are grouped,
#: when those are a grouping's finest keys (a summary by model, or of everything): the
#: model's id in polars' categories above, ``_tier`` (8 bits) and ``_off_peak`` (24 bits)
#: below. Polars groups on one integer without row-encoding a string and an integer:
#: 1M records, 10 alternating passes, 263 vs 292 ms (469 vs 506 ms CPU), the cast to a
#: categorical done in the reader's pipeline. The partial rows keep the model and
#: ``_price_key`` (each group's first, all equal) and are merged and sorted on them as
#: before, so they come out the same (:func:`_stage_one`).
_GROUP = "_group"
_MODEL_KEYS = ["model", *PRICE_KEYS]


def _group_key(table: PriceTable) -> pl.Expr | None:
    """:data:`_GROUP`'s expression; None when the table's price keys would not fit (more
    than 255 prompt-size thresholds or 24 off-peak schedules). A null model gets -1: its
    records still group by their price keys."""
    if len(table.thresholds) > 255 or len(table.schedules) > 24:
        return None
    model = pl.col("model").cast(pl.Categorical).to_physical().cast(pl.Int64).fill_null(-1)
    tier, off_peak = (pl.col(k).cast(pl.Int64) for k in PRICE_KEYS)
    return (model * _SHIFT + tier * (1 << 24) + off_peak).alias(_GROUP)


def _packed(finest: list[str]) -> list[str]:
    return [*(k for k in finest if k not in PRICE_KEYS), _PRICE_KEY]


def _unpacked(partials: pl.DataFrame) -> pl.DataFrame:
    """``partials`` grouped by :func:`_packed` keys, with the price keys of
    :func:`finest_keys` in their place."""
    key = pl.col(_PRICE_KEY)
    tier, off_peak = PRICE_KEYS
    columns = [c for c in partials.columns if c != _PRICE_KEY]
    at = partials.columns.index(_PRICE_KEY)
    return partials.with_columns((key // _SHIFT).cast(pl.Int32).alias(tier),
                                 (key % _SHIFT).cast(pl.Int32).alias(off_peak)).select(
        *columns[:at], tier, off_peak, *columns[at:])


def rate_columns() -> list[str]:
    return [f"{_RATE}{r}" for r in _RATE_NAMES]


def finest_keys(keys: list[str]) -> list[str]:
    return [*dict.fromkeys([*keys, "model"]), *PRICE_KEYS]


def finish(partials: pl.DataFrame, keys: list[str],
           accuracy: float | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The group rows (sorted by key), the total row, and the priced partials, from a
    partial frame of :func:`stage` (``keys`` a prefix of its groups' keys); ``accuracy``
    is the sketches' relative accuracy (None: exact values)."""
    quantiles = "exact" if accuracy is None else "sketch"
    priced = priced_rows(partials)
    columns = [c for c in priced.columns if c not in finest_keys(keys) and c not in keys]
    lazy = priced.lazy()
    total = lazy.select(_merged(columns, grouped=False))
    by: list[str | pl.Expr] = [*keys] or [pl.lit(True).alias(_TOTAL)]
    groups = lazy.group_by(by, maintain_order=True).agg(_merged(columns, grouped=True))
    groups = groups if keys else groups.clear()
    if accuracy is None:
        # The groups merged first, then their percentiles: in one query the optimizer
        # explodes a value list once per percentile. The value lists are then dropped, so
        # that natural_order does not copy them. The total row's percentiles are taken
        # over the values exploded, not one list: polars then runs its 8 quickselects side
        # by side (1M records: 16 vs 29 ms), and the total is finished on a thread of its
        # own while the groups are finished here (polars releases the GIL; it runs the
        # groups' quickselects one after the other).
        values = [f"_{column}_values" for column in _TIMED]
        scalars = [name for name in columns if name not in values]

        def total_row() -> pl.DataFrame:
            merged = lazy.select(_merged(scalars, grouped=False)).collect()
            # eager: in a lazy query each percentile explodes its list again (8x slower)
            return pl.concat([merged, priced.select(_flat_percentiles())],
                             how="horizontal").with_columns(_derived())

        with ThreadPoolExecutor(1) as pool:
            totalled = pool.submit(total_row)
            grouped = groups.collect().with_columns(*_percentiles(quantiles), *_derived())
            return natural_order(grouped.drop(values), keys), totalled.result(), priced
    return (natural_order(_sketch_percentiles(_dedup_sketches(groups.collect()), accuracy)
                          .with_columns(*_derived()), keys),
            _sketch_percentiles(_dedup_sketches(total.collect()), accuracy)
            .with_columns(*_derived()), priced)


_RUNS = re.compile(r"[0-9]+|[^0-9]+")
_DIGITS = list("0123456789")


def _natural(value: Any) -> tuple[Any, ...]:
    """A sort key that orders numbers inside text as numbers (``u2`` before ``u10``),
    nulls last."""
    if value is None:
        return (1,)
    if not isinstance(value, str):
        return (0, value)
    # a run of digits compares as a number: by its length without leading zeros, then
    # digit by digit (no int(): a 5,000-digit id would exceed Python's conversion limit)
    runs = tuple((0, len(run.lstrip("0")), run.lstrip("0")) if run[0] in "0123456789"
                 else (1, 0, run) for run in _RUNS.findall(value))
    return (0, runs, value)  # the text itself breaks ties ("01" and "1")


def _has_digit(texts: pl.Series) -> bool:
    """Whether a text holds a digit. Without a regex: a run's first regex costs polars about
    7 ms to set up; a few rows (a summary by model) are read in Python, since even
    contains_any costs 1.5-2 ms on its first call."""
    if texts.len() <= _FEW_ROWS:
        return any(digit in text for text in texts.to_list() if text for digit in _DIGITS)
    return bool(texts.str.contains_any(_DIGITS).any())


_FEW_ROWS = 1_000


def natural_order(groups: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Group rows ordered by key with numbers inside text compared as numbers: ``--by
    user_id`` lists u0, u1, u2, ..., u10, not u0, u1, u10, u100."""
    text = [k for k in keys if groups.schema.get(k) == pl.String]
    if groups.height < 2 or not any(_has_digit(groups[k]) for k in text):
        return groups
    rows = groups.select(keys).rows()
    order = sorted(range(groups.height),
                   key=lambda i: tuple(_natural(value) for value in rows[i]))
    return groups[order]


def aggregate(
    frame: pl.LazyFrame, keys: list[str], table: PriceTable
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The group rows (sorted by key), the total row, and the priced partials.

    Stage 1 reads the records once, into partials per group, model and price keys;
    pricing happens on those partials (cost is linear in the token sums of one model and
    price keys), and the group rows and the total row are the partials merged and
    finished.
    """
    return finish(stage(frame, keys, table), keys)


def _frame_and_skipped(logs: Logs | pl.LazyFrame | pl.DataFrame) -> tuple[pl.LazyFrame, Any]:
    """The frame, and the read report when given :class:`Logs`. Reading paths is the
    caller's job (``genailog.summarize`` in api.py reads them)."""
    if isinstance(logs, pl.DataFrame):
        return logs.lazy(), None
    if isinstance(logs, pl.LazyFrame):
        return logs, None
    if isinstance(logs, str | Path | Sequence):
        raise TypeError("analysis.summarize takes logs already read; genailog.summarize "
                        "(genailog/api.py) takes paths")
    return logs.frame, logs.report


def price_table(prices: PriceTable | str | Path | None) -> PriceTable:
    if isinstance(prices, PriceTable):
        return prices
    return load_prices(prices) if prices is not None else default_prices()


def check_quantiles(quantiles: str) -> None:
    if quantiles not in QUANTILE_MODES:
        raise UsageError(f"--quantiles must be one of {', '.join(QUANTILE_MODES)}, "
                         f"not {quantiles!r}")


def prepare(logs: Logs | pl.LazyFrame | pl.DataFrame, by: list[str], window: str | None,
            where: str | None, since: str | datetime | None,
            until: str | datetime | None) -> tuple[pl.LazyFrame, int]:
    """The records to summarize, filtered and with their window column, and how many
    invalid records the read skipped."""
    frame, report = _frame_and_skipped(logs)
    _check_keys(frame, by, window)
    frame = apply_filters(frame, where=where, since=since, until=until)
    if window:
        from genailog.ingest.checks import require_timestamps

        require_timestamps(frame, "--window")
        frame = frame.with_columns(pl.col("timestamp").dt.truncate(window).alias(WINDOW_KEY))
    return frame, report.skipped if report is not None else 0


def result_from(partials: pl.DataFrame, by: list[str], window: str | None,
                accuracy: float | None, skipped: int,
                prices: dict[str, Any]) -> SummaryResult:
    """The summary of a partial frame (:func:`stage`), before gates and views."""
    keys = ([WINDOW_KEY] if window else []) + by
    groups, total, priced = finish(partials, keys, accuracy)
    return SummaryResult(
        by=by,
        window=window,
        # only the metrics become Python objects (never the value lists)
        groups=[_row(r, keys) for r in groups.select(*keys, *METRICS).to_dicts()],
        total=_row(total.select(METRICS).row(0, named=True), []),
        unpriced_models=_unpriced(priced),
        skipped_records=skipped,
        prices=prices,
        quantiles=None if accuracy is None else sketch.describe(accuracy),
    )


def check_options(*, by: Sequence[str] = (), window: str | None = None,
                  where: str | None = None, fail_if: Sequence[str] = (),
                  top: int | None = None) -> None:
    """What can be judged before any log is read: --top, --window, --where and gates."""
    by = list(by)
    _check_top(top, by, window)
    if window is not None:
        check_window(window)
    check_gate_expressions(fail_if, ([WINDOW_KEY] if window else []) + by, METRICS)
    check_where(where)


def summarize(
    logs: Logs | pl.LazyFrame | pl.DataFrame,
    *,
    by: Sequence[str] = (),
    window: str | None = None,
    where: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    prices: PriceTable | str | Path | None = None,
    fail_if: Sequence[str] = (),
    sample_unit: str = "session_id",
    top: int | None = None,
    safety: bool = False,
    allow_empty: bool = False,
    min_records: int = 0,
    quantiles: str = "exact",
) -> SummaryResult:
    """Summarize logs already read (a :class:`Logs`, or a frame in canonical columns;
    ``genailog.summarize`` also takes paths).

    ``by`` groups on any columns, user fields included; ``window`` (``1h``, ``1d``, ...)
    buckets on the timestamp and combines with ``by``. ``fail_if`` predicates are checked
    against every group and the total row (see :mod:`genailog.analysis.gates`).
    Head-sampled records (``sample_rate`` < 1) are weighted by ``1/sample_rate``, with
    ``sample_unit`` records (sessions) as the sampling unit of the standard errors.
    ``top`` keeps the ``top`` costliest groups; ``safety`` adds the safety view; with a
    ``window``, windows whose cost jumped are flagged (docs/summarize.md). Gates fail
    closed on rows with no records, fewer than ``min_records``, or a null metric, unless
    ``allow_empty`` (:class:`genailog.analysis.gates.GatePolicy`). ``quantiles="sketch"``
    takes percentiles from DDSketch buckets (:mod:`genailog.analysis.sketch`, within 1%)
    instead of every value; ``result.partial`` is the mergeable partial behind the result
    (:mod:`genailog.analysis.partials`).
    """
    by = list(by)
    check_options(by=by, window=window, where=where, fail_if=fail_if, top=top)
    check_quantiles(quantiles)
    keys = ([WINDOW_KEY] if window else []) + by
    table = price_table(prices)
    frame, skipped = prepare(logs, by, window, where, since, until)
    accuracy = None if quantiles == "exact" else sketch.RELATIVE_ACCURACY
    watch = SampledRecords()  # sampling seen in the same pass, not by a second read
    partials = stage_many(frame, [keys], table, quantiles, watch=watch)[0]
    result = result_from(partials, by, window, accuracy, skipped, table.to_dict())
    from genailog.analysis.partials import SummaryPartial

    sampled = watch.found
    result.partial = SummaryPartial(by=by, window=window, relative_accuracy=accuracy,
                                    prices=table.to_dict(), skipped_records=skipped,
                                    frame=partials, sampled=sampled)
    if sampled:
        _reweight(result, frame, keys, table, sample_unit)
    result.gates = evaluate_gates(fail_if, result.groups or [], result.total, keys,
                                  GatePolicy(allow_empty=allow_empty, min_records=min_records))
    _cost_and_safety_views(result, frame, keys, top, safety)
    return result


def _check_top(top: int | None, by: list[str], window: str | None) -> None:
    if top is None:
        return
    if top < 1:
        raise UsageError(f"--top must be at least 1, not {top}")
    if not by or window:
        raise UsageError("--top ranks --by groups over the whole period: give --by (e.g. "
                         "--by user_id) and no --window")


def _cost_and_safety_views(result: SummaryResult, frame: pl.LazyFrame | None, keys: list[str],
                           top: int | None, safety: bool) -> None:
    # each view imported only when asked for: costviews imports numpy (75-150 ms)
    if top is not None:
        from genailog.analysis.costviews import top_groups

        result.top = {"n": top, "groups": len(result.groups)}
        result.groups = top_groups(result.groups, result.total["cost_usd"], top)
        shares = [g["cost_share"] for g in result.groups if g["cost_share"] is not None]
        result.top["cost_share"] = sum(shares) if shares else None
    if result.window:
        from genailog.analysis.costviews import cost_anomalies

        result.cost_anomalies = cost_anomalies(result.groups, result.by)
    if safety and frame is not None:
        from genailog.analysis.safety import safety_view

        result.safety = safety_view(frame, keys)


def _reweight(result: SummaryResult, frame: pl.LazyFrame, keys: list[str], table: PriceTable,
              unit: str) -> None:
    """Replace counts, sums, cost, means and percentiles by their weighted estimates."""
    groups, total = weighted(frame, keys, table, unit)
    by_key = {tuple(_json_value(v) for v in key): row for key, row in groups.items()}
    for row in result.groups:
        row.update(by_key.get(tuple(row[k] for k in keys), {}))
    result.total.update(total)
    result.sampling = sampling_note(frame, unit)


def columns_needed(*, by: Sequence[str] = (), where: str | None = None,
                   prices: PriceTable | str | Path | None = None,
                   sample_unit: str = "session_id", safety: bool = False,
                   quantiles: str = "exact") -> frozenset[str] | None:
    """The record columns :func:`summarize` reads with these options (what
    ``read_logs(columns=...)`` may type alone), or None when it may read any (the safety
    view). Weighting's columns are in, since whether records were sampled is only known
    once they are read; so is the timestamp, which ``window``, ``since`` and ``until``
    read. Options are checked by :func:`summarize` itself, not here."""
    from genailog.errors import ExpressionError
    from genailog.pricing.cost import cost_columns, rates_expr
    from genailog.schema.columns import CANONICAL_DTYPES

    if safety:
        return None
    table = price_table(prices)
    exprs = [*price_keys(table), rates_expr(table), *cost_columns(), is_error(),
             *_record_columns(quantiles), *_partials(quantiles)]
    names = {n for e in exprs for n in e.meta.root_names()} & CANONICAL_DTYPES.keys()
    names |= {"model", "timestamp", "sample_rate", sample_unit, *by}
    if where:
        from genailog.query.expression import parse  # here: most summaries have no --where

        try:
            names |= {name for name, _ in parse(where, "--where").names}
        except ExpressionError:
            return None  # summarize reports it
    return frozenset(names)
