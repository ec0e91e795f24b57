"""Mergeable partial results of ``diff-prompts``: compute per file or partition, merge,
finalize, and get the answer :func:`genailog.analysis.compare.diff_prompts` gives on the
whole input.

What merges exactly and what is recomputed (also in the merged JSON's ``merge`` entry):

* exact: the record count of every version; each rate metric's (records with a value,
  records true) per version, from which Fisher's exact test and Newcombe's interval are
  computed exactly as on the whole input.
* recomputed on the merged reduced data: the Mann-Whitney / Wilcoxon rank tests, the
  bootstrap intervals of medians and p95s, and means with their Welch interval. A
  partial carries, per version, the values of each numeric metric and nothing else
  (unpaired), or one row per pair key with every repeat's numbers, whether each flag was
  ever true, and the first prompt and response (paired: ``--pair-on``); the merge averages
  the repeats and runs the same tests on them.

Two sets of logs (``reference=``) are not covered: a partial is one set of logs split in
parts. The comparisons themselves are :mod:`genailog.analysis.compare`'s; this module only
decides what a part keeps and how parts add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from genailog.analysis import compare, stats
from genailog.analysis.compare import DiffOptions, DiffResult, Metric, MinEffect
from genailog.analysis.frame_codec import decode, encode, to_json
from genailog.analysis.partial_input import check_header, checked_inputs, merge_inputs
from genailog.errors import InputError, UsageError
from genailog.query.filters import apply_filters

FORMAT = "genailog.diff-prompts-partial"
PARTIAL_VERSION = 1
_SIDE, _KEY = "__side", "__key"
_ROWS = "__rows"
#: Records per version a partial file may claim (far above what one read holds).
MAX_RECORDS = 10**9

#: What the merged JSON says about how each statistic was obtained.
MERGE_NOTE = {
    "exact": ["records per version", "rates: records with a value and records true per "
              "version (Fisher exact test, Newcombe interval)"],
    "recomputed_on_merged_data": ["median and p95 bootstrap intervals",
                                  "Mann-Whitney U / Wilcoxon p-values",
                                  "means and Welch / paired-t intervals"],
    "kept_per_part": "per version, the values of each numeric metric and the counts of "
                     "each rate (paired: per key, every repeat's numbers, whether each flag "
                     "was ever true, the first prompt and response)",
}


@dataclass(frozen=True)
class MergedDiffResult(DiffResult):
    """A comparison finished from partials: its JSON also says how (``merge``)."""

    merge: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "merge": dict(self.merge or {})}


@dataclass(frozen=True)
class MetricDef:
    """A metric as a partial records it (its expression was applied in the part)."""

    name: str
    kind: str
    higher_is_better: bool
    statistics: tuple[str, ...]
    quality: bool

    def metric(self) -> Metric:
        kind: compare.Kind = "rate" if self.kind == "rate" else "numeric"
        return Metric(self.name, kind, self.higher_is_better, self.statistics,
                      pl.col(self.name), self.quality)

    @classmethod
    def of(cls, metric: Metric) -> MetricDef:
        return cls(metric.name, metric.kind, metric.higher_is_better, metric.statistics,
                   metric.quality)


@dataclass
class DiffPartial:
    """One part's contribution; :meth:`merge` adds parts, :meth:`finalize` compares."""

    baseline: str
    candidate: str
    options: DiffOptions
    version_counts: dict[str, int] = field(default_factory=dict)
    status_logged: bool = False
    metrics: list[MetricDef] = field(default_factory=list)
    #: unpaired: side -> metric -> float values (numeric) or [n, k] (rate)
    sides: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: paired: one row per (side, key)
    pairs: pl.DataFrame | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    parts: int = 1

    # --- merging ---------------------------------------------------------------------

    def merge(self, other: DiffPartial) -> DiffPartial:
        _same(self, other)
        counts = dict(self.version_counts)
        for version, n in other.version_counts.items():
            counts[version] = counts.get(version, 0) + n
        names = {m.name for m in self.metrics}
        return DiffPartial(
            self.baseline, self.candidate, self.options, counts,
            self.status_logged or other.status_logged,
            self.metrics + [m for m in other.metrics if m.name not in names],
            _merge_sides(self.sides, other.sides), _merge_pairs(self.pairs, other.pairs),
            self.inputs + other.inputs, self.parts + other.parts)

    # --- finalizing ------------------------------------------------------------------

    def finalize(self) -> DiffResult:
        """The comparison, as ``diff_prompts`` computes it on the whole input."""
        opts = self.options
        _check_versions(self.version_counts, self.baseline, self.candidate,
                        opts.version_field)
        metrics = self._chosen_metrics()
        effects = compare._effects(opts, metrics)
        changes, n_matched = None, None
        if opts.pair_on:
            matched = _matched(self.pairs, metrics, (self.baseline, self.candidate))
            rows = compare._compare_paired(matched, metrics, opts)
            changes = compare._paired_changes(matched, metrics, opts.examples)
            n_matched = matched.height
        else:
            rows = [row for m in metrics for row in self._unpaired(m)]
        adjusted = stats.adjust_pvalues([r.p_value for r in rows], opts.correction)
        rows = [compare._finalize(r, p, opts.alpha, effects[r.metric])
                for r, p in zip(rows, adjusted, strict=True)]
        return MergedDiffResult(
            self.baseline, self.candidate, opts.version_field, opts.pair_on,
            self.version_counts[self.baseline], self.version_counts[self.candidate],
            n_matched, opts.alpha, opts.correction, opts.seed, opts.resamples, rows, changes,
            merge_inputs(self.inputs), merge={"parts": self.parts, **MERGE_NOTE})

    def _stored(self, metric: Metric) -> tuple[Any, Any]:
        return (self.sides.get("baseline", {}).get(metric.name),
                self.sides.get("candidate", {}).get(metric.name))

    def _unpaired(self, metric: Metric) -> list[compare.MetricResult]:
        a, b = self._stored(metric)
        if metric.kind == "rate":
            return [_rate_row(metric, a or [0, 0], b or [0, 0], self.options)]
        empty = np.empty(0, dtype=np.float64)
        return compare._numeric(metric, empty if a is None else a,
                                empty if b is None else b, self.options, False)

    def _has_values(self, metric: Metric) -> bool:
        if self.options.pair_on:
            assert self.pairs is not None
            if metric.name not in self.pairs.columns:
                return False
            column = self.pairs[metric.name]
            if metric.kind == "numeric":
                column = column.explode()
            return column.null_count() < column.len()
        a, b = self._stored(metric)
        return any(len(x) if isinstance(x, np.ndarray) else x[0] for x in (a, b)
                   if x is not None)

    def _chosen_metrics(self) -> list[Metric]:
        known = {m.name: m.metric() for m in self.metrics}
        if self.options.metrics is None:
            return [m for m in known.values() if self._has_values(m)
                    and (m.name != "error_rate" or self.status_logged)]
        chosen = []
        for spec in dict.fromkeys(self.options.metrics):
            metric = known.get(spec) or known.get(spec.partition(":")[0])
            if metric is None:
                raise UsageError(f"unknown metric {spec!r}; available: {', '.join(known)}")
            chosen.append(metric)
        return chosen

    # --- JSON ------------------------------------------------------------------------

    def _checked(self) -> DiffPartial:
        """Counts that hold together (a partial file is untrusted): at most
        :data:`MAX_RECORDS` per version, a rate's counts within its version's records."""
        if any(not 0 <= n <= MAX_RECORDS for n in self.version_counts.values()):
            raise ValueError(f"a version count is negative or above {MAX_RECORDS:,}")
        for side, version in (("baseline", self.baseline), ("candidate", self.candidate)):
            for name, stored in self.sides.get(side, {}).items():
                size = len(stored) if isinstance(stored, np.ndarray) else stored[0]
                if size > self.version_counts.get(version, 0):
                    raise ValueError(f"{side} {name}: {size} values, more than the "
                                     f"version's {self.version_counts.get(version, 0)} records")
        if set(self.sides) - {"baseline", "candidate"}:
            raise ValueError(f"sides {sorted(self.sides)}")
        if (self.pairs is not None) != bool(self.options.pair_on):
            raise ValueError("options.pair_on and the pairs disagree (paired parts hold "
                             "pairs, unpaired parts none)")
        if self.pairs is not None:
            self._check_pairs(self.pairs)
        return self

    def _check_pairs(self, pairs: pl.DataFrame) -> None:
        want: dict[str, Any] = {_SIDE: pl.String(), _KEY: pl.String(), _ROWS: pl.Int64(),
                                "prompt": pl.String(), "response": pl.String()}
        want |= {m.name: pl.Boolean() if m.kind == "rate" else pl.List(pl.Float64)
                 for m in self.metrics if m.name in pairs.columns}
        for name, dtype in want.items():
            if name not in pairs.columns or pairs.schema[name] not in (dtype, pl.Null()):
                raise ValueError(f"pairs column {name!r} missing or not {dtype}")
        if pairs.filter(pl.col(_ROWS) < 0).height or pairs.height > MAX_RECORDS:
            raise ValueError("pair rows out of range")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": PARTIAL_VERSION,
            "baseline": self.baseline, "candidate": self.candidate,
            "options": _options_dict(self.options), "version_counts": self.version_counts,
            "status_logged": self.status_logged,
            "metrics": [asdict(m) for m in self.metrics],
            "sides": {side: {name: _listed(v) for name, v in by.items()}
                      for side, by in self.sides.items()},
            "pairs": encode(self.pairs) if self.pairs is not None else None,
            "inputs": self.inputs, "parts": self.parts,
        }

    def to_json(self) -> str:
        return to_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, what: str = "partial") -> DiffPartial:
        check_header(data, FORMAT, PARTIAL_VERSION, what)
        try:
            return cls(
                str(data["baseline"]), str(data["candidate"]),
                _options_of(data["options"]),
                {str(k): int(v) for k, v in data["version_counts"].items()},
                bool(data["status_logged"]),
                [_metric_def(m) for m in data["metrics"]],
                {str(s): {str(n): _unlisted(v) for n, v in by.items()}
                 for s, by in data["sides"].items()},
                decode(data["pairs"], what) if data.get("pairs") is not None else None,
                checked_inputs(data.get("inputs")), int(data.get("parts", 1)))._checked()
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError,
                UsageError) as exc:
            raise InputError(f"{what}: malformed diff-prompts partial ({exc})") from None


# --- computing a part -------------------------------------------------------------------


def diff_partial(frame: pl.LazyFrame | pl.DataFrame, baseline: str, candidate: str,
                 options: DiffOptions | None = None, *,
                 report: Mapping[str, Any] | None = None) -> DiffPartial:
    """One part's partial: the same options as ``diff_prompts``; a version may be absent
    from a part (it must be present once the parts are merged)."""
    opts = options or DiffOptions()
    if baseline == candidate:
        raise UsageError("--baseline and --candidate name the same version")
    lf = apply_filters(frame.lazy(), where=opts.where, since=opts.since, until=opts.until)
    compare._validate(opts, lf.collect_schema())
    counts = compare._version_counts(lf, opts.version_field)
    rows, metrics, logged = _rows(lf, opts, (baseline, candidate))
    part = DiffPartial(baseline, candidate, opts, counts, logged,
                       [MetricDef.of(m) for m in metrics],
                       inputs=[dict(report)] if report is not None else [])
    if opts.pair_on:
        part.pairs = _pairs(rows, metrics)
    else:
        part.sides = {side: _side_values(rows.filter(pl.col(_SIDE) == version), metrics)
                      for side, version in (("baseline", baseline), ("candidate", candidate))}
    return part


def _rows(lf: pl.LazyFrame, opts: DiffOptions, versions: tuple[str, str]
          ) -> tuple[pl.DataFrame, list[Metric], bool]:
    """The two versions' rows, one column per metric (every metric this part can see)."""
    lf = compare._with_builtin_columns(lf)
    schema = dict(lf.collect_schema())
    side = pl.col(opts.version_field).cast(pl.String).alias(_SIDE)
    rows = (lf.select(compare._needed_columns(opts, schema)).filter(side.is_in(list(versions)))
            .with_columns(side).collect())
    rows, evals = compare._with_eval(rows)
    metrics = {**compare.builtin_metrics(), **evals}
    for spec in opts.metrics or ():
        if spec not in metrics and not spec.startswith("eval_scores."):
            user = compare._user_metric(spec, schema)
            if user is None:
                raise UsageError(f"unknown metric {spec!r}; available: {', '.join(metrics)}, "
                                 "or a numeric or boolean field")
            metrics[spec] = user
    extra: list[pl.Expr] = []
    if opts.pair_on:
        extra = [pl.col(opts.pair_on).cast(pl.String).alias(_KEY), pl.col("prompt"),
                 pl.col("response")]
    values = rows.select(pl.col(_SIDE), *extra,
                         *(compare._value(m) for m in metrics.values()))
    logged = any(c in rows.columns and rows[c].null_count() < rows.height
                 for c in ("status", "error_type"))
    return values, list(metrics.values()), logged


def _side_values(rows: pl.DataFrame, metrics: list[Metric]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in metrics:
        column = rows[metric.name].drop_nulls()
        if metric.kind == "rate":
            out[metric.name] = [column.len(), int(column.cast(pl.Int64).sum())]
        else:
            out[metric.name] = column.cast(pl.Float64).to_numpy().astype(np.float64)
    return out


def _pair_aggs(metrics: list[Metric], merged: bool) -> list[pl.Expr]:
    """Numbers kept per key as the list of every repeat's value (so the merge averages
    them exactly as the whole input does), flags as any-true, the first texts."""
    aggs: list[pl.Expr] = [pl.col(_ROWS).sum() if merged else pl.len().alias(_ROWS)]
    for m in metrics:
        if m.kind == "rate":
            aggs.append(pl.col(m.name).max())
        else:
            aggs.append(pl.col(m.name).explode() if merged else pl.col(m.name))
    return [*aggs, pl.col("prompt").drop_nulls().first(),
            pl.col("response").drop_nulls().first()]


def _pairs(rows: pl.DataFrame, metrics: list[Metric]) -> pl.DataFrame:
    """Per (side, key): every repeat's numbers, any-true of flags, first texts."""
    return (rows.filter(pl.col(_KEY).is_not_null())
            .group_by(_SIDE, _KEY, maintain_order=True).agg(*_pair_aggs(metrics, False)))


def _numbers(frame: pl.DataFrame) -> set[str]:
    return {n for n, t in frame.schema.items() if isinstance(t, pl.List)}


def _padded(frame: pl.DataFrame, numbers: set[str]) -> pl.DataFrame:
    """A part lacking a metric (an eval score it never saw) gets nulls, one per repeat."""
    missing = sorted(numbers - set(frame.columns))
    return frame.with_columns(pl.lit(None, dtype=pl.Float64).repeat_by(pl.col(_ROWS))
                              .cast(pl.List(pl.Float64)).alias(n) for n in missing)


def _merge_pairs(a: pl.DataFrame | None, b: pl.DataFrame | None) -> pl.DataFrame | None:
    if a is None or b is None:
        return a if b is None else b
    numbers = _numbers(a) | _numbers(b)
    both = pl.concat([_padded(a, numbers), _padded(b, numbers)], how="diagonal_relaxed")
    names = set(both.columns) - {_SIDE, _KEY, _ROWS, "prompt", "response"}
    metrics = [Metric(n, "numeric" if n in numbers else "rate", False, (), pl.col(n))
               for n in sorted(names)]
    return both.group_by(_SIDE, _KEY, maintain_order=True).agg(*_pair_aggs(metrics, True))


def _matched(pairs: pl.DataFrame | None, metrics: list[Metric],
             versions: tuple[str, str]) -> pl.DataFrame:
    """The frame compare's paired functions take: one row per key present on both sides,
    numbers averaged over repeats by the same polars mean as on the whole input."""
    assert pairs is not None
    numbers = [m.name for m in metrics if m.kind == "numeric"]
    aggs = [pl.col(m.name).mean() if m.kind == "numeric" else pl.col(m.name).first()
            for m in metrics]
    sides = [pairs.filter(pl.col(_SIDE) == version).explode(numbers)
             .group_by(_KEY, maintain_order=True)
             .agg(*aggs, pl.col("prompt").first(), pl.col("response").first())
             for version in versions]
    return sides[0].join(sides[1], on=_KEY, how="inner", suffix="__cand").sort(_KEY)


def _merge_sides(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
                 ) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for side in dict.fromkeys([*a, *b]):
        left, right = a.get(side, {}), b.get(side, {})
        out[side] = {}
        for name in dict.fromkeys([*left, *right]):
            x, y = left.get(name), right.get(name)
            if x is None or y is None:
                out[side][name] = x if y is None else y
            elif isinstance(x, np.ndarray):
                out[side][name] = np.concatenate([x, y])
            else:
                out[side][name] = [x[0] + y[0], x[1] + y[1]]
    return out


def _rate_row(metric: Metric, a: list[int], b: list[int], opts: DiffOptions
              ) -> compare.MetricResult:
    """Fisher's exact test and Newcombe's interval from the counts alone: what
    ``compare._rate`` computes from the 0/1 values (whose mean is k/n exactly)."""
    (n1, k1), (n2, k2) = a, b
    row = compare._row(metric, "rate", n1, n2, False)
    if row.note is not None:
        return row
    ci = stats.newcombe_interval(k1, n1, k2, n2, 1.0 - opts.alpha)
    return compare._filled(row, k1 / n1, k2 / n2, ci, stats.fisher_p(k1, n1, k2, n2),
                           "fisher-exact", "newcombe", 0.0)


def _listed(value: Any) -> dict[str, Any]:
    if isinstance(value, np.ndarray):
        return {"values": value.tolist()}
    return {"n": int(value[0]), "true": int(value[1])}


def _unlisted(value: Any) -> Any:
    if "values" in value:
        return np.asarray(value["values"], dtype=np.float64)
    n, k = int(value["n"]), int(value["true"])
    if not 0 <= k <= n:
        raise ValueError(f"rate counts n={n}, true={k}")
    return [n, k]


def _check_versions(counts: Mapping[str, int], baseline: str, candidate: str,
                    field_: str) -> None:
    missing = [v for v in (baseline, candidate) if v not in counts]
    if missing:
        present = ", ".join(f"{v} ({n})" for v, n in sorted(counts.items())) or "none"
        raise UsageError(f"version {', '.join(missing)} not found in field {field_}; "
                         f"versions present (records): {present}")


# --- options and agreement ----------------------------------------------------------------


def _options_dict(opts: DiffOptions) -> dict[str, Any]:
    out = asdict(opts)
    out["metrics"] = list(opts.metrics) if opts.metrics is not None else None
    out["min_effect"] = {k: [v.value, v.relative] for k, v in opts.min_effect.items()}
    return out


_TYPES: dict[str, Any] = {"version_field": str, "alpha": float, "correction": str,
                          "seed": int, "resamples": int, "examples": int}


def _metric_def(data: Any) -> MetricDef:
    kind, statistics = str(data["kind"]), tuple(map(str, data["statistics"]))
    allowed = {"rate"} if kind == "rate" else {"median", "p95", "mean"}
    if kind not in ("numeric", "rate") or not statistics or not set(statistics) <= allowed:
        raise ValueError(f"metric {data['name']!r}: kind {kind!r}, statistics {statistics}")
    return MetricDef(str(data["name"]), kind, bool(data["higher_is_better"]), statistics,
                     bool(data["quality"]))


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def _options_of(data: Any) -> DiffOptions:
    """Options from a partial file (untrusted): every value of its own type, then judged
    as the command judges its flags."""
    data = dict(data)
    unknown = set(data) - set(DiffOptions.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}")
    out: dict[str, Any] = {k: cast(data[k]) for k, cast in _TYPES.items() if k in data}
    out |= {k: _text(data.get(k)) for k in ("pair_on", "where", "since", "until")}
    out["min_effect"] = {str(k): MinEffect(float(v[0]), bool(v[1]))
                         for k, v in (data.get("min_effect") or {}).items()}
    if data.get("metrics") is not None:
        out["metrics"] = tuple(_text(m) or "" for m in data["metrics"])
        if not out["metrics"] or not all(out["metrics"]):
            raise ValueError("options.metrics names no metric (null means every metric)")
    opts = DiffOptions(**out)
    if not 0 <= opts.seed < 2**63 or not 0 <= opts.examples <= 1000:
        raise ValueError(f"seed {opts.seed} or examples {opts.examples} out of range")
    if opts.resamples > 1_000_000:
        raise ValueError(f"resamples {opts.resamples} above 1,000,000")
    compare._validate(opts, {opts.version_field: pl.String(),
                             **({opts.pair_on: pl.String()} if opts.pair_on else {})})
    return opts


def _same(a: DiffPartial, b: DiffPartial) -> None:
    """Parts merge only when computed the same way."""
    if (a.baseline, a.candidate) != (b.baseline, b.candidate):
        raise UsageError(f"partials compare different versions: {a.baseline} vs "
                         f"{a.candidate}, and {b.baseline} vs {b.candidate}")
    left, right = _options_dict(a.options), _options_dict(b.options)
    differ = sorted(k for k in left if left[k] != right[k])
    if differ:
        raise UsageError(f"partials were computed with different options: "
                         f"{', '.join(differ)}; compute every part with the same options")


def merge(parts: Sequence[DiffPartial]) -> DiffPartial:
    """All parts added up, in order (the order only decides which prompt is shown first
    for a pair key repeated across parts)."""
    if not parts:
        raise UsageError("no partials to merge")
    out = parts[0]
    for part in parts[1:]:
        out = out.merge(part)
    return out
