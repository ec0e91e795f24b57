"""What ``genailog report`` shows, computed from logs: aggregates only, never records.

:func:`build_report` reads the records ONCE, in summarize's own streaming pass
(:func:`genailog.analysis.summarize.stage_many`): the main thread aggregates summarize's
own grouping, so the overview is summarize's result to the bit (same batches, same sums,
same order), while two worker threads aggregate the same batches, one into window x
model x version cells with their latency/TTFT values, from which every series, rate and
latency chart is finished (one error rule, one cost formula), one into users and
sessions with their cost. Eval scores are decoded from their distinct JSON texts only,
in another thread from a scan of their own column. The diff and drift sections
are :func:`diff_prompts` and :func:`detect_drift` on the same records. Everything kept is
sized by groups and windows: series per window, 51 latency quantiles per model, the top
users and sessions. Rendering is :mod:`genailog.report.html`'s job.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from genailog.analysis.summarize import (
    MAX_PARTIAL_ROWS,
    PRICING_PARTIALS,
    WINDOW_KEY,
    SampledRecords,
    combine,
    finest_keys,
    partial_exprs,
    priced_rows,
    result_from,
    stage_many,
    summarize,
    with_rates,
)
from genailog.errors import GenailogError, UsageError
from genailog.pricing import PriceTable, default_prices, load_prices
from genailog.pricing.cost import OFF_PEAK, TIER, cost_columns, tier_rates_frame
from genailog.query.filters import apply_filters
from genailog.schema.rules import check_window as _window_grammar

if TYPE_CHECKING:
    from genailog.ingest import Logs

_RATES = ("input", "output", "cache_read", "cache_write", "reasoning")
#: The partials the cells keep (summarize's names): what the series, rates and latency
#: charts are finished from, and what pricing needs.
_CELLS = PRICING_PARTIALS | {
    "requests", "errors", "first_timestamp", "_latency_ms_values", "_ttft_ms_values",
    "_hallucination_rate_true", "hallucination_rate_count", "_refusal_rate_true",
    "refusal_rate_count", "_feedback_sum", "feedback_count"}
#: Points of each model's latency ECDF (quantiles 0, 0.02, ..., 1).
ECDF_POINTS = 51
#: At most this many eval score names get a series.
MAX_EVALS = 8
_QUALITY = (("hallucination_flag", "hallucination_rate"), ("refusal", "refusal_rate"))
_PCTS = (50, 95, 99)


@dataclass(frozen=True)
class ReportOptions:
    """Everything ``build_report`` can be told besides the logs."""

    window: str | None = None  # None: 1h up to 2 days of data, 1d up to 120 days, else 1w
    where: str | None = None
    since: str | datetime | None = None
    until: str | datetime | None = None
    prices: PriceTable | str | Path | None = None
    version_field: str = "prompt_version"
    baseline: str | None = None
    candidate: str | None = None
    diff: bool = True
    drift: bool = True
    top: int = 10
    title: str = "genailog report"


@dataclass
class Report:
    """The numbers behind every section; ``to_dict()`` is plain JSON."""

    title: str
    window: str
    windows: list[str]
    overview: dict[str, Any]
    by_model: dict[str, dict[str, list[float | None]]]
    cost_by_version: list[tuple[str, float]]
    top_users: list[dict[str, Any]]
    top_sessions: list[dict[str, Any]]
    latency_ecdf: dict[str, list[float]]
    timing: dict[str, dict[str, list[float | None]]]
    quality_over_time: dict[str, list[float | None]]
    quality_by_version: list[dict[str, Any]]
    version_field: str
    diff: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_window(window: str) -> str:
    """The one window grammar (schema/rules.py, which imports nothing heavy)."""
    return _window_grammar(window)


def _window_for(seconds: float | None) -> str:
    days = (seconds or 0) / 86400
    return "1h" if days <= 2 else "1d" if days <= 120 else "1w"


def _label(stamp: datetime, window: str) -> str:
    return stamp.strftime("%Y-%m-%d" if window.endswith(("d", "w", "mo")) else "%m-%d %H:%M")


def _read(logs: Any) -> tuple[pl.LazyFrame, int]:
    if isinstance(logs, pl.DataFrame | pl.LazyFrame):
        return logs.lazy(), 0
    if isinstance(logs, str | Path) or isinstance(logs, Sequence):
        from genailog.ingest import read_logs

        paths = [str(logs)] if isinstance(logs, str | Path) else [str(p) for p in logs]
        logs = read_logs(paths)
    return logs.frame, int(logs.report.skipped)


def _table(prices: PriceTable | str | Path | None) -> PriceTable:
    if isinstance(prices, PriceTable):
        return prices
    return load_prices(prices) if prices is not None else default_prices()


def _span(lazy: pl.LazyFrame) -> float | None:
    """Seconds from the first to the last timestamp; None when no record has one."""
    stamp = pl.col("timestamp")
    first, last = lazy.select(stamp.min(), stamp.max().alias("last")).collect().row(0)
    if first is None:
        raise UsageError("no timestamped records to report on (check --where/--since/--until)")
    return float((last - first).total_seconds())


#: Batches the main pass may hand on before it waits for the worker (each holds at most
#: summarize's BATCH_ROWS records of the columns read).
_QUEUED = 2
#: What the per-user and per-session partials add up.
_PERSON_SUMS = ("requests", "cost_usd", "cost_usd_count", "unpriced_requests")


@dataclass
class _Feed(SampledRecords):
    """The main pass's watch: whether a record was head-sampled (as summarize sees it),
    and each batch handed on to :func:`_aggregate` in worker threads, one per grouping,
    which aggregate the report's own groupings on the very batches summarize's grouping
    reads."""

    queues: list[queue.Queue[pl.DataFrame | None]] = field(default_factory=list)

    def queue(self) -> queue.Queue[pl.DataFrame | None]:
        """A new queue of the batches to come."""
        self.queues.append(queue.Queue(maxsize=_QUEUED))
        return self.queues[-1]

    def __call__(self, batch: pl.DataFrame | None) -> None:
        if batch is not None:
            super().__call__(batch)
        for batches in self.queues:
            batches.put(batch)


@dataclass(frozen=True)
class _Grouping:
    """Partial rows of one batch (``of_batch``), and partial rows merged (``merge``)."""

    of_batch: Callable[[pl.DataFrame], pl.DataFrame]
    merge: Callable[[list[pl.DataFrame]], pl.DataFrame]


def _cell_grouping(keys: list[str], window: Future[str]) -> _Grouping:
    """summarize's own partials (:data:`_CELLS`) per ``keys`` (the window first), model
    and price keys; each batch's timestamps truncated to the ``window`` once known."""
    finest, exprs = finest_keys(keys), partial_exprs(_CELLS)

    def of_batch(batch: pl.DataFrame) -> pl.DataFrame:
        return _timed(batch, window.result()).group_by(finest).agg(exprs)

    return _Grouping(of_batch, lambda parts: combine(parts, finest))


_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)


def _timed(frame: _Frame, window: str) -> _Frame:
    """``frame`` with its timestamps truncated to the ``window`` they fall in."""
    return frame.with_columns(pl.col("timestamp").dt.truncate(window).alias(WINDOW_KEY))


def _people_grouping(keys: list[str], table: PriceTable) -> _Grouping:
    """Requests, cost, priced and unpriced records per value of ``keys`` (user and
    session), each record priced by the one formula (:func:`~genailog.pricing.cost.
    cost_columns`) with its model's rates for its price keys."""
    aggs = [pl.len().cast(pl.Int64).alias("requests"), pl.col("_cost").sum().alias("cost_usd"),
            pl.col("_cost").count().alias("cost_usd_count"),
            pl.col("_unpriced").sum().cast(pl.Int64).alias("unpriced_requests")]
    rates = _Rates(table)

    def of_batch(batch: pl.DataFrame) -> pl.DataFrame:
        return (batch.select(*keys, "cost_usd", *_TOKENS, rates.of(batch).alias("_rates"))
                .with_columns(cost_columns()).group_by(keys).agg(aggs))

    def merge(parts: list[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(parts).group_by(keys).agg(pl.col(c).sum() for c in _PERSON_SUMS)

    return _Grouping(of_batch, merge)


_TOKENS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
           "reasoning_tokens")


class _Rates:
    """Each record's rates (a struct, null when its model has no price), gathered from
    the rates of every model, prompt-size tier and off-peak value of its batch by
    position: one lookup of the model's name per record instead of a join on three keys."""

    def __init__(self, table: PriceTable) -> None:
        self.table = table
        self.tiers = len(table.thresholds) + 1

    def of(self, batch: pl.DataFrame) -> pl.Expr:
        models = batch.get_column("model").unique().drop_nulls().sort().to_list()
        offs = batch.get_column(OFF_PEAK).unique().drop_nulls().sort().to_list()
        keys = pl.DataFrame(
            [(m, t, o) for m in models for t in range(self.tiers) for o in offs],
            schema={"model": pl.String, TIER: pl.Int32, OFF_PEAK: pl.Int32}, orient="row")
        found = tier_rates_frame(keys, self.table).select(pl.struct(*_RATES))
        model = pl.col("model").replace_strict(models, list(range(len(models))),
                                               default=None, return_dtype=pl.Int64)
        off = pl.col(OFF_PEAK).replace_strict(offs, list(range(len(offs))), default=None,
                                              return_dtype=pl.Int64)
        at = (model * self.tiers + pl.col(TIER)) * len(offs) + off
        return pl.lit(found.to_series()).gather(at)


def _aggregate(batches: queue.Queue[pl.DataFrame | None],
               grouping: _Grouping) -> pl.DataFrame | None:
    """The grouping's partial rows, from the batches until ``None`` (as summarize's own
    pass makes them: each batch aggregated on arrival, merged when they pile up, then
    merged in batch order); None when no batch came."""
    parts: list[pl.DataFrame] = []
    pending = 0
    try:
        while (batch := batches.get()) is not None:
            part = grouping.of_batch(batch)
            parts.append(part)
            pending += part.height
            if pending > MAX_PARTIAL_ROWS:
                parts[:] = [grouping.merge(parts)]
                pending = 0
    except BaseException:
        while batches.get() is not None:  # the pass waits on a full queue: let it end
            pass
        raise
    return grouping.merge(parts) if parts else None


def _people(part: pl.DataFrame, key: str) -> pl.DataFrame:
    """The per-user (or per-session) sums, from the partials per user and session."""
    return part.group_by(key).agg(pl.col(c).sum() for c in _PERSON_SUMS)


def build_report(logs: Logs | pl.LazyFrame | pl.DataFrame | str | Path | Sequence[str | Path],
                 options: ReportOptions | None = None) -> Report:
    """The report's numbers for ``logs`` (paths, a :class:`Logs`, or a canonical frame)."""
    opts = options or ReportOptions()
    if opts.window is not None:
        check_window(opts.window)  # before any reading
    lazy, skipped = _read(logs)
    schema = lazy.collect_schema()
    vf = opts.version_field
    if vf not in schema:
        raise UsageError(f"--version-field {vf!r} is not a field of these logs")
    lazy = apply_filters(lazy, where=opts.where, since=opts.since, until=opts.until)
    table = _table(opts.prices)
    # Summarize's own pass reads the records once, in batches, for the overview (so it is
    # summarize's to the bit); each batch is also handed to two worker threads, one
    # aggregating the window x model x version cells, one the per-user and per-session
    # costs, while the main thread aggregates the overview (polars releases the GIL). The
    # overview needs no window: the default one (from the span of the timestamps) is found
    # beside the pass, and the cells' worker truncates each batch's timestamps to it. The
    # eval scores' decode needs nothing from the pass: another thread, from a scan of
    # their own column.
    people = [k for k in ("user_id", "session_id") if k in schema]
    cell_keys = list(dict.fromkeys([WINDOW_KEY, "model", vf]))
    feed = _Feed(columns=tuple(dict.fromkeys(("sample_rate", *cell_keys[1:], *people))))
    pool = ThreadPoolExecutor(max_workers=4)
    try:
        window_of = pool.submit(lambda: opts.window or _window_for(_span(lazy)))
        cell_worker = pool.submit(_aggregate, feed.queue(), _cell_grouping(cell_keys, window_of))
        # one grouping for both: a user's sessions are few, so it stays small
        people_worker = (pool.submit(_aggregate, feed.queue(), _people_grouping(people, table))
                         if people else None)
        pending = (pool.submit(lambda: _eval_scores(_timed(lazy, window_of.result()), vf))
                   if "eval_scores" in schema else None)
        try:
            overview_part = stage_many(lazy, [[]], table, watch=feed)[0]
        finally:
            feed(None)  # the workers end whether or not the pass did
        window = window_of.result()  # "no timestamped records" is raised here
        # summarize's own finish, while the workers aggregate the last batches
        overview = result_from(overview_part, [], None, None, skipped, table.to_dict())
        cell_part = cell_worker.result()
        if cell_part is None:
            raise UsageError("no timestamped records to report on "
                             "(check --where/--since/--until)")
        people_part = None if people_worker is None else people_worker.result()
        cell_part = with_rates(cell_part, table)
        cells, starts = _cells(cell_part, vf)
        by_model = _by_model(cells, len(starts))
        sampled = feed.found
        if sampled:  # weighted estimates need the records: summarize's own path
            overview = replace(summarize(lazy, prices=table), skipped_records=skipped)
        found = pending.result() if pending is not None else None
        evals = _eval_cells(found, starts)
        by_person = ({} if people_part is None
                     else {k: _people(people_part, k) for k in people})
        # the latency charts' quantiles on the three threads
        ecdf, timing = _latency(cell_part, starts, [m for m in by_model if m != "(null)"],
                                pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    report = Report(
        title=opts.title, window=window, windows=[_label(s, window) for s in starts],
        overview=overview.to_dict(), by_model=by_model,
        cost_by_version=_cost_by_version(cells, vf),
        top_users=_top(by_person.get("user_id"), "user_id", opts.top),
        top_sessions=_top(by_person.get("session_id"), "session_id", opts.top),
        latency_ecdf=ecdf, timing=timing,
        quality_over_time=_quality(cells, evals, len(starts)),
        quality_by_version=_quality_by_version(cells, evals, vf),
        version_field=vf,
    )
    if sampled:
        report.notes["sampling"] = ("records are head-sampled: the overview holds weighted "
                                    "estimates, the charts count the records as logged")
    if opts.diff:
        report.diff, note = _diff(lazy, cells, opts)
        _note(report, "diff", note)
    if opts.drift:
        report.drift, note = _drift(lazy, window)
        _note(report, "drift", note)
    return report


def _note(report: Report, section: str, note: str | None) -> None:
    if note:
        report.notes[section] = note


def _series(frame: pl.DataFrame, value: str, windows: int) -> list[float | None]:
    """A column of a frame keyed by window index as a list with one slot per window."""
    out: list[float | None] = [None] * windows
    for i, v in zip(frame["_i"].to_list(), frame[value].to_list(), strict=True):
        out[i] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return out


def _window_index(frame: pl.DataFrame, starts: list[datetime]) -> pl.DataFrame:
    """``frame`` (rows with a window) plus ``_i``, the window's index in ``starts``."""
    index = pl.DataFrame({WINDOW_KEY: starts, "_i": list(range(len(starts)))},
                         schema={WINDOW_KEY: frame.schema[WINDOW_KEY], "_i": pl.Int64})
    return frame.join(index, on=WINDOW_KEY, how="inner", maintain_order="left")


def _cells(part: pl.DataFrame, vf: str) -> tuple[pl.DataFrame, list[datetime]]:
    """Additive partials per window, model and version (summarize's partials of the
    records with a timestamp, priced, price keys merged): requests, errors, cost, and the
    sums and counts behind the quality rates and means; and the windows, in order."""
    col = pl.col
    priced = priced_rows(part).filter(col(WINDOW_KEY).is_not_null())
    cells = priced.group_by(list(dict.fromkeys([WINDOW_KEY, "model", vf])),
                            maintain_order=True).agg(
        col("requests").sum(), col("errors").sum(), col("cost_usd").sum(),
        col("cost_usd_count").sum(), col("first_timestamp").min(),
        *(col(f"_{rate}_true").sum().alias(f"{rate}_sum") for _, rate in _QUALITY),
        *(col(f"{rate}_count").sum() for _, rate in _QUALITY),
        col("_feedback_sum").sum().alias("feedback_mean_sum"),
        col("feedback_count").sum().alias("feedback_mean_count"),
    )
    starts = cells[WINDOW_KEY].unique().sort().to_list()
    return _window_index(cells, starts), starts


def _summed_cost() -> pl.Expr:
    """Cost of merged groups: null when no record of them had a cost, never $0."""
    return (pl.when(pl.col("cost_usd_count").sum() > 0).then(pl.col("cost_usd").sum())
            .alias("cost_usd"))


def _by_model(cells: pl.DataFrame, windows: int) -> dict[str, dict[str, list[float | None]]]:
    """Requests, errors and cost per window, one series each per model (most requests
    first: the order, hence colour, every per-model chart uses)."""
    per = cells.group_by("_i", "model").agg(
        pl.col("requests").sum(), pl.col("errors").sum(), _summed_cost())
    order = (per.group_by("model").agg(pl.col("requests").sum())
             .sort(["requests", "model"], descending=[True, False], nulls_last=True))
    out = {}
    for model in order["model"].to_list():
        part = per.filter(pl.col("model").eq_missing(model))
        out["(null)" if model is None else str(model)] = {
            name: _series(part, name, windows) for name in ("requests", "errors", "cost_usd")}
    return out


def _cost_by_version(cells: pl.DataFrame, vf: str) -> list[tuple[str, float]]:
    per = (cells.group_by(vf).agg(_summed_cost())
           .filter(pl.col("cost_usd").is_not_null()).sort(vf, nulls_last=True))
    return [("(null)" if v is None else str(v), float(c))
            for v, c in zip(per[vf].to_list(), per["cost_usd"].to_list(), strict=True)]


def _top(part: pl.DataFrame | None, key: str, top: int) -> list[dict[str, Any]]:
    """The ``top`` values of ``key`` by cost (one row per value, from :func:`_people`)."""
    if part is None:
        return []
    col = pl.col
    per = (part.filter(col(key).is_not_null() & (col("cost_usd_count") > 0))
           .sort(["cost_usd", key], descending=[True, False]).head(top)
           .rename({"unpriced_requests": "unpriced"}))
    return [{"key": str(r[key]), "requests": r["requests"], "cost_usd": r["cost_usd"],
             "unpriced_requests": r["unpriced"]} for r in per.to_dicts()]


def _quantiles_by(values: pl.DataFrame, keys: list[str],
                  qs: Sequence[float]) -> dict[Any, list[float]]:
    """Linear-interpolation quantiles (summarize's rule, polars' ``linear``) of ``v`` per
    value of ``keys`` (one key: its value; several: a tuple)."""
    per = values.group_by(keys).agg(
        pl.col("v").quantile(q, "linear").alias(f"q{i}") for i, q in enumerate(qs))
    names = [f"q{i}" for i in range(len(qs))]
    return {(row[0] if len(keys) == 1 else tuple(row[:len(keys)])): list(row[len(keys):])
            for row in per.select(*keys, *names).iter_rows()}


def _ecdf(values: pl.DataFrame, qs: Sequence[float]) -> dict[int, list[float]]:
    """Many quantiles per model code ``_m``: each model's values sorted once (selecting
    51 order statistics one by one costs more than the sort), then each quantile read by
    linear interpolation between its two order statistics, as ``quantile_cont`` does:
    the two picked in one gather, the interpolation in Python's floats (the same IEEE
    operations in the same order; an expression per quantile cost ~10 ms to plan)."""
    per = values.filter(pl.col("_m") >= 0).group_by("_m").agg(pl.col("v").sort())
    spots = [[(pos, math.floor(pos), n - 1) for pos in (q * (n - 1) for q in qs)]
             for n in per["v"].list.len().to_list()]
    picks = pl.Series([[i for _, low, last in row for i in (low, min(low + 1, last))]
                       for row in spots], dtype=pl.List(pl.Int64))
    got = per.select(pl.col("v").list.gather(picks)).to_series().to_list()
    return {int(m): [pair[2 * j] + (pair[2 * j + 1] - pair[2 * j]) * (pos - low)
                     for j, (pos, low, _) in enumerate(row)]
            for m, row, pair in zip(per["_m"].to_list(), spots, got, strict=True)}


def _linspace(points: int) -> list[float]:
    """``points`` evenly spaced quantiles from 0 to 1, as numpy's ``linspace`` makes them
    (``i * step``, the last one exactly 1)."""
    step = 1.0 / (points - 1)
    return [*(i * step for i in range(points - 1)), 1.0]


def _with_model_code(frame: pl.DataFrame, models: list[str]) -> pl.DataFrame:
    """``_m``: the model's index in ``models``, -1 for a null or unlisted model."""
    codes = pl.DataFrame({"model": models, "_m": list(range(len(models)))},
                         schema={"model": frame.schema["model"], "_m": pl.Int64})
    return frame.join(codes, on="model", how="left").with_columns(pl.col("_m").fill_null(-1))


def _values(part: pl.DataFrame, starts: list[datetime], column: str,
            models: list[str]) -> pl.DataFrame:
    """The values of ``column`` kept by the cells' partials, one row each (``v``), with
    the window index ``_i`` and model code ``_m``."""
    rows = part.select(WINDOW_KEY, "model", pl.col(f"_{column}_values").alias("v"))
    rows = _window_index(rows.filter(pl.col(WINDOW_KEY).is_not_null()), starts)
    # codes joined on the partial rows (hundreds), then exploded to one row per value
    return (_with_model_code(rows, models).select("_i", "_m", "v").explode("v")
            .drop_nulls("v"))


def _latency(part: pl.DataFrame, starts: list[datetime], models: list[str],
             pool: ThreadPoolExecutor) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each model's latency ECDF (quantiles 0, 0.02, ..., 1), p50/p95/p99 of latency and
    TTFT per window, and each model's p95 per window: the ECDF and the TTFT on two of
    ``pool``'s threads, the latency's quantiles on this one."""
    latency = _values(part, starts, "latency_ms", models)
    per_model = pool.submit(_ecdf, latency, _linspace(ECDF_POINTS))
    ttft = pool.submit(lambda: _per_window(_values(part, starts, "ttft_ms", models), starts))
    out = {}
    if by_window := _per_window(latency, starts):
        out["latency_ms"] = by_window
    cells = _quantiles_by(latency.filter(pl.col("_m") >= 0), ["_i", "_m"], [0.95])
    if cells:
        out["latency_ms_p95_by_model"] = {
            m: [cells[(i, c)][0] if (i, c) in cells else None for i in range(len(starts))]
            for c, m in enumerate(models)}
    if by_window := ttft.result():
        out["ttft_ms"] = by_window
    found = per_model.result()
    return {m: found[i] for i, m in enumerate(models) if i in found}, dict(sorted(
        out.items(), key=lambda kv: _TIMING_ORDER.index(kv[0])))


_TIMING_ORDER = ("latency_ms", "ttft_ms", "latency_ms_p95_by_model")


def _per_window(values: pl.DataFrame, starts: list[datetime]) -> dict[str, list[float | None]]:
    """p50/p95/p99 of ``v`` per window, one slot per window; empty without values."""
    per = _quantiles_by(values, ["_i"], [p / 100 for p in _PCTS])
    if not per:
        return {}
    return {f"p{p}": [per[i][j] if i in per else None for i in range(len(starts))]
            for j, p in enumerate(_PCTS)}


def _merged(cells: pl.DataFrame, key: str) -> pl.DataFrame:
    """Quality rates and means per ``key`` from the cells' sums and counts."""
    names = [rate for _, rate in _QUALITY] + ["feedback_mean"]
    return cells.group_by(key).agg(
        pl.col("requests").sum(),
        (pl.col("errors").sum() / pl.col("requests").sum()).alias("error_rate"),
        *((pl.col(f"{n}_sum").sum() / pl.col(f"{n}_count").sum()).alias(n) for n in names),
        *(pl.col(f"{n}_count").sum().alias(f"{n}_count") for n in names),
    ).with_columns(pl.col(n).fill_nan(None) for n in names)


def _quality(cells: pl.DataFrame, evals: pl.DataFrame | None,
             windows: int) -> dict[str, list[float | None]]:
    per = _merged(cells, "_i")
    out = {name: _series(per, name, windows)
           for name in ("hallucination_rate", "refusal_rate", "error_rate", "feedback_mean")}
    for name, per_eval in _eval_means(evals, "_i").items():
        out[name] = _series(per_eval, "mean", windows)
    return {k: v for k, v in out.items() if any(x is not None for x in v)}


def _quality_by_version(cells: pl.DataFrame, evals: pl.DataFrame | None,
                        vf: str) -> list[dict[str, Any]]:
    per = _merged(cells, vf).drop("error_rate")
    rows = {("(null)" if r[vf] is None else str(r[vf])): r for r in per.to_dicts()}
    for name, per_eval in _eval_means(evals, vf).items():
        for version, mean in zip(per_eval[vf].to_list(), per_eval["mean"].to_list(),
                                 strict=True):
            rows["(null)" if version is None else str(version)][name] = mean
    return [{"version": k, **{n: v for n, v in r.items() if n != vf}}
            for k, r in sorted(rows.items())]


def _eval_scores(timed: pl.LazyFrame, vf: str) -> pl.DataFrame | None:
    """Sums and counts of each numeric eval score (at most :data:`MAX_EVALS`) per window
    and version; None when there are none. ``eval_scores`` holds JSON objects: each
    distinct text is decoded once, with the schema of all of them (:func:`_decode_objects`),
    so no score name is missed. Needs no result of the main pass, so it runs beside it."""
    keys = list(dict.fromkeys([WINDOW_KEY, vf]))
    # filtered on the timestamp, not the window, so the truncation runs after the filter
    scores = (timed.filter(pl.col("eval_scores").is_not_null()
                           & pl.col("timestamp").is_not_null())
              .select(*dict.fromkeys([*keys, "eval_scores"])).collect())
    if scores.height == 0:
        return None
    decoded, texts = scores["eval_scores"], None
    if decoded.dtype == pl.String:
        texts = decoded.unique()
        try:
            decoded = _decode_objects(texts)
        except pl.exceptions.PolarsError:
            return None  # not objects: the section says nothing about them
    if not isinstance(decoded.dtype, pl.Struct):
        return None
    names = [f.name for f in decoded.dtype.fields
             if f.dtype.is_numeric() or f.dtype == pl.Boolean][:MAX_EVALS]
    values = [decoded.struct.field(n).cast(pl.Float64).alias(f"eval_scores.{n}")
              for n in names]
    if texts is None:
        wide = scores.select(*keys, *values)
    else:  # each distinct text's scores joined to its records
        lookup = pl.DataFrame([texts.alias("_text"), *values])
        wide = scores.select(*keys, pl.col("eval_scores").alias("_text")).join(
            lookup, on="_text", how="left", maintain_order="left")
    return wide.group_by(keys).agg(
        *(pl.col(f"eval_scores.{n}").sum().alias(f"eval_scores.{n}") for n in names),
        *(pl.col(f"eval_scores.{n}").count().alias(f"eval_scores.{n}#") for n in names))


#: Distinct eval texts whose fields are inferred first (see :func:`_decode_objects`).
_SAMPLE = 1000


def _decode_objects(texts: pl.Series) -> pl.Series:
    """``texts.str.json_decode(infer_schema_length=None)`` for the texts eval scores hold,
    about twice as fast when they share their names (inferring the schema from every
    text takes longer than decoding them): the fields are inferred from the first
    ``_SAMPLE`` texts, numbers widened to Float64 (the scores are read as floats), and
    every text decoded with them. That decode is kept only when it lost nothing: every
    text an object, and as many non-null fields as it has colons (each member has at
    least one, so an unknown, null, nested or repeated member, or a colon inside a
    string, means a shortfall). It is only tried when the sample's fields are all numbers
    and no text holds a ``true`` or ``false``: polars reads a boolean into a number field
    as 1.0 or 0.0, where the full inference makes that field text (not a score).
    Otherwise, and on any decode error, the full inference."""
    try:
        sample = texts.head(_SAMPLE).str.json_decode(infer_schema_length=None)
    except pl.exceptions.PolarsError:  # the full inference decides
        return texts.str.json_decode(infer_schema_length=None)
    if (isinstance(sample.dtype, pl.Struct) and sample.dtype.fields
            and all(f.dtype.is_numeric() for f in sample.dtype.fields)
            and not any(texts.str.contains(word, literal=True).any()
                        for word in ("true", "false"))):
        widened = pl.Struct({f.name: pl.Float64 for f in sample.dtype.fields})
        try:
            parsed = texts.str.json_decode(widened)
        except pl.exceptions.PolarsError:
            parsed = None
        if parsed is not None and parsed.null_count() == 0:
            fields = parsed.struct.unnest().select(
                pl.sum_horizontal(pl.all().is_not_null().cast(pl.Int64))).to_series()
            colons = texts.str.count_matches(":", literal=True).cast(pl.Int64)
            if bool((fields == colons).all()):
                return parsed
    return texts.str.json_decode(infer_schema_length=None)


def _eval_cells(found: pl.DataFrame | None, starts: list[datetime]) -> pl.DataFrame | None:
    """The eval sums and counts of :func:`_eval_scores` keyed by window index ``_i``."""
    return None if found is None else _window_index(found, starts)


def _eval_means(evals: pl.DataFrame | None, key: str) -> dict[str, pl.DataFrame]:
    if evals is None:
        return {}
    names = [c for c in evals.columns if c.startswith("eval_scores.") and not c.endswith("#")]
    per = evals.group_by(key).agg(
        (pl.col(n).sum() / pl.col(f"{n}#").sum()).fill_nan(None).alias(n) for n in names)
    return {n: per.select(key, pl.col(n).alias("mean")) for n in names}


def _diff(frame: pl.LazyFrame, cells: pl.DataFrame,
          opts: ReportOptions) -> tuple[dict[str, Any] | None, str | None]:
    """diff-prompts of the two most recently first-seen versions (or the ones asked)."""
    from genailog.analysis.compare import DiffOptions, diff_prompts

    vf = opts.version_field
    baseline, candidate = opts.baseline, opts.candidate
    if baseline is None or candidate is None:
        seen = (cells.filter(pl.col(vf).is_not_null()).group_by(vf)
                .agg(pl.col("first_timestamp").min()).sort("first_timestamp", vf))
        versions = seen[vf].to_list()
        if len(versions) < 2:
            return None, f"fewer than two values of {vf}: nothing to compare"
        baseline, candidate = baseline or versions[-2], candidate or versions[-1]
    try:
        result = diff_prompts(frame, str(baseline), str(candidate), DiffOptions(version_field=vf))
    except GenailogError as exc:
        if opts.baseline is not None or opts.candidate is not None:
            raise  # versions the user named: a usage error, not a quiet note
        return None, str(exc)
    return result.to_dict(), None


def _drift(frame: pl.LazyFrame, window: str) -> tuple[dict[str, Any] | None, str | None]:
    from genailog.analysis.drift import DriftOptions, detect_drift

    try:
        result = detect_drift(frame, options=DriftOptions(window=window))
    except GenailogError as exc:
        return None, str(exc)
    return result.to_dict(), None
