"""What ``genailog report`` shows, computed from logs: aggregates only, never records.

:func:`build_report` reads the records ONCE, in summarize's own streaming pass
(:func:`genailog.analysis.summarize.stage_many`), into mergeable partials for several
groupings at a time: summarize's own grouping, so the overview is summarize's result to
the bit (same batches, same sums, same order); window x model x version cells with their
latency/TTFT values, from which every series, rate and latency chart is finished (one
error rule, one cost formula); and users and sessions with the sums behind their cost.
Eval scores are decoded from their distinct JSON texts only. The diff and drift sections
are :func:`diff_prompts` and :func:`detect_drift` on the same records. Everything kept is
sized by groups and windows: series per window, 51 latency quantiles per model, the top
users and sessions. Rendering is :mod:`genailog.report.html`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from genailog.analysis.summarize import (
    PRICING_PARTIALS,
    WINDOW_KEY,
    SampledRecords,
    partial_columns,
    priced_rows,
    result_from,
    stage_many,
    summarize,
)
from genailog.errors import GenailogError, UsageError
from genailog.pricing import PriceTable, default_prices, load_prices
from genailog.pricing.cost import PRICE_KEYS, cost_columns, price_keys
from genailog.query.filters import apply_filters
from genailog.schema.rules import check_window as _window_grammar

if TYPE_CHECKING:
    from genailog.ingest import Logs

_RATES = ("input", "output", "cache_read", "cache_write", "reasoning")
_VALUES = ("_latency_ms_values", "_ttft_ms_values")
#: summarize's partials but the value lists, which come from the cells (_with_values).
_OVERVIEW = frozenset(partial_columns()) - set(_VALUES)
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


def _with_values(overview: pl.DataFrame, cells: pl.DataFrame) -> pl.DataFrame:
    """The overview's partials with the latency/TTFT values the cells gathered (per model
    and price keys): percentiles do not depend on the order of the values, so they are
    summarize's to the bit, and the pass gathers every value once, not twice."""
    finest = ["model", *PRICE_KEYS]
    values = cells.group_by(finest).agg(pl.col(c).explode().drop_nulls() for c in _VALUES)
    joined = overview.join(values, on=finest, how="left", nulls_equal=True,
                           maintain_order="left")
    empty = pl.lit([], dtype=pl.List(pl.Float64))
    return joined.with_columns(pl.col(c).fill_null(empty) for c in _VALUES)


def _people(lazy: pl.LazyFrame, overview: pl.DataFrame, table: PriceTable,
            keys: list[str]) -> dict[str, pl.DataFrame]:
    """Requests, cost, priced and unpriced records per user and per session: each record
    priced by the one formula (:func:`~genailog.pricing.cost.cost_columns`) with the rates
    the overview's partials already resolved per model and price keys (a plain join, no
    lookup per batch), both group-bys over one scan."""
    if not keys:
        return {}
    rates = overview.select("model", *PRICE_KEYS, pl.struct(
        pl.col(f"_rate_{r}").alias(r) for r in _RATES).alias("_rates"))
    needed = ["model", "timestamp", "cost_usd", "input_tokens", "output_tokens",
              "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", *keys]
    priced = (lazy.select(list(dict.fromkeys(needed))).with_columns(price_keys(table))
              .join(rates.lazy(), on=["model", *PRICE_KEYS], how="left")
              .with_columns(cost_columns()))
    aggs = [pl.len().cast(pl.Int64).alias("requests"), pl.col("_cost").sum().alias("cost_usd"),
            pl.col("_cost").count().alias("cost_usd_count"),
            pl.col("_unpriced").sum().alias("unpriced_requests")]
    frames = pl.collect_all([priced.group_by(key).agg(aggs) for key in keys])
    return dict(zip(keys, frames, strict=True))


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
    window = opts.window or _window_for(_span(lazy))
    timed = lazy.with_columns(pl.col("timestamp").dt.truncate(window).alias(WINDOW_KEY))
    # The eval scores' scan and JSON decode need nothing from the main pass, and the
    # per-user and per-session costs need only its overview: a thread runs each beside
    # the main thread's work (polars releases the GIL). 2.50 s -> 2.43 s on 1M records.
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pending = pool.submit(_eval_scores, timed, vf) if "eval_scores" in schema else None
        watch = SampledRecords()  # sampling seen in the same pass, not by a second read
        parts = stage_many(timed, [[], [WINDOW_KEY, "model", vf]], table,
                           only=[_OVERVIEW, _CELLS], watch=watch)
        found = pending.result() if pending is not None else None
        people_pending = pool.submit(_people, lazy, parts[0], table, [
            k for k in ("user_id", "session_id") if k in schema])
        overview = result_from(_with_values(parts[0], parts[1]), [], None, None, skipped,
                               table.to_dict())
        sampled = watch.found
        if sampled:  # weighted estimates need the records: summarize's own path
            overview = replace(summarize(lazy, prices=table), skipped_records=skipped)
        cells, starts = _cells(parts[1], vf)
        evals = _eval_cells(found, starts, vf)
        by_model = _by_model(cells, len(starts))
        ecdf, timing = _latency(parts[1], starts, [m for m in by_model if m != "(null)"])
        people = people_pending.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    report = Report(
        title=opts.title, window=window, windows=[_label(s, window) for s in starts],
        overview=overview.to_dict(), by_model=by_model,
        cost_by_version=_cost_by_version(cells, vf),
        top_users=_top(people.get("user_id"), "user_id", opts.top),
        top_sessions=_top(people.get("session_id"), "session_id", opts.top),
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
    linear interpolation between its two order statistics, as ``quantile_cont`` does."""
    per = values.filter(pl.col("_m") >= 0).group_by("_m").agg(pl.col("v").sort())
    if per.height == 0:
        return {}
    v, last = pl.col("v"), pl.col("v").list.len().cast(pl.Int64) - 1
    points = []
    for j, q in enumerate(qs):
        pos = pl.lit(q, dtype=pl.Float64) * last
        low = pos.floor().cast(pl.Int64)
        below, above = v.list.get(low), v.list.get(pl.min_horizontal(low + 1, last))
        points.append((below + (above - below) * (pos - low)).alias(f"q{j}"))
    rows = per.select("_m", *points).iter_rows()
    return {int(row[0]): list(row[1:]) for row in rows}


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
    return _with_model_code(rows, models).explode("v").drop_nulls("v")


def _latency(part: pl.DataFrame, starts: list[datetime],
             models: list[str]) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each model's latency ECDF (quantiles 0, 0.02, ..., 1), p50/p95/p99 of latency and
    TTFT per window, and each model's p95 per window."""
    windows = len(starts)
    out: dict[str, dict[str, list[float | None]]] = {}
    latency = _values(part, starts, "latency_ms", models)
    per_model = _ecdf(latency, _linspace(ECDF_POINTS))
    ecdf = {m: per_model[i] for i, m in enumerate(models) if i in per_model}
    qs = [p / 100 for p in _PCTS]
    for column, values in (("latency_ms", latency),
                           ("ttft_ms", _values(part, starts, "ttft_ms", models))):
        per = _quantiles_by(values, ["_i"], qs)
        if per:
            out[column] = {f"p{p}": [per[i][j] if i in per else None for i in range(windows)]
                           for j, p in enumerate(_PCTS)}
    cells = _quantiles_by(latency.filter(pl.col("_m") >= 0), ["_i", "_m"], [0.95])
    if cells:
        out["latency_ms_p95_by_model"] = {
            m: [cells[(i, c)][0] if (i, c) in cells else None for i in range(windows)]
            for c, m in enumerate(models)}
    return ecdf, out


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


def _eval_scores(timed: pl.LazyFrame, vf: str) -> tuple[pl.DataFrame, pl.Series] | None:
    """The records with eval scores (window, version) and their scores decoded; None when
    there are none. ``eval_scores`` holds JSON objects: each distinct text is decoded
    once, with the schema inferred from all of them, so no score name is missed. Needs no
    result of the main pass, so it runs beside it."""
    scores = (timed.select(WINDOW_KEY, vf, "eval_scores")
              .filter(pl.col("eval_scores").is_not_null() & pl.col(WINDOW_KEY).is_not_null())
              .collect())
    if scores.height == 0:
        return None
    decoded = scores["eval_scores"]
    if decoded.dtype == pl.String:
        texts = decoded.unique()
        try:
            parsed = texts.str.json_decode(infer_schema_length=None)
        except pl.exceptions.PolarsError:
            return None  # not objects: the section says nothing about them
        lookup = pl.DataFrame({"eval_scores": texts, "_decoded": parsed})
        decoded = scores.select("eval_scores").join(
            lookup, on="eval_scores", how="left", maintain_order="left")["_decoded"]
    return scores, decoded


def _eval_cells(found: tuple[pl.DataFrame, pl.Series] | None, starts: list[datetime],
                vf: str) -> pl.DataFrame | None:
    """Sums and counts of each numeric eval score per window and version (from
    :func:`_eval_scores`); None when there are none."""
    if found is None:
        return None
    scores, decoded = found
    if not isinstance(decoded.dtype, pl.Struct):
        return None
    names = [f.name for f in decoded.dtype.fields
             if f.dtype.is_numeric() or f.dtype == pl.Boolean][:MAX_EVALS]
    wide = _window_index(scores.select(WINDOW_KEY, vf).with_columns(
        decoded.struct.field(n).cast(pl.Float64).alias(f"eval_scores.{n}") for n in names),
        starts)
    return wide.group_by("_i", vf).agg(
        *(pl.col(f"eval_scores.{n}").sum().alias(f"eval_scores.{n}") for n in names),
        *(pl.col(f"eval_scores.{n}").count().alias(f"eval_scores.{n}#") for n in names))


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
