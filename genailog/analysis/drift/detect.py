"""``detect_drift``: compare every time window of the logs with a reference.

Flow: choose features and methods -> tag rows as reference or window (``windows.split``)
-> collect the feature columns once (text and embeddings sampled per window) -> run one
method per feature and window -> ``DriftResult``.

False alarms: with F features and W windows there are F*W tests, so each test runs at
``alpha / (F*W)`` (Bonferroni), and most methods also need an effect size above their
threshold. A run over stationary logs therefore alarms with probability at most about
``alpha`` (0.01 by default) and usually far less.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from genailog.analysis.drift.describe import describe
from genailog.analysis.drift.features import NULL_LABEL, Feature, default_features, resolve
from genailog.analysis.drift.registry import (
    DEFAULT_METHOD,
    FEATURE_TYPES,
    METHODS,
    Method,
    get_method,
)
from genailog.analysis.drift.result import DriftResult, FeatureDrift, Span, WindowDrift
from genailog.analysis.drift.windows import (
    Split,
    check_window,
    sample_mask,
    split,
    window_end,
)
from genailog.errors import UsageError
from genailog.ingest.reader import Logs
from genailog.query.filters import apply_filters, check_where

#: A feature is judged in a window only with at least this many non-null values on each side.
MIN_VALUES = 30


@dataclass(frozen=True)
class DriftOptions:
    """Everything that shapes a drift run; the defaults are documented in docs/drift.md."""

    window: str = "1d"
    reference_window: tuple[datetime, datetime] | None = None
    features: tuple[str, ...] = ()
    #: feature name or feature type -> method name
    methods: Mapping[str, str] = field(default_factory=dict)
    #: feature name or method name -> threshold
    thresholds: Mapping[str, float] = field(default_factory=dict)
    alpha: float = 0.01
    min_records: int = 100
    drift_share: float | None = None
    sample_size: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class Plan:
    """A feature with the method and threshold it is judged by."""

    feature: Feature
    method: Method
    threshold: float


def _plans(schema: pl.Schema, options: DriftOptions) -> list[Plan]:
    features = ([resolve(spec, schema) for spec in options.features] if options.features
                else default_features(schema))
    unique: dict[str, Feature] = {}
    for feature in features:
        unique.setdefault(feature.name, feature)
    features = list(unique.values())
    names = {f.name for f in features}
    reserved = names & {"timestamp", "_ref", "_window"}
    if reserved:
        raise UsageError(f"{', '.join(sorted(reserved))} cannot be a drift feature")
    for key in options.methods:
        if key not in names and key not in FEATURE_TYPES:
            raise UsageError(f"--method {key}=...: {key!r} is not a monitored feature or a type")
    for key in options.thresholds:
        if key not in names and key not in METHODS:
            raise UsageError(f"--threshold {key}=...: {key!r} is not a monitored feature "
                             "or a method")
    plans = []
    for feature in features:
        name = options.methods.get(feature.name) or options.methods.get(feature.kind)
        method = get_method(name or DEFAULT_METHOD[feature.kind], feature.kind, feature.name)
        threshold = options.thresholds.get(
            feature.name, options.thresholds.get(method.name, method.threshold))
        plans.append(Plan(feature, method, float(threshold)))
    return plans


def _check(options: DriftOptions) -> None:
    check_window(options.window)
    if not 0 < options.alpha < 1:
        raise UsageError(f"--alpha {options.alpha}: must be between 0 and 1")
    if options.drift_share is not None and not 0 < options.drift_share <= 1:
        raise UsageError(f"--drift-share {options.drift_share}: must be in (0, 1]")
    if options.min_records < 1 or options.sample_size < MIN_VALUES:
        raise UsageError(f"--min-records must be >= 1 and --sample-size >= {MIN_VALUES}")


def _collect(frame: pl.LazyFrame, plans: list[Plan], options: DriftOptions) -> pl.DataFrame:
    """All feature columns, once; text and embeddings nulled outside the per-window sample."""
    columns = frame.select("_ref", "_window", "timestamp", *(p.feature.expr for p in plans))
    sampled = [p.feature.name for p in plans if p.feature.kind in ("text", "embedding")]
    columns = columns.with_columns(
        pl.when(sample_mask(name, options.sample_size, options.seed)).then(pl.col(name))
        .alias(name) for name in sampled
    )
    return columns.collect()


#: Categorical label counts per (is reference, window start): feature -> label -> count.
#: Merged partials carry these instead of the categorical columns (drift/partial.py).
Counts = Mapping[tuple[bool, datetime | None], Mapping[str, Mapping[str, int]]]


def values(frame: pl.DataFrame, feature: Feature, counts: Counts | None = None,
           key: tuple[bool, datetime | None] = (True, None)) -> Any:
    """A feature's values in the form its methods take (nulls dropped, labelled for
    categories); categorical counts come from ``counts[key]`` when given."""
    if feature.kind == "categorical" and counts is not None:
        return dict(counts.get(key, {}).get(feature.name, {}))
    series = frame.get_column(feature.name)
    if feature.kind == "categorical":  # counted here: far faster than by the methods
        tally = series.value_counts()
        return dict(zip(tally.get_column(feature.name).to_list(),
                        tally.get_column("count").to_list(), strict=True))
    series = series.drop_nulls()
    if feature.kind == "numeric":
        array = series.to_numpy().astype(np.float64)
        return array[np.isfinite(array)]
    if feature.kind == "text":
        return series.to_list()
    if series.len() and series.list.len().n_unique() > 1:
        raise UsageError(f"feature {feature.name!r}: vectors have different lengths")
    return np.asarray(series.to_list(), dtype=np.float64).reshape(series.len(), -1)


def _absent(plan: Plan, reference: pl.DataFrame, data: pl.DataFrame,
            counts: Counts | None = None) -> str | None:
    """Why a feature cannot be monitored at all, or None."""
    if plan.feature.kind == "categorical" and counts is not None:
        labels = {label for by in counts.values() for label in by.get(plan.feature.name, {})}
        return "not logged" if labels <= {NULL_LABEL} else None
    column = data.get_column(plan.feature.name)
    if plan.feature.kind == "categorical":
        return "not logged" if (column == NULL_LABEL).all() else None
    if column.null_count() == column.len():
        return "not logged"
    if reference.get_column(plan.feature.name).null_count() == reference.height:
        return "no values in the reference"
    return None


def size(values: Any) -> int:
    """Number of values: rows, or the total count of a label -> count mapping."""
    return sum(values.values()) if isinstance(values, dict) else len(values)


def _judge(plan: Plan, reference: Any, current: Any, alpha: float, seed: int) -> FeatureDrift:
    kind, name = plan.feature.kind, plan.feature.name
    n_ref, n_cur = size(reference), size(current)
    if kind == "embedding" and n_ref and n_cur and reference.shape[1] != current.shape[1]:
        raise UsageError(f"feature {name!r}: vectors of length {current.shape[1]} in a window, "
                         f"{reference.shape[1]} in the reference")
    if min(n_ref, n_cur) < MIN_VALUES:
        return FeatureDrift(name, kind, plan.method.name, None, plan.threshold, False, False,
                            f"too few values ({n_cur} in window, {n_ref} in reference; "
                            f"need {MIN_VALUES})")
    result = plan.method.run(kind, reference, current, threshold=plan.threshold, alpha=alpha,
                             seed=seed)
    return FeatureDrift(name, kind, plan.method.name, result.score, result.threshold,
                        result.drifted, True, describe(kind, reference, current, result),
                        result.detail)


def _reference_span(data: pl.DataFrame, source: str, start: datetime | None,
                    end: datetime | None) -> Span:
    ref = data.filter(pl.col("_ref"))
    if source == "reference_paths":
        stamps = ref.get_column("timestamp")
        start, end = stamps.min(), stamps.max()  # type: ignore[assignment]
    return Span(start, end, ref.height)


Source = Logs | pl.LazyFrame | pl.DataFrame


def check_options(options: DriftOptions, where: str | None) -> None:
    """What can be judged before any log is read."""
    _check(options)
    check_where(where)


def _load(source: Source, *, where: str | None, since: str | datetime | None = None,
          until: str | datetime | None = None,
          ) -> tuple[pl.LazyFrame, dict[str, Any] | None]:
    """A filtered LazyFrame, and the read report when ``source`` is :class:`Logs`.
    Reading paths is the caller's job (``genailog.detect_drift`` in api.py)."""
    if isinstance(source, pl.LazyFrame | pl.DataFrame):
        frame, report = source.lazy(), None
    elif isinstance(source, str | Path | Sequence):
        raise TypeError("analysis.drift.detect_drift takes logs already read; "
                        "genailog.detect_drift (genailog/api.py) takes paths")
    else:
        frame, report = source.frame, source.report.to_dict()
    return apply_filters(frame, where=where, since=since, until=until), report


def detect_drift(
    source: Source,
    *,
    reference: Source | None = None,
    options: DriftOptions | None = None,
    where: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> DriftResult:
    """Compare each ``options.window`` of ``source`` (logs already read, or a frame) with a
    reference.

    The reference is ``reference`` (separate logs) when given, else the records inside
    ``options.reference_window``, else the first window. ``where`` filters both sides;
    ``since``/``until`` bound ``source`` only.
    """
    options = options or DriftOptions()
    check_options(options, where)
    lazy, report = _load(source, where=where, since=since, until=until)
    ref_lazy, ref_report = (None, None) if reference is None else _load(reference, where=where)
    plans = _plans(lazy.collect_schema(), options)
    parts = split(lazy, options.window, reference=ref_lazy,
                  reference_window=options.reference_window)
    data = _collect(parts.frame, plans, options)
    return judge(data, plans, options, parts, _inputs(report, ref_report))


def judge(data: pl.DataFrame, plans: list[Plan], options: DriftOptions, parts: Split,
          inputs: dict[str, Any] | None, counts: Counts | None = None) -> DriftResult:
    """Every feature of every window judged against the reference, from the collected
    rows (``_ref``, ``_window``, ``timestamp`` and the features; categorical ones may come
    as ``counts`` instead)."""
    ref = data.filter(pl.col("_ref"))
    if ref.height < options.min_records:
        raise UsageError(f"the reference holds {ref.height} records; at least "
                         f"{options.min_records} are needed: choose a longer --window or "
                         "--reference-window, or lower --min-records")
    skipped = [{"feature": p.feature.name, "reason": why} for p in plans
               if (why := _absent(p, ref, data, counts))]
    monitored = [p for p in plans if p.feature.name not in {s["feature"] for s in skipped}]
    windows = sorted(data.filter(~pl.col("_ref")).partition_by("_window", as_dict=True).items(),
                     key=lambda item: item[0])
    judged = sum(part.height >= options.min_records for _, part in windows)
    tests = max(1, judged * len(monitored))
    alpha = options.alpha / tests
    ref_values = {p.feature.name: values(ref, p.feature, counts) for p in monitored}
    results = [_window(key[0], part, monitored, ref_values, alpha, options, counts)
               for key, part in windows]
    return DriftResult(_reference_span(data, parts.source, parts.start, parts.end),
                       parts.source, results, _settings(options, monitored, alpha, tests),
                       skipped, inputs)


def _settings(options: DriftOptions, plans: list[Plan], alpha: float,
              tests: int) -> dict[str, Any]:
    return {
        "window": options.window, "alpha": options.alpha, "alpha_per_test": alpha,
        "tests": tests, "min_records": options.min_records, "min_values": MIN_VALUES,
        "sample_size": options.sample_size, "seed": options.seed,
        "drift_share": options.drift_share,
        "methods": {p.feature.name: p.method.name for p in plans},
        "thresholds": {p.feature.name: p.threshold for p in plans},
    }


def _inputs(report: dict[str, Any] | None,
            ref_report: dict[str, Any] | None) -> dict[str, Any] | None:
    if report is None and ref_report is None:
        return None
    return {"logs": report, "reference": ref_report,
            "skipped": sum((r or {}).get("skipped", 0) for r in (report, ref_report))}


def _window(start: datetime, part: pl.DataFrame, plans: list[Plan],
            ref_values: dict[str, Any], alpha: float, options: DriftOptions,
            counts: Counts | None = None) -> WindowDrift:
    span = Span(start, window_end(start, options.window), part.height)
    if part.height < options.min_records:
        return WindowDrift(span, [], options.drift_share,
                           f"insufficient: {part.height} records < --min-records "
                           f"{options.min_records}")
    features = [_judge(p, ref_values[p.feature.name],
                       values(part, p.feature, counts, (False, start)), alpha, options.seed)
                for p in plans]
    return WindowDrift(span, features, options.drift_share)
