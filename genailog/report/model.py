"""What ``genailog report`` shows, computed from logs: aggregates only, never records.

:func:`build_report` reads the logs once, keeps the columns the sections need in memory,
and computes every section from it: the overview is :func:`genailog.summarize` itself (so
its numbers are summarize's, to the bit), cost and errors per window, model and prompt
version come from summarize's :func:`~genailog.analysis.summarize.aggregate` (one error
rule, one cost formula), the rest are small polars group-bys. The diff and drift sections
are :func:`diff_prompts` and :func:`detect_drift` on the same records. Everything kept is
sized by groups and windows: series per window, 51 latency quantiles per model, the top
users and sessions. Rendering is :mod:`genailog.report.html`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from genailog.analysis.filters import apply_filters
from genailog.analysis.summarize import WINDOW_KEY, aggregate, summarize
from genailog.errors import GenailogError, UsageError
from genailog.pricing import PriceTable, default_prices, load_prices
from genailog.pricing.cost import with_cost

if TYPE_CHECKING:
    from genailog.ingest import Logs

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


def build_report(logs: Logs | pl.LazyFrame | pl.DataFrame | str | Path | Sequence[str | Path],
                 options: ReportOptions | None = None) -> Report:
    """The report's numbers for ``logs`` (paths, a :class:`Logs`, or a canonical frame)."""
    opts = options or ReportOptions()
    lazy, skipped = _read(logs)
    schema = lazy.collect_schema()
    if opts.version_field not in schema:
        raise UsageError(f"--version-field {opts.version_field!r} is not a field of these logs")
    lazy = apply_filters(lazy, where=opts.where, since=opts.since, until=opts.until)
    frame = lazy.collect()
    table = _table(opts.prices)
    overview = summarize(frame, prices=table)
    overview = replace(overview, skipped_records=skipped)
    window = opts.window or _window_for(overview.total["span_seconds"])
    if frame.height == 0 or frame["timestamp"].null_count() == frame.height:
        raise UsageError("no timestamped records to report on (check --where/--since/--until)")
    timed = frame.filter(pl.col("timestamp").is_not_null()).with_columns(
        pl.col("timestamp").dt.truncate(window).alias(WINDOW_KEY))
    starts = timed[WINDOW_KEY].unique().sort().to_list()
    index = pl.DataFrame({WINDOW_KEY: starts, "_i": range(len(starts))},
                         schema={WINDOW_KEY: timed.schema[WINDOW_KEY], "_i": pl.Int64})
    timed = timed.join(index, on=WINDOW_KEY, how="left")
    vf = opts.version_field
    groups = aggregate(timed.lazy(), ["_i", "model", vf], table)[0].select(
        "_i", "model", vf, "requests", "errors", "cost_usd", "cost_usd_count", "first_timestamp")
    report = Report(
        title=opts.title, window=window, windows=[_label(s, window) for s in starts],
        overview=overview.to_dict(), by_model=_by_model(groups, len(starts)),
        cost_by_version=_cost_by_version(groups, vf),
        top_users=_top(frame, "user_id", table, opts.top),
        top_sessions=_top(frame, "session_id", table, opts.top),
        latency_ecdf=_ecdf(frame), timing=_timing(timed, len(starts)),
        quality_over_time=_quality(timed, ["_i"], groups, len(starts)),
        quality_by_version=_quality_by_version(timed, vf),
        version_field=vf,
    )
    if opts.diff:
        report.diff, note = _diff(frame, groups, opts)
        _note(report, "diff", note)
    if opts.drift:
        report.drift, note = _drift(frame, window)
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


def _summed_cost() -> pl.Expr:
    """Cost of merged groups: null when no record of them had a cost, never $0."""
    return (pl.when(pl.col("cost_usd_count").sum() > 0).then(pl.col("cost_usd").sum())
            .alias("cost_usd"))


def _by_model(groups: pl.DataFrame, windows: int) -> dict[str, dict[str, list[float | None]]]:
    """Requests, errors and cost per window, one series each per model (largest first)."""
    per = groups.group_by("_i", "model").agg(
        pl.col("requests").sum(), pl.col("errors").sum(), _summed_cost(),
        pl.col("cost_usd_count").sum())
    order = (per.group_by("model").agg(pl.col("requests").sum())
             .sort(["requests", "model"], descending=[True, False], nulls_last=True))
    out = {}
    for model in order["model"].to_list():
        part = per.filter(pl.col("model").eq_missing(model))
        out["(null)" if model is None else str(model)] = {
            name: _series(part, name, windows) for name in ("requests", "errors", "cost_usd")}
    return out


def _cost_by_version(groups: pl.DataFrame, vf: str) -> list[tuple[str, float]]:
    per = (groups.group_by(vf).agg(_summed_cost(), pl.col("cost_usd_count").sum())
           .filter(pl.col("cost_usd").is_not_null()).sort(vf, nulls_last=True))
    return [("(null)" if v is None else str(v), float(c))
            for v, c in zip(per[vf].to_list(), per["cost_usd"].to_list(), strict=True)]


def _top(frame: pl.DataFrame, key: str, table: PriceTable, top: int) -> list[dict[str, Any]]:
    """The ``top`` values of ``key`` by cost, each record priced by the one cost formula
    (genailog.pricing.cost.with_cost): reported cost, else computed, else unpriced."""
    if key not in frame.columns or frame[key].null_count() == frame.height:
        return []
    priced = with_cost(frame.lazy().filter(pl.col(key).is_not_null()), table)
    per = (priced.group_by(key).agg(
        pl.len().alias("requests"), pl.col("_cost").sum().alias("cost_usd"),
        pl.col("_cost").count().alias("priced"), pl.col("_unpriced").sum().alias("unpriced"))
        .filter(pl.col("priced") > 0)
        .sort(["cost_usd", key], descending=[True, False]).head(top).collect())
    return [{"key": str(r[key]), "requests": r["requests"], "cost_usd": r["cost_usd"],
             "unpriced_requests": r["unpriced"]} for r in per.to_dicts()]


def _ecdf(frame: pl.DataFrame) -> dict[str, list[float]]:
    """Each model's latency at quantiles 0, 0.02, ..., 1 (linear interpolation)."""
    per = (frame.filter(pl.col("latency_ms").is_not_null() & pl.col("model").is_not_null())
           .group_by("model").agg(pl.col("latency_ms").sort(), pl.len().alias("n"))
           .sort(["n", "model"], descending=[True, False]))
    qs = np.linspace(0.0, 1.0, ECDF_POINTS)
    return {str(m): [float(v) for v in np.quantile(np.asarray(values, dtype=float), qs)]
            for m, values in zip(per["model"].to_list(), per["latency_ms"].to_list(),
                                 strict=True)}


def _timing(timed: pl.DataFrame, windows: int) -> dict[str, dict[str, list[float | None]]]:
    """p50/p95/p99 of latency and TTFT per window, and each model's p95 per window."""
    exprs = [pl.col(c).quantile(p / 100, "linear").alias(f"{c}_p{p}")
             for c in ("latency_ms", "ttft_ms") for p in _PCTS]
    per = timed.group_by("_i").agg(exprs)
    out = {c: {f"p{p}": _series(per, f"{c}_p{p}", windows) for p in _PCTS}
           for c in ("latency_ms", "ttft_ms")}
    by_model = (timed.filter(pl.col("model").is_not_null()).group_by("_i", "model")
                .agg(pl.col("latency_ms").quantile(0.95, "linear").alias("p95")))
    models = by_model.group_by("model").agg(pl.len()).sort("model")["model"].to_list()
    out["latency_ms_p95_by_model"] = {
        str(m): _series(by_model.filter(pl.col("model") == m), "p95", windows) for m in models}
    return {k: v for k, v in out.items() if any(x is not None for s in v.values() for x in s)}


def _quality_exprs() -> list[pl.Expr]:
    """Rates and means over the records that have the field (summarize's rule)."""
    return [
        *(pl.col(flag).cast(pl.Float64).mean().alias(rate) for flag, rate in _QUALITY),
        pl.col("feedback_rating").mean().alias("feedback_mean"),
        *(pl.col(flag).count().alias(f"{rate}_count") for flag, rate in _QUALITY),
        pl.col("feedback_rating").count().alias("feedback_count"),
    ]


def _quality(timed: pl.DataFrame, keys: list[str], groups: pl.DataFrame,
             windows: int) -> dict[str, list[float | None]]:
    per = timed.group_by(keys).agg(_quality_exprs())
    out = {name: _series(per, name, windows)
           for name in ("hallucination_rate", "refusal_rate", "feedback_mean")}
    errors = groups.group_by("_i").agg(
        (pl.col("errors").sum() / pl.col("requests").sum()).alias("error_rate"))
    out["error_rate"] = _series(errors, "error_rate", windows)
    for name, per_eval in _evals(timed, "_i").items():
        out[f"eval_scores.{name}"] = _series(per_eval, "mean", windows)
    return {k: v for k, v in out.items() if any(x is not None for x in v)}


def _quality_by_version(timed: pl.DataFrame, vf: str) -> list[dict[str, Any]]:
    per = timed.group_by(vf).agg(pl.len().alias("requests"), *_quality_exprs())
    rows = {("(null)" if r[vf] is None else str(r[vf])): {**r, vf: None}
            for r in per.to_dicts()}
    for name, per_eval in _evals(timed, vf).items():
        for version, mean in zip(per_eval[vf].to_list(), per_eval["mean"].to_list(),
                                 strict=True):
            rows["(null)" if version is None else str(version)][f"eval_scores.{name}"] = mean
    return [{"version": k, **{n: v for n, v in r.items() if n != vf}}
            for k, r in sorted(rows.items())]


def _evals(timed: pl.DataFrame, key: str) -> dict[str, pl.DataFrame]:
    """Mean of each numeric eval score per ``key``; eval_scores holds JSON objects."""
    if "eval_scores" not in timed.columns:
        return {}
    scores = timed.select(key, "eval_scores").filter(pl.col("eval_scores").is_not_null())
    if scores.height == 0:
        return {}
    decoded = scores["eval_scores"]
    if decoded.dtype == pl.String:
        try:
            decoded = decoded.str.json_decode(infer_schema_length=None)
        except pl.exceptions.PolarsError:
            return {}  # not objects: the section says nothing about them
    if not isinstance(decoded.dtype, pl.Struct):
        return {}
    names = [f.name for f in decoded.dtype.fields
             if f.dtype.is_numeric() or f.dtype == pl.Boolean][:MAX_EVALS]
    wide = scores.select(key).with_columns(
        decoded.struct.field(n).cast(pl.Float64).alias(f"_e{i}") for i, n in enumerate(names))
    per = wide.group_by(key).agg(pl.col(f"_e{i}").mean() for i in range(len(names)))
    return {n: per.select(key, pl.col(f"_e{i}").alias("mean")) for i, n in enumerate(names)}


def _diff(frame: pl.DataFrame, groups: pl.DataFrame,
          opts: ReportOptions) -> tuple[dict[str, Any] | None, str | None]:
    """diff-prompts of the two most recently first-seen versions (or the ones asked)."""
    from genailog.analysis.compare import DiffOptions, diff_prompts

    vf = opts.version_field
    baseline, candidate = opts.baseline, opts.candidate
    if baseline is None or candidate is None:
        seen = (groups.filter(pl.col(vf).is_not_null()).group_by(vf)
                .agg(pl.col("first_timestamp").min()).sort("first_timestamp", vf))
        versions = seen[vf].to_list()
        if len(versions) < 2:
            return None, f"fewer than two values of {vf}: nothing to compare"
        if seen["first_timestamp"].null_count():
            return None, "versions have no timestamps: pass --baseline and --candidate"
        baseline, candidate = baseline or versions[-2], candidate or versions[-1]
    try:
        result = diff_prompts(frame, str(baseline), str(candidate), DiffOptions(version_field=vf))
    except GenailogError as exc:
        return None, str(exc)
    return result.to_dict(), None


def _drift(frame: pl.DataFrame, window: str) -> tuple[dict[str, Any] | None, str | None]:
    from genailog.analysis.drift import DriftOptions, detect_drift

    try:
        result = detect_drift(frame, options=DriftOptions(window=window))
    except GenailogError as exc:
        return None, str(exc)
    return result.to_dict(), None
