"""Prompt-version regression checks: the library behind ``genailog diff-prompts``.

Compares the records of a baseline and a candidate version (values of ``version_field``),
or two sets of logs (a ``reference``, e.g. main's artifact, and the current one, e.g. a
PR's: no version field needed, a version may still be picked on each side), metric by
metric, with a test and a confidence interval for each, corrects the p-values
for multiple testing, and calls a metric a regression only when it is worse, significant
after correction, and larger than its minimum effect. Pure: no printing, no exit codes.
The statistics themselves live in :mod:`genailog.analysis.stats`.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import polars as pl

from genailog.analysis import stats
from genailog.errors import InputError, NothingToJudge, UsageError
from genailog.query.filters import apply_filters
from genailog.schema.columns import CANONICAL_DTYPES
from genailog.schema.rules import is_error

Kind = Literal["numeric", "rate"]

#: Fewest observations per side (or matched pairs) before a statistic gets a verdict.
#: A p95 needs enough points beyond it (100 gives 5) to be more than the maximum.
MIN_SAMPLES: dict[str, int] = {"median": 20, "mean": 20, "rate": 20, "p95": 100}
_QUANTILES = {"median": 0.5, "p95": 0.95}
_VERSION, _KEY, _SIDE = "__version", "__key", "__side"
#: The two sides of a comparison of two sets of logs (``reference=``).
REFERENCE, CURRENT = "reference", "current"
_TEXT_LIMIT = 300


@dataclass(frozen=True)
class MinEffect:
    """Smallest change that counts: relative (percent of the baseline) or absolute."""

    value: float
    relative: bool = True

    def threshold(self, baseline: float | None) -> float:
        if not self.relative:
            return self.value
        return abs(baseline or 0.0) * self.value / 100.0

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.relative else f"{self.value:g}"


DEFAULT_MIN_EFFECT = MinEffect(5.0)


@dataclass(frozen=True)
class Metric:
    """A compared quantity: how to compute it, which way is better, what to report."""

    name: str
    kind: Kind
    higher_is_better: bool
    statistics: tuple[str, ...]
    expr: pl.Expr
    #: Quality metrics (not cost or speed) are used to pick "got worse" examples.
    quality: bool = False


def _content_filtered() -> pl.Expr:
    """A provider's content filter stopped the reply (null: no finish reason logged)."""
    reason = pl.col("finish_reason")
    return pl.when(reason.is_not_null()).then(reason == "content_filter")


def builtin_metrics() -> dict[str, Metric]:
    """The metrics compared by default, by name."""
    lower, tail, mid = False, ("median", "p95"), ("median",)
    out = [
        Metric("latency_ms", "numeric", lower, tail, pl.col("latency_ms")),
        Metric("ttft_ms", "numeric", lower, tail, pl.col("ttft_ms")),
        Metric("cost_usd", "numeric", lower, mid, pl.col("cost_usd")),
        Metric("input_tokens", "numeric", lower, mid, pl.col("input_tokens")),
        Metric("output_tokens", "numeric", lower, mid, pl.col("output_tokens")),
        Metric("error_rate", "rate", lower, ("rate",), is_error(), quality=True),
        Metric("refusal_rate", "rate", lower, ("rate",), pl.col("refusal"), quality=True),
        Metric("content_filter_rate", "rate", lower, ("rate",), _content_filtered(),
               quality=True),
        Metric("hallucination_rate", "rate", lower, ("rate",), pl.col("hallucination_flag"),
               quality=True),
        Metric("feedback_rating", "numeric", True, ("mean",), pl.col("feedback_rating"),
               quality=True),
    ]
    return {m.name: m for m in out}


@dataclass(frozen=True)
class DiffOptions:
    """Everything ``diff_prompts`` can be told besides the data and the two versions."""

    version_field: str = "prompt_version"
    #: Metric names (builtin, ``eval_scores.NAME``, or a numeric/boolean field, optionally
    #: ``FIELD:higher`` or ``FIELD:lower``); None compares every builtin with data.
    metrics: Sequence[str] | None = None
    pair_on: str | None = None
    alpha: float = 0.05
    min_effect: Mapping[str, MinEffect] = field(default_factory=dict)
    correction: str = "holm"
    seed: int = 0
    resamples: int = 2000
    examples: int = 3
    where: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class MetricResult:
    """One row of the comparison: a statistic of a metric under both versions."""

    metric: str
    statistic: str
    better_when: str
    n_baseline: int
    n_candidate: int
    baseline: float | None = None
    candidate: float | None = None
    delta: float | None = None
    delta_pct: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    test: str | None = None
    ci_method: str | None = None
    min_effect: str = str(DEFAULT_MIN_EFFECT)
    direction: str = "insufficient data"
    significant: bool = False
    regression: bool = False
    note: str | None = None
    #: Sign of the shift when ``delta`` is 0 (the mean difference); not reported.
    shift: float = field(default=0.0, repr=False)

    @property
    def label(self) -> str:
        """``latency_ms p95``; a rate is named by its metric alone (``error_rate``)."""
        return self.metric if self.statistic == "rate" else f"{self.metric} {self.statistic}"

    def to_dict(self) -> dict[str, Any]:
        keys = ("metric", "statistic", "baseline", "candidate", "delta", "delta_pct",
                "ci_low", "ci_high", "p_value", "p_adjusted", "test", "ci_method",
                "direction", "better_when", "significant", "regression", "min_effect",
                "n_baseline", "n_candidate", "note")
        return {k: _finite(getattr(self, k)) for k in keys}


@dataclass(frozen=True)
class PairedChanges:
    """Paired mode: how many responses changed, and a few cases that got worse."""

    matched: int
    responses_compared: int
    responses_changed: int
    cases_worse: int
    examples: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "responses_compared": self.responses_compared,
                "responses_changed": self.responses_changed, "cases_worse": self.cases_worse,
                "examples": self.examples}


@dataclass(frozen=True)
class DiffResult:
    """The outcome of ``diff_prompts``; ``to_dict()`` is the ``--format json`` output."""

    baseline: str
    candidate: str
    version_field: str
    pair_on: str | None
    n_baseline: int
    n_candidate: int
    n_matched: int | None
    alpha: float
    correction: str
    seed: int
    resamples: int
    metrics: list[MetricResult]
    paired_changes: PairedChanges | None = None
    input: Mapping[str, Any] | None = None
    #: Set when two sets of logs were compared (``reference=``): the version picked on
    #: each side (None: all records of that side) and what was read for the reference.
    reference: Mapping[str, Any] | None = None

    @property
    def paired(self) -> bool:
        return self.pair_on is not None

    @property
    def regressions(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.regression]

    @property
    def verdict(self) -> str:
        if self.regressions:
            return "regression"
        if all(m.direction == "insufficient data" for m in self.metrics):
            return "insufficient data"
        return "no regression"

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline, "candidate": self.candidate,
            "version_field": self.version_field, "paired": self.paired,
            "pair_on": self.pair_on, "n_baseline": self.n_baseline,
            "n_candidate": self.n_candidate, "n_matched": self.n_matched,
            "alpha": self.alpha, "confidence": 1.0 - self.alpha,
            "correction": self.correction, "seed": self.seed, "resamples": self.resamples,
            "metrics": [m.to_dict() for m in self.metrics],
            "paired_changes": self.paired_changes.to_dict() if self.paired_changes else None,
            "regressions": [m.label for m in self.regressions],
            "verdict": self.verdict,
            "skipped_records": int(self.input.get("skipped", 0)) if self.input else 0,
            "input": dict(self.input) if self.input is not None else None,
            "reference": dict(self.reference) if self.reference is not None else None,
        }


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


# --- option parsing --------------------------------------------------------------------

_EFFECT = re.compile(r"^\s*([^=\s]+)\s*=\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*(%?)\s*$")


def parse_min_effect(text: str) -> tuple[str, MinEffect]:
    """``latency_ms=10%`` (relative to the baseline) or ``error_rate=0.01`` (absolute)."""
    match = _EFFECT.match(text)
    if not match:
        raise UsageError(
            f"--min-effect {text!r} is not METRIC=VALUE; use e.g. latency_ms=10% "
            "(relative) or error_rate=0.01 (absolute)"
        )
    name, value, pct = match.groups()
    return name, MinEffect(float(value), relative=bool(pct))


# --- data preparation ------------------------------------------------------------------


def _version_counts(lf: pl.LazyFrame, version_field: str) -> dict[str, int]:
    counts = (
        lf.group_by(pl.col(version_field).cast(pl.String).alias(_VERSION))
        .len()
        .collect()
    )
    return {str(v): int(n) for v, n in counts.iter_rows() if v is not None}


def _check_versions(counts: Mapping[str, int], baseline: str, candidate: str,
                    field_: str) -> None:
    """Both versions must have records; a version the logs never hold is a usage error (a
    typo, most likely). Call :func:`_nothing_left` first where the filters or an empty
    input may be why."""
    if baseline == candidate:
        raise UsageError("--baseline and --candidate name the same version")
    missing = [v for v in (baseline, candidate) if v not in counts]
    if missing:
        present = ", ".join(f"{v} ({n})" for v, n in sorted(counts.items())) or "none"
        raise UsageError(
            f"version {', '.join(missing)} not found in field {field_}; "
            f"versions present (records): {present}"
        )


def _nothing_left(frame: pl.LazyFrame | pl.DataFrame, opts: DiffOptions,
                  missing: Sequence[str], subject: str) -> None:
    """Raise :class:`NothingToJudge` (exit 1: a check never passes on nothing) when the
    records a comparison needs are absent because ``subject`` (the input) holds none, or
    because --where/--since/--until removed them (``missing`` versions the unfiltered
    input holds; none asked: every record). Otherwise return: the caller's usage error
    follows. Runs only on that error path, so the unfiltered counts cost nothing else."""
    lazy = frame.lazy()
    if int(lazy.select(pl.len()).collect().item()) == 0:
        raise NothingToJudge(f"diff-prompts: {subject} holds no records, so there is "
                             "nothing to compare")
    if not (opts.where or opts.since is not None or opts.until is not None):
        return
    if missing and not set(missing) <= set(_version_counts(lazy, opts.version_field)):
        return
    what = (f"no records of version {', '.join(missing)}" if missing else "no records")
    where = "" if subject == "the input" else f" in {subject}"
    raise NothingToJudge(f"diff-prompts: {what}{where} are left after "
                         "--where/--since/--until, so there is nothing to compare")


def _with_eval(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Metric]]:
    """Decode eval_scores once; one higher-is-better metric per numeric name found."""
    if "eval_scores" not in rows.columns or rows["eval_scores"].null_count() == rows.height:
        return rows, {}
    decoded = rows["eval_scores"]
    if decoded.dtype == pl.String:
        try:
            decoded = decoded.str.json_decode(infer_schema_length=None)
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"eval_scores holds text that is not a JSON object: {exc}") from None
    if not isinstance(decoded.dtype, pl.Struct):
        return rows, {}
    out: dict[str, Metric] = {}
    for f in decoded.dtype.fields:
        if f.dtype.is_numeric() or f.dtype == pl.Boolean:
            name = f"eval_scores.{f.name}"
            expr = pl.col("__eval").struct.field(f.name).cast(pl.Float64)
            out[name] = Metric(name, "numeric", True, ("mean",), expr, quality=True)
    return rows.with_columns(decoded.alias("__eval")), out


def _user_metric(spec: str, schema: Mapping[str, pl.DataType]) -> Metric | None:
    name, _, way = spec.partition(":")
    if name not in schema or way not in ("", "higher", "lower"):
        return None
    dtype = schema[name]
    higher = way == "higher"
    if dtype == pl.Boolean:
        return Metric(name, "rate", higher, ("rate",), pl.col(name), quality=True)
    if dtype.is_numeric():
        return Metric(name, "numeric", higher, ("median",), pl.col(name).cast(pl.Float64),
                      quality=True)
    raise UsageError(f"metric {name} is a {dtype} field; only numeric and boolean fields compare")


def _resolve_metrics(
    requested: Sequence[str] | None, available: Mapping[str, Metric],
    schema: Mapping[str, pl.DataType],
) -> list[Metric]:
    if requested is None:
        return list(available.values())
    chosen: list[Metric] = []
    for spec in dict.fromkeys(requested):
        metric = available.get(spec) or _user_metric(spec, schema)
        if metric is None:
            raise UsageError(
                f"unknown metric {spec!r}; available: {', '.join(available)}, or a numeric or "
                "boolean field (optionally FIELD:higher or FIELD:lower)"
            )
        chosen.append(metric)
    return chosen


def _check_field(name: str, option: str, schema: Mapping[str, pl.DataType]) -> None:
    if name not in schema:
        raise UsageError(f"{option} {name!r} is not a field; fields: {', '.join(sorted(schema))}")


def _needed_columns(opts: DiffOptions, schema: Mapping[str, pl.DataType]) -> list[str]:
    names = {opts.version_field, "eval_scores"}
    for metric in builtin_metrics().values():
        names.update(metric.expr.meta.root_names())
    names.update(spec.partition(":")[0] for spec in opts.metrics or ())
    if opts.pair_on:
        names.update((opts.pair_on, "prompt", "response"))
    return [n for n in schema if n in names]


def _with_builtin_columns(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add canonical columns the built-in metrics read, as nulls, to a frame lacking them
    (read_logs frames always have them; hand-made ones may not)."""
    present = set(lf.collect_schema())
    roots = {"prompt", "response"}.union(
        *(m.expr.meta.root_names() for m in builtin_metrics().values()))
    return lf.with_columns(pl.lit(None, dtype=CANONICAL_DTYPES[n]).alias(n)
                           for n in sorted(roots - present))


def _value(metric: Metric) -> pl.Expr:
    """The metric's column; NaN (possible in hand-made frames) counts as not logged."""
    if metric.kind == "rate":
        return metric.expr.alias(metric.name)
    return metric.expr.cast(pl.Float64).fill_nan(None).alias(metric.name)


def _prepare(
    lf: pl.LazyFrame, opts: DiffOptions, versions: tuple[str, str]
) -> tuple[pl.DataFrame, list[Metric]]:
    """Collect the two versions' rows with one column per metric (named by the metric)."""
    lf = _with_builtin_columns(lf)
    schema = dict(lf.collect_schema())
    version = pl.col(opts.version_field).cast(pl.String).alias(_VERSION)
    rows = (
        lf.select(_needed_columns(opts, schema))
        .filter(version.is_in(list(versions)))
        .with_columns(version)
        .collect()
    )
    wants_eval = opts.metrics is None or any(
        m.startswith("eval_scores.") for m in opts.metrics)
    rows, evals = _with_eval(rows) if wants_eval else (rows, {})
    metrics = _resolve_metrics(opts.metrics, {**builtin_metrics(), **evals}, schema)
    extra: list[pl.Expr] = []
    if opts.pair_on:
        extra = [pl.col(opts.pair_on).cast(pl.String).alias(_KEY), pl.col("prompt"),
                 pl.col("response")]
    values = rows.select(pl.col(_VERSION), *extra, *(_value(m) for m in metrics))
    if opts.metrics is None:
        logged = any(c in rows.columns and rows[c].null_count() < rows.height
                     for c in ("status", "error_type"))
        metrics = [m for m in metrics if values[m.name].null_count() < values.height
                   and (m.name != "error_rate" or logged)]  # no status logged: no rate
    return values, metrics


# --- per-metric comparisons ------------------------------------------------------------


def _rng(seed: int, metric: str) -> np.random.Generator:
    """A stream per metric, so a metric's CI does not depend on which others are compared."""
    return np.random.default_rng([seed, zlib.crc32(metric.encode())])


def _row(metric: Metric, statistic: str, n_a: int, n_b: int, paired: bool) -> MetricResult:
    base = MetricResult(metric.name, statistic, "higher" if metric.higher_is_better else "lower",
                        n_a, n_b)
    need = MIN_SAMPLES[statistic]
    if min(n_a, n_b) < need:
        unit = "matched pairs" if paired else "records on each side"
        return replace(base, note=f"insufficient data: needs at least {need} {unit} with a value")
    return base


def _point(values: stats.FloatArray, statistic: str) -> float:
    if statistic == "mean":
        return float(values.mean())
    return float(np.quantile(values, _QUANTILES[statistic]))


def _filled(row: MetricResult, a: Any, b: Any, ci: stats.Interval, p: float,
            test: str, ci_method: str, shift: float) -> MetricResult:
    a, b = float(a), float(b)
    delta = b - a
    pct = delta / abs(a) * 100.0 if a != 0 else None
    return replace(row, baseline=a, candidate=b, delta=delta, delta_pct=pct, ci_low=ci.low,
                   ci_high=ci.high, p_value=p, test=test, ci_method=ci_method,
                   shift=delta if delta != 0 else shift)


def _quantile_draws(metric: Metric, a: stats.FloatArray, b: stats.FloatArray,
                    opts: DiffOptions, paired: bool) -> dict[str, stats.FloatArray]:
    """Bootstrap draws of the difference, per quantile statistic with enough data."""
    names = [s for s in metric.statistics if s in _QUANTILES and min(len(a), len(b))
             >= MIN_SAMPLES[s]]
    if not names:
        return {}
    rng = _rng(opts.seed, metric.name)
    qs = [_QUANTILES[s] for s in names]
    if paired:
        draws = stats.paired_bootstrap_quantiles(a, b, qs, opts.resamples, rng)
        return dict(zip(names, draws, strict=True))
    return {s: stats.bootstrap_quantile(b, q, opts.resamples, rng)
            - stats.bootstrap_quantile(a, q, opts.resamples, rng)
            for s, q in zip(names, qs, strict=True)}


def _numeric(metric: Metric, a: stats.FloatArray, b: stats.FloatArray,
             opts: DiffOptions, paired: bool) -> list[MetricResult]:
    """Median/p95/mean rows: rank test (Wilcoxon or Mann-Whitney) and a CI per statistic."""
    if not paired:
        a, b = np.sort(a), np.sort(b)
    conf = 1.0 - opts.alpha
    draws = _quantile_draws(metric, a, b, opts, paired)
    rank_test = "wilcoxon-signed-rank" if paired else "mann-whitney-u"
    rank_p = functools.cache(
        lambda: stats.wilcoxon_p(b - a) if paired else stats.mann_whitney_p(a, b))
    shift = float(b.mean() - a.mean()) if len(a) and len(b) else 0.0
    rows = []
    for statistic in metric.statistics:
        row = _row(metric, statistic, len(a), len(b), paired)
        if row.note is None and statistic == "mean":
            ci = stats.t_interval(b - a, conf) if paired else stats.welch_interval(a, b, conf)
            row = _filled(row, a.mean(), b.mean(), ci, rank_p(), rank_test,
                          "paired-t" if paired else "welch-t", shift)
        elif row.note is None:
            d = draws[statistic]
            p, test = ((stats.bootstrap_pvalue(d), "bootstrap") if statistic == "p95"
                       else (rank_p(), rank_test))
            row = _filled(row, _point(a, statistic), _point(b, statistic),
                          stats.percentile_interval(d, conf), p,
                          f"paired-{test}" if paired and test == "bootstrap" else test,
                          "paired-bootstrap-percentile" if paired else "bootstrap-percentile",
                          shift)
        rows.append(row)
    return rows


def _rate(metric: Metric, a: stats.FloatArray, b: stats.FloatArray,
          opts: DiffOptions, paired: bool) -> list[MetricResult]:
    """Rate rows: exact McNemar on pairs, else Fisher's exact test."""
    row = _row(metric, "rate", len(a), len(b), paired)
    if row.note is not None:
        return [row]
    conf = 1.0 - opts.alpha
    if paired:
        only_a = int(np.count_nonzero((a > 0) & (b == 0)))
        only_b = int(np.count_nonzero((b > 0) & (a == 0)))
        ci = stats.paired_rate_interval(only_a, only_b, len(a), conf)
        p, test, method = stats.mcnemar_exact_p(only_b, only_a), "mcnemar-exact", "paired-wald"
    else:
        k1, n1, k2, n2 = int(a.sum()), len(a), int(b.sum()), len(b)
        ci = stats.newcombe_interval(k1, n1, k2, n2, conf)
        p, test, method = stats.fisher_p(k1, n1, k2, n2), "fisher-exact", "newcombe"
    return [_filled(row, float(a.mean()), float(b.mean()), ci, p, test, method, 0.0)]


def _finalize(row: MetricResult, p_adjusted: float | None, alpha: float,
              effect: MinEffect) -> MetricResult:
    row = replace(row, p_adjusted=p_adjusted, min_effect=str(effect))
    if p_adjusted is None or row.delta is None:
        return row
    significant = p_adjusted < alpha
    if not significant or row.shift == 0:
        return replace(row, significant=significant, direction="no significant change")
    worse = (row.shift < 0) if row.better_when == "higher" else (row.shift > 0)
    big = abs(row.delta) > effect.threshold(row.baseline)
    return replace(row, significant=True, direction="worse" if worse else "better",
                   regression=worse and big)


# --- the two modes ---------------------------------------------------------------------

_COMPARE = {"numeric": _numeric, "rate": _rate}


def _as_float(series: pl.Series) -> stats.FloatArray:
    return series.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)


def _compare_unpaired(values: pl.DataFrame, metrics: list[Metric], versions: tuple[str, str],
                      opts: DiffOptions) -> list[MetricResult]:
    base, cand = (values.filter(pl.col(_VERSION) == v) for v in versions)
    rows: list[MetricResult] = []
    for metric in metrics:
        a = _as_float(base[metric.name].drop_nulls())
        b = _as_float(cand[metric.name].drop_nulls())
        rows += _COMPARE[metric.kind](metric, a, b, opts, False)
    return rows


def _matched(values: pl.DataFrame, metrics: list[Metric], versions: tuple[str, str]
             ) -> pl.DataFrame:
    """One row per key present under both versions: numbers averaged over repeats, flags
    true if any repeat is true, the first prompt and response kept."""
    aggs = [pl.col(m.name).mean() if m.kind == "numeric" else pl.col(m.name).max()
            for m in metrics]
    texts = [pl.col("prompt").drop_nulls().first(), pl.col("response").drop_nulls().first()]
    sides = [
        values.filter((pl.col(_VERSION) == v) & pl.col(_KEY).is_not_null())
        .group_by(_KEY, maintain_order=True).agg(*aggs, *texts)
        for v in versions
    ]
    return sides[0].join(sides[1], on=_KEY, how="inner", suffix="__cand").sort(_KEY)


def _compare_paired(matched: pl.DataFrame, metrics: list[Metric], opts: DiffOptions
                    ) -> list[MetricResult]:
    rows: list[MetricResult] = []
    for metric in metrics:
        both = matched.select(metric.name, f"{metric.name}__cand").drop_nulls()
        a, b = _as_float(both[:, 0]), _as_float(both[:, 1])
        rows += _COMPARE[metric.kind](metric, a, b, opts, True)
    return rows


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= _TEXT_LIMIT:
        return text
    return text[: _TEXT_LIMIT - 1] + "…"


def _worse_masks(matched: pl.DataFrame, metrics: list[Metric]
                 ) -> dict[str, tuple[Metric, np.ndarray[Any, Any]]]:
    out = {}
    for metric in (m for m in metrics if m.quality):
        a, b = _as_float(matched[metric.name]), _as_float(matched[f"{metric.name}__cand"])
        with np.errstate(invalid="ignore"):
            out[metric.name] = (metric, (b < a) if metric.higher_is_better else (b > a))
    return out


def _fmt(value: float, metric: Metric) -> str:
    if metric.kind == "rate":
        return "true" if value else "false"
    return f"{value:.4g}"


def _paired_changes(matched: pl.DataFrame, metrics: list[Metric], limit: int) -> PairedChanges:
    masks = _worse_masks(matched, metrics)
    counts = (np.sum([mask for _, mask in masks.values()], axis=0) if masks
              else np.zeros(matched.height, int))
    order = np.argsort(-counts, kind="stable")[: max(limit, 0)]
    examples = []
    for i in (int(i) for i in order if counts[i] > 0):
        worse = [f"{name}: {_fmt(matched[name][i], metric)} -> "
                 f"{_fmt(matched[f'{name}__cand'][i], metric)}"
                 for name, (metric, mask) in masks.items() if mask[i]]
        examples.append({
            "key": matched[_KEY][i], "worse": worse, "prompt": _clip(matched["prompt"][i]),
            "baseline_response": _clip(matched["response"][i]),
            "candidate_response": _clip(matched["response__cand"][i]),
        })
    texts = matched.select("response", "response__cand").drop_nulls()
    changed = int((texts["response"] != texts["response__cand"]).sum())
    return PairedChanges(matched.height, texts.height, changed, int(np.count_nonzero(counts)),
                         examples)


# --- entry point -----------------------------------------------------------------------


def _validate(opts: DiffOptions, schema: Mapping[str, pl.DataType], *,
              version: bool = True) -> None:
    if version:
        _check_field(opts.version_field, "--version-field", schema)
    if opts.pair_on:
        _check_field(opts.pair_on, "--pair-on", schema)
    if not 0.0 < opts.alpha < 1.0:
        raise UsageError(f"--alpha {opts.alpha} must be between 0 and 1")
    if opts.correction not in ("holm", "bonferroni", "none"):
        raise UsageError(f"--correction {opts.correction!r} must be holm, bonferroni or none")
    if opts.resamples < 100:
        raise UsageError(f"--resamples {opts.resamples} is too few; use at least 100")
    if not 0 <= opts.seed < 2**31:
        raise UsageError(f"--seed {opts.seed} must be a whole number from 0 to 2**31-1")


def _effects(opts: DiffOptions, metrics: list[Metric]) -> dict[str, MinEffect]:
    names = {m.name for m in metrics}
    unknown = sorted(set(opts.min_effect) - names)
    if unknown:
        raise UsageError(f"--min-effect names metric(s) not compared: {', '.join(unknown)}; "
                         f"compared: {', '.join(sorted(names))}")
    return {name: opts.min_effect.get(name, DEFAULT_MIN_EFFECT) for name in names}


def check_sides(baseline: str | None, candidate: str | None, *, reference: bool) -> None:
    """Two versions of one set of logs, or two sets of logs: refuse anything less (before
    any log is read)."""
    if not reference and (baseline is None or candidate is None):
        raise UsageError("name two versions with --baseline and --candidate, or compare two "
                         "sets of logs with --reference REFERENCE_PATHS")


def _filtered(frame: pl.LazyFrame | pl.DataFrame, opts: DiffOptions) -> pl.LazyFrame:
    return apply_filters(frame.lazy(), where=opts.where, since=opts.since, until=opts.until)


def _version_sides(frame: pl.LazyFrame | pl.DataFrame, baseline: str | None,
                   candidate: str | None, opts: DiffOptions
                   ) -> tuple[pl.LazyFrame, dict[str, int]]:
    """One set of logs: the records of two versions, labelled by version."""
    check_sides(baseline, candidate, reference=False)
    assert baseline is not None and candidate is not None  # checked just above
    lf = _filtered(frame, opts)
    _validate(opts, lf.collect_schema())
    counts = _version_counts(lf, opts.version_field)
    missing = [v for v in (baseline, candidate) if v not in counts]
    if missing and baseline != candidate:
        _nothing_left(frame, opts, missing, "the input")
    _check_versions(counts, baseline, candidate, opts.version_field)
    return lf.with_columns(pl.col(opts.version_field).cast(pl.String).alias(_SIDE)), counts


def _side(frame: pl.LazyFrame | pl.DataFrame, label: str, version: str | None,
          opts: DiffOptions) -> tuple[pl.LazyFrame, int]:
    """One side of a two-logs comparison: filtered, narrowed to ``version`` when given,
    labelled, with only the columns a comparison reads."""
    lf = _with_builtin_columns(_filtered(frame, opts))
    schema = lf.collect_schema()
    _validate(opts, schema, version=version is not None)
    subject = f"the {label} input"
    if version is not None:
        counts = _version_counts(lf, opts.version_field)
        if version not in counts:
            _nothing_left(frame, opts, [version], subject)
            present = ", ".join(f"{v} ({n})" for v, n in sorted(counts.items())) or "none"
            option = "--baseline" if label == REFERENCE else "--candidate"
            raise UsageError(f"{option} {version}: the {label} logs have no records with "
                             f"{opts.version_field} = {version}; versions present there "
                             f"(records): {present}")
        lf = lf.filter(pl.col(opts.version_field).cast(pl.String) == version)
    n = int(lf.select(pl.len()).collect().item())
    if n == 0:
        _nothing_left(frame, opts, [], subject)
    return lf.select(_needed_columns(opts, schema)).with_columns(pl.lit(label).alias(_SIDE)), n


def _reference_sides(frame: pl.LazyFrame | pl.DataFrame, reference: pl.LazyFrame |
                     pl.DataFrame, baseline: str | None, candidate: str | None,
                     opts: DiffOptions) -> tuple[pl.LazyFrame, dict[str, int]]:
    """Two sets of logs as one frame whose side label plays the version's part."""
    ref, n_ref = _side(reference, REFERENCE, baseline, opts)
    cur, n_cur = _side(frame, CURRENT, candidate, opts)
    try:
        both = pl.concat([ref, cur], how="diagonal_relaxed").collect().lazy()
    except pl.exceptions.PolarsError:
        raise InputError(_type_clash(ref, cur)) from None
    return both, {REFERENCE: n_ref, CURRENT: n_cur}


def _type_clash(ref: pl.LazyFrame, cur: pl.LazyFrame) -> str:
    a, b = ref.collect_schema(), cur.collect_schema()
    clash = [f"{n} ({a[n]} in the reference, {b[n]} in the current logs)"
             for n in a if n in b and a[n] != b[n]]
    return ("the two sets of logs disagree on the type of field(s) "
            f"{', '.join(clash) or '(unknown)'}; compare fields of one type")


def _labels(baseline: str | None, candidate: str | None) -> tuple[str, str]:
    return (REFERENCE if baseline is None else f"{REFERENCE} {baseline}",
            CURRENT if candidate is None else f"{CURRENT} {candidate}")


def diff_prompts(
    frame: pl.LazyFrame | pl.DataFrame,
    baseline: str | None = None,
    candidate: str | None = None,
    options: DiffOptions | None = None,
    *,
    report: Mapping[str, Any] | None = None,
    reference: pl.LazyFrame | pl.DataFrame | None = None,
    reference_report: Mapping[str, Any] | None = None,
) -> DiffResult:
    """Compare ``candidate`` against ``baseline`` on every metric; see the module docstring.

    With ``reference`` (a second set of logs, e.g. main's artifact) the comparison is
    ``reference`` (baseline) against ``frame`` (candidate); ``baseline`` and ``candidate``
    are then optional and pick a version within each side. ``report`` and
    ``reference_report`` (ReadReports' ``to_dict()``) are carried into the result.
    """
    opts = options or DiffOptions()
    if reference is None:
        lf, counts = _version_sides(frame, baseline, candidate, opts)
        versions: tuple[str, str] = (baseline or "", candidate or "")
        labels, sides = versions, None
    else:
        lf, counts = _reference_sides(frame, reference, baseline, candidate, opts)
        versions, labels = (REFERENCE, CURRENT), _labels(baseline, candidate)
        sides = {"baseline_version": baseline, "candidate_version": candidate,
                 "input": dict(reference_report) if reference_report is not None else None}
    values, metrics = _prepare(lf, replace(opts, version_field=_SIDE), versions)
    effects = _effects(opts, metrics)
    changes, n_matched = None, None
    if opts.pair_on:
        matched = _matched(values, metrics, versions)
        rows = _compare_paired(matched, metrics, opts)
        changes, n_matched = _paired_changes(matched, metrics, opts.examples), matched.height
    else:
        rows = _compare_unpaired(values, metrics, versions, opts)
    adjusted = stats.adjust_pvalues([r.p_value for r in rows], opts.correction)
    rows = [_finalize(r, p, opts.alpha, effects[r.metric])
            for r, p in zip(rows, adjusted, strict=True)]
    return DiffResult(
        labels[0], labels[1], opts.version_field, opts.pair_on, counts[versions[0]],
        counts[versions[1]], n_matched, opts.alpha, opts.correction, opts.seed, opts.resamples,
        rows, changes, report, sides,
    )
