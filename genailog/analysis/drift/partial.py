"""Mergeable partial results of ``drift``: compute per file or partition, merge, finalize,
and get the answer :func:`genailog.analysis.drift.detect_drift` gives on the whole input.

What merges exactly and what is recomputed (also in the merged JSON's ``merge`` entry):

* exact: categorical label counts per window (the chi-square and Jensen-Shannon inputs)
  add up; record counts per window follow from the rows.
* recomputed on the merged reduced data: numeric methods (PSI and binned JS need the
  merged reference's deciles as bin edges; KS and Wasserstein need both samples), and the
  text/embedding domain classifier, whose per-window sample of ``--sample-size`` is drawn
  at the merge from the merged rows, exactly as on the whole input. A partial therefore
  keeps, per record with a timestamp, its time, its window start, and the values of the
  numeric, text and embedding features (nothing else).

Which window is the reference (the first one, by default) is decided at the merge, from
all parts. Parts of separate reference logs are computed with ``role="reference"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import polars as pl

from genailog.analysis.drift.detect import (
    Counts,
    DriftOptions,
    Plan,
    Source,
    _load,
    _plans,
    check_options,
    judge,
)
from genailog.analysis.drift.result import DriftResult
from genailog.analysis.drift.windows import Split, sample_mask, window_end
from genailog.analysis.frame_codec import decode, encode, to_json
from genailog.analysis.partial_input import check_header, checked_inputs, merge_inputs
from genailog.errors import InputError, UsageError

FORMAT = "genailog.drift-partial"
PARTIAL_VERSION = 1
Role = Literal["logs", "reference"]
_START = "_start"

MERGE_NOTE = {
    "exact": ["categorical label counts per window (chi-square, Jensen-Shannon)",
              "records per window"],
    "recomputed_on_merged_data": ["numeric methods (PSI and binned JS on the merged "
                                  "reference deciles, KS, Wasserstein)",
                                  "text and embedding domain classifier (sampled at merge)"],
    "kept_per_part": "per record with a timestamp: time, window start, and the values of "
                     "numeric, text and embedding features",
}


@dataclass
class DriftPartial:
    """One part's rows and counts; :func:`merge` adds parts, :meth:`finalize` judges."""

    options: DriftOptions
    where: str | None
    since: str | None
    until: str | None
    plans: list[tuple[str, str, str, float]]  # feature, type, method, threshold
    #: ``_ref`` (null when the reference is the first window), ``_start``, ``timestamp``,
    #: and one column per numeric/text/embedding feature
    rows: pl.DataFrame
    #: ``_ref``, ``_start``, ``feature``, ``label``, ``count``
    counts: pl.DataFrame
    role: Role = "logs"
    inputs: list[dict[str, Any]] = field(default_factory=list)
    reference_inputs: list[dict[str, Any]] = field(default_factory=list)
    parts: int = 1
    #: How many of the parts were separate reference logs (role "reference").
    reference_parts: int = 0

    def __post_init__(self) -> None:
        if self.role == "reference" and not self.reference_parts:
            self.reference_parts = self.parts

    def finalize(self) -> DriftResult:
        """The drift result of the merged parts."""
        return _finalize(self)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": PARTIAL_VERSION, "role": self.role,
                "options": _options_dict(self.options), "where": self.where,
                "since": self.since, "until": self.until,
                "plans": [list(p) for p in self.plans], "rows": encode(self.rows),
                "counts": encode(self.counts), "inputs": self.inputs,
                "reference_inputs": self.reference_inputs, "parts": self.parts,
                "reference_parts": self.reference_parts}

    def to_json(self) -> str:
        return to_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, what: str = "partial") -> DriftPartial:
        check_header(data, FORMAT, PARTIAL_VERSION, what)
        try:
            role = data.get("role", "logs")
            if role not in ("logs", "reference"):
                raise ValueError(f"role {role!r}")
            where, since, until = (data.get(k) for k in ("where", "since", "until"))
            if any(f is not None and not isinstance(f, str) for f in (where, since, until)):
                raise ValueError("where, since and until must be text")
            part = cls(_options_of(data["options"]), where, since, until,
                       [(str(f), str(k), str(m), float(t)) for f, k, m, t in data["plans"]],
                       decode(data["rows"], what), decode(data["counts"], what), role,
                       checked_inputs(data.get("inputs")),
                       checked_inputs(data.get("reference_inputs")), int(data.get("parts", 1)),
                       int(data.get("reference_parts", 0)))
            check_options(part.options, part.where)
            _check_frames(part)
            return part
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError,
                UsageError) as exc:
            raise InputError(f"{what}: malformed drift partial ({exc})") from None


def _check_frames(part: DriftPartial) -> None:
    """The columns a finalize reads, each of its type (a partial file is untrusted)."""
    time = pl.Datetime("us", "UTC")
    want = {"_ref": pl.Boolean(), _START: time, "timestamp": time}
    _plans_of(part)  # every method known and fit for its feature type
    for name, kind, _, _ in part.plans:
        if kind == "numeric":
            want[name] = pl.Float64()
        elif kind in ("text", "embedding"):
            want[name] = pl.String() if kind == "text" else pl.List(pl.Float64)
    counts = {"_ref": pl.Boolean(), _START: time, "feature": pl.String(),
              "label": pl.String(), "count": pl.Int64()}
    for frame, expected in ((part.rows, want), (part.counts, counts)):
        for name, dtype in expected.items():
            if name not in frame.columns or frame.schema[name] not in (dtype, pl.Null()):
                raise ValueError(f"column {name!r} missing or not {dtype}")
    if part.counts.filter(pl.col("count") < 0).height:
        raise ValueError("negative label counts")
    for frame, columns in ((part.rows, (_START, "timestamp")), (part.counts, (_START,))):
        if any(frame[c].null_count() for c in columns):
            raise ValueError(f"a null in {' or '.join(columns)}: every row has its window")


# --- computing a part -------------------------------------------------------------------


def drift_partial(source: Source, *, options: DriftOptions | None = None,
                  where: str | None = None, since: str | None = None,
                  until: str | None = None, role: Role = "logs") -> DriftPartial:
    """One part's partial, with the options of ``detect_drift``. ``role="reference"``
    marks a part of separate reference logs (``since``/``until`` do not apply to it)."""
    options = options or DriftOptions()
    check_options(options, where)
    bounds = {} if role == "reference" else {"since": since, "until": until}
    lazy, report = _load(source, where=where, **bounds)
    plans = _plans(lazy.collect_schema(), options)
    start = pl.col("timestamp").dt.truncate(options.window)
    tagged = lazy.filter(pl.col("timestamp").is_not_null()).with_columns(
        _reference_flag(role, options).alias("_ref"), start.alias(_START))
    categorical = [p for p in plans if p.feature.kind == "categorical"]
    rows = tagged.select("_ref", _START, "timestamp",
                         *(p.feature.expr for p in plans if p.feature.kind != "categorical"))
    counts = _label_counts(tagged, categorical)
    reports = [report] if report is not None else []
    return DriftPartial(options, where, since, until, _plan_rows(plans), rows.collect(),
                        counts, role, reports if role == "logs" else [],
                        reports if role == "reference" else [])


def _reference_flag(role: Role, options: DriftOptions) -> pl.Expr:
    if role == "reference":
        return pl.lit(True)
    if options.reference_window is not None:
        first, last = options.reference_window
        if first >= last:
            raise UsageError("--reference-window START..END needs START before END")
        return pl.col("timestamp").is_between(first, last, closed="left")
    return pl.lit(None, dtype=pl.Boolean)  # the first window: known only at the merge


def _label_counts(tagged: pl.LazyFrame, plans: list[Plan]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "_ref": pl.Boolean(), _START: pl.Datetime("us", "UTC"), "feature": pl.String(),
        "label": pl.String(), "count": pl.Int64()}
    frames = [tagged.group_by("_ref", _START, p.feature.expr.alias("label")).len("count")
              .with_columns(pl.lit(p.feature.name).alias("feature")) for p in plans]
    if not frames:
        return pl.DataFrame(schema=schema)
    out = pl.concat(frames, how="diagonal_relaxed").collect()
    return out.select(pl.col(n).cast(t) for n, t in schema.items())


def _plan_rows(plans: list[Plan]) -> list[tuple[str, str, str, float]]:
    return [(p.feature.name, p.feature.kind, p.method.name, p.threshold) for p in plans]


# --- merging and finalizing ---------------------------------------------------------------


def merge(parts: Sequence[DriftPartial]) -> DriftPartial:
    """All parts in one: reference parts first, then the others, each in the given order
    (the order of records decides the text sample, as the order of files does in one read)."""
    if not parts:
        raise UsageError("no partials to merge")
    first = parts[0]
    for part in parts[1:]:
        _same(first, part)
    _reference_once(parts)
    ordered = [p for p in parts if p.role == "reference"] + [
        p for p in parts if p.role == "logs"]  # a merged part with both keeps its order
    counts = pl.concat([p.counts for p in ordered], how="vertical_relaxed")
    counts = counts.group_by("_ref", _START, "feature", "label", maintain_order=True).agg(
        pl.col("count").sum())
    role: Role = "reference" if all(p.role == "reference" for p in parts) else "logs"
    return DriftPartial(first.options, first.where, first.since, first.until, first.plans,
                        pl.concat([p.rows for p in ordered], how="vertical_relaxed"), counts,
                        role, [r for p in ordered for r in p.inputs],
                        [r for p in ordered for r in p.reference_inputs],
                        sum(p.parts for p in parts), sum(p.reference_parts for p in parts))


def _reference_once(parts: Sequence[DriftPartial]) -> None:
    """A reference file in two parts would count twice: refuse it, naming the file."""
    seen: set[str] = set()
    for part in parts:
        files = {str(f.get("path")) for r in part.reference_inputs
                 for f in r.get("files") or [] if isinstance(f, dict)}
        twice = sorted(files & seen)
        if twice:
            raise UsageError(f"the reference file {twice[0]} is in more than one partial; "
                             "give --reference to one part only")
        seen |= files


def _same(a: DriftPartial, b: DriftPartial) -> None:
    left, right = a.to_dict(), b.to_dict()
    keys = ("options", "where", "since", "until", "plans")
    differ = [k for k in keys if left[k] != right[k]]
    if differ:
        raise UsageError(f"partials were computed with different {', '.join(differ)}; "
                         "compute every part with the same options")


def _finalize(part: DriftPartial) -> DriftResult:
    options = part.options
    split_ = _split_of(part, part.reference_parts > 0)
    ref = pl.col("_ref")
    if split_.source == "first_window":
        ref = pl.col(_START) == pl.lit(split_.start, dtype=pl.Datetime("us", "UTC"))
    window = pl.when(ref).then(None).otherwise(pl.col(_START))
    rows = part.rows.with_columns(ref.fill_null(False).alias("_ref"), window.alias("_window"))
    plans = _plans_of(part)
    sampled = [p.feature.name for p in plans if p.feature.kind in ("text", "embedding")]
    rows = rows.with_columns(pl.when(sample_mask(n, options.sample_size, options.seed))
                             .then(pl.col(n)).alias(n) for n in sampled)
    data = rows.select("_ref", "_window", "timestamp",
                       *(p.feature.name for p in plans if p.feature.kind != "categorical"))
    inputs = None
    if part.inputs or part.reference_inputs:
        logs, reference = merge_inputs(part.inputs), merge_inputs(part.reference_inputs)
        inputs = {"logs": logs, "reference": reference,
                  "skipped": sum((r or {}).get("skipped", 0) for r in (logs, reference))}
    result = judge(data, plans, options, split_, inputs, _counts_of(part.counts, ref, split_))
    return replace(result, merge={"parts": part.parts, **MERGE_NOTE})


def _split_of(part: DriftPartial, has_reference: bool) -> Split:
    options = part.options
    if has_reference:
        return Split(pl.LazyFrame(), "reference_paths", None, None)
    if options.reference_window is not None:
        return Split(pl.LazyFrame(), "reference_window", *options.reference_window)
    logs = part.rows.get_column(_START)
    if logs.len() == 0 or logs.null_count() == logs.len():
        raise UsageError("the logs hold no records with a timestamp; nothing to compare")
    first: datetime = logs.min()  # type: ignore[assignment]
    return Split(pl.LazyFrame(), "first_window", first, window_end(first, options.window))


def _counts_of(counts: pl.DataFrame, ref: pl.Expr, split_: Split) -> Counts:
    tagged = counts.with_columns(ref.fill_null(False).alias("_ref"))
    out: dict[tuple[bool, datetime | None], dict[str, dict[str, int]]] = {}
    for is_ref, start, feature, label, n in tagged.iter_rows():
        key = (True, None) if is_ref else (False, start)
        by_label = out.setdefault(key, {}).setdefault(feature, {})
        by_label[label] = by_label.get(label, 0) + n
    return out


def _plans_of(part: DriftPartial) -> list[Plan]:
    from genailog.analysis.drift.features import Feature
    from genailog.analysis.drift.registry import get_method

    return [Plan(Feature(name, kind), get_method(method, kind, name), threshold)  # type: ignore[arg-type]
            for name, kind, method, threshold in part.plans]


def _options_dict(options: DriftOptions) -> dict[str, Any]:
    window = options.reference_window
    return {"window": options.window,
            "reference_window": [t.isoformat() for t in window] if window else None,
            "features": list(options.features), "methods": dict(options.methods),
            "thresholds": dict(options.thresholds), "alpha": options.alpha,
            "min_records": options.min_records, "drift_share": options.drift_share,
            "sample_size": options.sample_size, "seed": options.seed}


def _options_of(data: Any) -> DriftOptions:
    window = data.get("reference_window")
    return DriftOptions(
        window=str(data["window"]),
        reference_window=(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1]))
        if window else None,
        features=tuple(map(str, data["features"])),
        methods={str(k): str(v) for k, v in data["methods"].items()},
        thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
        alpha=float(data["alpha"]), min_records=_count(data["min_records"], "min_records"),
        drift_share=None if data["drift_share"] is None else float(data["drift_share"]),
        sample_size=_count(data["sample_size"], "sample_size"),
        seed=_count(data["seed"], "seed"))


def _count(value: Any, name: str) -> int:
    """A non-negative option that polars takes as a 64-bit integer (a damaged partial's
    huge number is a clear error, not an overflow deep in a query)."""
    number = int(value)
    if not 0 <= number < 2**63:
        raise ValueError(f"{name} {number} out of range")
    return number
