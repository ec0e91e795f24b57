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

from genailog.analysis.summarize import WINDOW_KEY, summarize
from genailog.errors import GenailogError, UsageError
from genailog.pricing import PriceTable, default_prices, load_prices
from genailog.pricing.cost import with_cost
from genailog.query.filters import apply_filters
from genailog.schema.rules import check_window as _window_grammar
from genailog.schema.rules import is_error

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


#: The columns the sections beyond the overview read (the overview is summarize's own read).
_NEEDED = ("timestamp", "model", "status", "error_type", "input_tokens", "output_tokens",
           "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
           "latency_ms", "ttft_ms", "hallucination_flag", "refusal", "feedback_rating",
           "eval_scores", "user_id", "session_id")  # fmt: skip


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
    # summarize reads its own columns, streaming, exactly as `genailog summarize` does
    overview = replace(summarize(lazy, prices=table), skipped_records=skipped)
    frame = lazy.select(list(dict.fromkeys(c for c in (*_NEEDED, vf) if c in schema))).collect()
    if frame.height == 0 or frame["timestamp"].null_count() == frame.height:
        raise UsageError("no timestamped records to report on (check --where/--since/--until)")
    window = opts.window or _window_for(overview.total["span_seconds"])
    priced = with_cost(frame.lazy(), table).collect()
    timed = priced.filter(pl.col("timestamp").is_not_null()).with_columns(
        pl.col("timestamp").dt.truncate(window).alias(WINDOW_KEY)).with_columns(
        (pl.col(WINDOW_KEY).rank("dense") - 1).cast(pl.Int64).alias("_i"))
    starts = timed.select(pl.col(WINDOW_KEY).unique().sort())[WINDOW_KEY].to_list()
    cells, evals = _cells(timed, vf), _eval_cells(timed, vf)
    by_model = _by_model(cells, len(starts))
    ecdf, timing = _latency(timed, [m for m in by_model if m != "(null)"], len(starts))
    report = Report(
        title=opts.title, window=window, windows=[_label(s, window) for s in starts],
        overview=overview.to_dict(), by_model=by_model,
        cost_by_version=_cost_by_version(cells, vf),
        top_users=_top(priced, "user_id", opts.top),
        top_sessions=_top(priced, "session_id", opts.top),
        latency_ecdf=ecdf, timing=timing,
        quality_over_time=_quality(cells, evals, len(starts)),
        quality_by_version=_quality_by_version(cells, evals, vf),
        version_field=vf,
    )
    if overview.sampling is not None:
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


def _cells(timed: pl.DataFrame, vf: str) -> pl.DataFrame:
    """Additive partials per window, model and version, from one group-by: requests,
    errors (summarize's rule), cost (the one cost formula, via ``with_cost``), and the
    sums and counts behind the quality rates and means."""
    col = pl.col
    # categorical keys group about 2x faster than strings (measured on 1M records)
    keyed = timed.with_columns(col("model", vf).cast(pl.Categorical))
    return keyed.group_by("_i", "model", vf).agg(
        pl.len().alias("requests"), is_error().sum().alias("errors"),
        col("_cost").sum().alias("cost_usd"), col("_cost").count().alias("cost_usd_count"),
        col("timestamp").min().alias("first_timestamp"),
        *(col(flag).sum().alias(f"{rate}_sum") for flag, rate in _QUALITY),
        *(col(flag).count().alias(f"{rate}_count") for flag, rate in _QUALITY),
        col("feedback_rating").sum().alias("feedback_mean_sum"),
        col("feedback_rating").count().alias("feedback_mean_count"),
    ).with_columns(col("model").cast(timed.schema["model"]), col(vf).cast(timed.schema[vf]))


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


def _top(priced: pl.DataFrame, key: str, top: int) -> list[dict[str, Any]]:
    """The ``top`` values of ``key`` by cost (records priced by ``with_cost``)."""
    if key not in priced.columns or priced[key].null_count() == priced.height:
        return []
    per = (priced.lazy().filter(pl.col(key).is_not_null()).group_by(key).agg(
        pl.len().alias("requests"), pl.col("_cost").sum().alias("cost_usd"),
        pl.col("_cost").count().alias("priced"), pl.col("_unpriced").sum().alias("unpriced"))
        .filter(pl.col("priced") > 0)
        .sort(["cost_usd", key], descending=[True, False]).head(top).collect())
    return [{"key": str(r[key]), "requests": r["requests"], "cost_usd": r["cost_usd"],
             "unpriced_requests": r["unpriced"]} for r in per.to_dicts()]


class SortedValues:
    """One column's non-null values sorted once, to take quantiles per any grouping:
    each grouping is then a stable radix sort of small integer keys, not another sort of
    the values. Quantiles interpolate linearly (numpy's and polars' ``linear``, the rule
    summarize uses)."""

    def __init__(self, frame: pl.DataFrame, column: str, keys: list[str]) -> None:
        rows = frame.select(*keys, column).filter(pl.col(column).is_not_null())
        order = np.argsort(rows[column].to_numpy(), kind="quicksort")
        self.values = rows[column].to_numpy()[order]
        self.keys = {k: rows[k].to_numpy()[order] for k in keys}

    def quantiles(self, key: Any, qs: Sequence[float]) -> dict[int, list[float]]:
        """``qs`` per value of ``key`` (a non-negative integer array aligned with the
        sorted values; negative keys are left out)."""
        keep = key >= 0
        key, values = key[keep], self.values[keep]
        small = key.astype(np.int16 if key.size == 0 or key.max() < 2**15 else np.int64)
        order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys
        key, values = key[order], values[order]
        if key.size == 0:
            return {}
        firsts = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1))
        counts = np.diff(np.concatenate((firsts, [key.size])))
        at = np.asarray(qs, dtype=float)
        out = {}
        for first, n in zip(firsts.tolist(), counts.tolist(), strict=True):
            part = values[first:first + n]
            pos = at * (n - 1)
            low = np.floor(pos).astype(np.int64)
            high = np.minimum(low + 1, n - 1)
            out[int(key[first])] = (part[low] + (part[high] - part[low]) * (pos - low)).tolist()
        return out


def _with_model_code(timed: pl.DataFrame, models: list[str]) -> pl.DataFrame:
    """``_m``: the model's index in ``models``, -1 for a null or unlisted model."""
    codes = pl.DataFrame({"model": models, "_m": list(range(len(models)))},
                         schema={"model": timed.schema["model"], "_m": pl.Int64})
    return timed.join(codes, on="model", how="left").with_columns(pl.col("_m").fill_null(-1))


def _latency(timed: pl.DataFrame, models: list[str],
             windows: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Each model's latency ECDF (quantiles 0, 0.02, ..., 1), p50/p95/p99 of latency and
    TTFT per window, and each model's p95 per window."""
    coded = _with_model_code(timed.select("_i", "model", "latency_ms", "ttft_ms"), models)
    out: dict[str, dict[str, list[float | None]]] = {}
    latency = SortedValues(coded, "latency_ms", ["_i", "_m"])
    per_model = latency.quantiles(latency.keys["_m"], np.linspace(0, 1, ECDF_POINTS).tolist())
    ecdf = {m: per_model[i] for i, m in enumerate(models) if i in per_model}
    qs = [p / 100 for p in _PCTS]
    for column, values in (("latency_ms", latency),
                           ("ttft_ms", SortedValues(coded, "ttft_ms", ["_i"]))):
        per = values.quantiles(values.keys["_i"], qs)
        if per:
            out[column] = {f"p{p}": [per[i][j] if i in per else None for i in range(windows)]
                           for j, p in enumerate(_PCTS)}
    cell = np.where(latency.keys["_m"] >= 0, latency.keys["_i"] * len(models)
                    + latency.keys["_m"], -1)
    per = latency.quantiles(cell, [0.95])
    if per:
        out["latency_ms_p95_by_model"] = {
            m: [per[i * len(models) + c][0] if i * len(models) + c in per else None
                for i in range(windows)] for c, m in enumerate(models)}
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


def _eval_cells(timed: pl.DataFrame, vf: str) -> pl.DataFrame | None:
    """Sums and counts of each numeric eval score per window and version, from one decode
    of ``eval_scores`` (JSON objects); None when there are none."""
    if "eval_scores" not in timed.columns:
        return None
    scores = timed.select("_i", vf, "eval_scores").filter(pl.col("eval_scores").is_not_null())
    if scores.height == 0:
        return None
    decoded = scores["eval_scores"]
    if decoded.dtype == pl.String:
        try:
            decoded = decoded.str.json_decode(infer_schema_length=None)
        except pl.exceptions.PolarsError:
            return None  # not objects: the section says nothing about them
    if not isinstance(decoded.dtype, pl.Struct):
        return None
    names = [f.name for f in decoded.dtype.fields
             if f.dtype.is_numeric() or f.dtype == pl.Boolean][:MAX_EVALS]
    wide = scores.select("_i", vf).with_columns(
        decoded.struct.field(n).cast(pl.Float64).alias(f"eval_scores.{n}") for n in names)
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
