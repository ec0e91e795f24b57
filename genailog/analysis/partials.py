"""Mergeable partial summaries: compute per file, partition or machine, merge, finish.

A :class:`SummaryPartial` is what ``summarize`` computes before it finishes its rows: one
row per *finest group* (the ``--window`` bucket and ``--by`` keys, the model, and the two
price keys of :mod:`genailog.pricing.cost`), holding counts, sums, minima and maxima, the
rates of its model and price keys, and for latency and TTFT either every value (exact
mode) or DDSketch bucket counts (sketch mode, :mod:`genailog.analysis.sketch`).

- :func:`merge` adds partials: equal groups add their counts and sums, take the smaller
  minimum and larger maximum, concatenate their values or add their bucket counts. It is
  associative and independent of order, because the merged frame is always re-sorted by
  group and float sums are taken in that order.
- :meth:`SummaryPartial.finalize` prices every row from its token sums and finishes the
  group rows and the total, exactly as ``summarize`` does (``summarize`` *is*
  ``stage`` + ``finish``): on the same records, a merge of partials gives the whole
  input's answer. Integer counts, token sums, cost from tokens and exact percentiles are
  identical; float sums (reported cost, latency and feedback means) agree up to float
  rounding; sketch percentiles equal the whole input's sketch percentiles.
- ``to_json``/``from_json`` write and read the partial (schema:
  schemas/summarize.partial.schema.json, ``version`` :data:`PARTIAL_VERSION`).

Not in a partial: head-sampled records (their weighted standard errors need every
sampling unit at once; :func:`summary_partial` refuses them) and the ``--safety`` view.
Exact mode keeps 8 bytes per latency and TTFT value, in memory and as JSON text (about
20 bytes each): use sketch mode for inputs that do not fit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from genailog.analysis import sketch
from genailog.analysis import summarize as core
from genailog.analysis.gates import GatePolicy, evaluate_gates
from genailog.analysis.weighting import is_sampled
from genailog.errors import InputError, UsageError

if TYPE_CHECKING:
    from genailog.ingest import Logs
    from genailog.pricing import PriceTable

FORMAT = "genailog.summary-partial"
PARTIAL_VERSION = 1
_SKETCH = pl.List(pl.Struct({sketch.KEY: pl.Int64, sketch.COUNT: pl.Int64}))
_VALUES = pl.List(pl.Float64)
_SIMPLE: dict[str, pl.DataType] = {
    "string": pl.String(), "int64": pl.Int64(), "float64": pl.Float64(),
    "bool": pl.Boolean(), "date": pl.Date(), "null": pl.Null(),
}  # fmt: skip
_DATETIME = re.compile(r"datetime\[(ns|us|ms),([A-Za-z0-9_+\-/]*)\]")


@dataclass
class SummaryPartial:
    """The mergeable state of a summary (see the module docstring)."""

    by: list[str]
    window: str | None
    #: The sketches' relative accuracy; None in exact mode.
    relative_accuracy: float | None
    #: The price table's description (``PriceTable.to_dict``); rows carry their rates.
    prices: dict[str, Any]
    skipped_records: int
    frame: pl.DataFrame
    #: Records were head-sampled: this partial holds them unweighted and cannot be merged.
    sampled: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        self.frame = _canonical(self.frame)

    @property
    def keys(self) -> list[str]:
        return ([core.WINDOW_KEY] if self.window else []) + self.by

    @property
    def quantiles(self) -> str:
        return "exact" if self.relative_accuracy is None else "sketch"

    def merge(self, other: SummaryPartial) -> SummaryPartial:
        """This partial and ``other`` added (see :func:`merge`)."""
        return merge(self, other)

    def finalize(self, *, fail_if: Sequence[str] = (), top: int | None = None,
                 allow_empty: bool = False, min_records: int = 0) -> core.SummaryResult:
        """The summary: equal to ``summarize`` on all the records merged into this partial,
        with its ``--fail-if`` gates and ``--top`` view."""
        self._refuse_sampled()
        core.check_options(by=self.by, window=self.window, fail_if=fail_if, top=top)
        result = core.result_from(self.frame, self.by, self.window, self.relative_accuracy,
                                  self.skipped_records, self.prices)
        result.gates = evaluate_gates(fail_if, result.groups or [], result.total, self.keys,
                                      GatePolicy(allow_empty=allow_empty,
                                                 min_records=min_records))
        core._cost_and_safety_views(result, None, self.keys, top, False)
        result.partial = self
        return result

    def to_dict(self) -> dict[str, Any]:
        self._refuse_sampled()
        return {
            "format": FORMAT,
            "version": PARTIAL_VERSION,
            "by": self.by,
            "window": self.window,
            "quantiles": self.quantiles,
            "relative_accuracy": self.relative_accuracy,
            "prices": self.prices,
            "skipped_records": self.skipped_records,
            "rows": self.frame.height,
            "columns": {name: _column_json(self.frame[name]) for name in self.frame.columns},
        }

    def to_json(self) -> str:
        try:
            return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))
        except ValueError as exc:  # NaN or infinity among the values
            raise UsageError(f"cannot write the partial: {exc}") from None

    @classmethod
    def from_dict(cls, data: Any) -> SummaryPartial:
        """A partial from its JSON form; :class:`InputError` (exit 3) when it is not one."""
        try:
            return _from_dict(data)
        except InputError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError,
                pl.exceptions.PolarsError) as exc:
            raise InputError(f"not a genailog summary partial: {type(exc).__name__}: "
                             f"{str(exc)[:200]}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> SummaryPartial:
        try:
            data = json.loads(text, parse_constant=no_constant)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"not a genailog summary partial: invalid JSON ({exc})") from None
        return cls.from_dict(data)

    def write(self, path: str | Path) -> None:
        """Write the JSON form atomically (the target is replaced only when complete)."""
        from genailog.outputs import atomic_writer

        text = self.to_json()
        with atomic_writer(path) as handle:
            handle.write(text)

    def _refuse_sampled(self) -> None:
        if self.sampled:
            raise UsageError("head-sampled records (sample_rate < 1) cannot go into a "
                             "partial: their weighted estimates need every session at once")


def summary_partial(logs: Logs | pl.LazyFrame | pl.DataFrame, *, by: Sequence[str] = (),
                    window: str | None = None, where: str | None = None,
                    since: str | datetime | None = None, until: str | datetime | None = None,
                    prices: PriceTable | str | Path | None = None,
                    quantiles: str = "exact") -> SummaryPartial:
    """The partial of logs already read, with ``summarize``'s options (one read)."""
    by = list(by)
    core.check_options(by=by, window=window, where=where)
    core.check_quantiles(quantiles)
    table = core.price_table(prices)
    frame, skipped = core.prepare(logs, by, window, where, since, until)
    keys = ([core.WINDOW_KEY] if window else []) + by
    accuracy = None if quantiles == "exact" else sketch.RELATIVE_ACCURACY
    part = SummaryPartial(by=by, window=window, relative_accuracy=accuracy,
                          prices=table.to_dict(), skipped_records=skipped,
                          frame=core.stage(frame, keys, table, quantiles),
                          sampled=is_sampled(frame))
    part._refuse_sampled()
    return part


def merge(*parts: SummaryPartial) -> SummaryPartial:
    """Partials added: associative and independent of order. They must come from the same
    options (``by``, ``window``, quantile mode) and the same price table."""
    if not parts:
        raise UsageError("nothing to merge: give at least one partial")
    first = parts[0]
    for part in parts:
        part._refuse_sampled()
        _check_compatible(first, part)
    finest = core.finest_keys(first.keys)
    try:
        stacked = pl.concat([p.frame for p in parts], how="vertical_relaxed")
    except pl.exceptions.PolarsError as exc:
        raise UsageError(f"partials disagree on their columns: {exc}") from None
    _check_rates(stacked, finest)
    return replace(first, frame=core.combine([stacked], finest),
                   skipped_records=sum(p.skipped_records for p in parts))


def no_constant(name: str) -> None:
    """For ``json.loads``: NaN and Infinity are not JSON numbers (a partial is untrusted)."""
    raise ValueError(f"{name} is not a number JSON allows")


def read_partial(path: str | Path) -> SummaryPartial:
    """A partial written by ``summarize --partial-out``; InputError names the path."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return SummaryPartial.from_json(text)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _check_compatible(a: SummaryPartial, b: SummaryPartial) -> None:
    for name in ("by", "window", "quantiles", "relative_accuracy", "prices"):
        left, right = getattr(a, name), getattr(b, name)
        if left != right:
            raise UsageError(f"partials differ in {name} ({left!r} vs {right!r}): only "
                             "partials of the same summarize options and prices merge")


def _check_rates(stacked: pl.DataFrame, finest: list[str]) -> None:
    rates = [c for c in stacked.columns if c.startswith("_rate_")]
    clash = stacked.group_by(finest).agg(pl.struct(rates).n_unique().alias("n")).filter(
        pl.col("n") > 1)
    if clash.height:
        raise UsageError("partials priced the same model with different rates: compute "
                         "them with the same --prices table")


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """One dtype per kind, so partials from memory and from JSON stack: integers Int64,
    floats Float64, categoricals String; others stay."""
    casts = []
    for name, dtype in frame.schema.items():
        target: pl.DataType | None = None
        if dtype.is_integer():
            target = pl.Int64()
        elif dtype.is_float():
            target = pl.Float64()
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            target = pl.String()
        elif isinstance(dtype, pl.List) and name.endswith("_values"):
            target = _VALUES
        elif isinstance(dtype, pl.List) and name.endswith("_sketch"):
            target = _SKETCH
        if target is not None and target != dtype:
            casts.append(pl.col(name).cast(target))
    return frame.with_columns(casts) if casts else frame


def _dtype_name(series: pl.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        return f"datetime[{dtype.time_unit},{dtype.time_zone or ''}]"
    if dtype == _VALUES:
        return "list[float64]"
    if dtype == _SKETCH:
        return "sketch"
    for name, simple in _SIMPLE.items():
        if dtype == simple:
            return name
    raise UsageError(f"field {series.name!r} of type {dtype} cannot go into a partial "
                     "(group on text, numbers, booleans, dates or times)")


def _column_json(series: pl.Series) -> dict[str, Any]:
    name = _dtype_name(series)
    if name.startswith("datetime") or name == "date":
        values: list[Any] = series.to_physical().to_list()
    elif name == "sketch":
        values = [None if row is None else {"keys": [b[sketch.KEY] for b in row],
                                            "counts": [b[sketch.COUNT] for b in row]}
                  for row in series.to_list()]
    else:
        values = series.to_list()
    return {"dtype": name, "values": values}


def _dtype_of(name: str) -> pl.DataType:
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name == "list[float64]":
        return _VALUES
    if name == "sketch":
        return _SKETCH
    match = _DATETIME.fullmatch(name)
    if match is None:
        raise InputError(f"not a genailog summary partial: unknown column type {name[:40]!r}")
    unit, zone = match.groups()
    return pl.Datetime(unit, zone or None)  # type: ignore[arg-type]


def _series(name: str, column: dict[str, Any], rows: int) -> pl.Series:
    dtype, values = _dtype_of(column["dtype"]), column["values"]
    if not isinstance(values, list) or len(values) != rows:
        raise InputError(f"not a genailog summary partial: column {name[:40]!r} has "
                         f"{len(values) if isinstance(values, list) else 'no'} values, "
                         f"not {rows}")
    if isinstance(dtype, pl.Datetime | pl.Date):
        return pl.Series(name, values, dtype=pl.Int64, strict=True).cast(dtype)
    if dtype == _SKETCH:
        values = [None if v is None else [{sketch.KEY: k, sketch.COUNT: c} for k, c in
                                          zip(v["keys"], v["counts"], strict=True)]
                  for v in values]
    return pl.Series(name, values, dtype=dtype, strict=True)


def _expected_columns(part: SummaryPartial) -> list[str]:
    """The columns of a partial frame, in the order :func:`~core.stage` makes them."""
    metrics = core.partial_columns(part.quantiles)
    return [*core.finest_keys(part.keys), *metrics, *core.rate_columns()]


def _from_dict(data: Any) -> SummaryPartial:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"not a genailog summary partial (no \"format\": \"{FORMAT}\")")
    if data.get("version") != PARTIAL_VERSION:
        raise InputError(f"summary partial version {str(data.get('version'))[:20]} is not "
                         f"supported (this genailog reads version {PARTIAL_VERSION})")
    quantiles, accuracy = data["quantiles"], data["relative_accuracy"]
    if quantiles not in core.QUANTILE_MODES or (quantiles == "exact") != (accuracy is None):
        raise InputError("not a genailog summary partial: bad quantiles/relative_accuracy")
    if accuracy is not None and not (isinstance(accuracy, float) and 0 < accuracy < 1):
        raise InputError("not a genailog summary partial: relative_accuracy not in (0, 1)")
    by, window, rows = data["by"], data["window"], data["rows"]
    if not (isinstance(by, list) and all(isinstance(b, str) for b in by)
            and (window is None or isinstance(window, str)) and isinstance(rows, int)
            and isinstance(data["skipped_records"], int) and isinstance(data["prices"], dict)
            and isinstance(data["columns"], dict)):
        raise InputError("not a genailog summary partial: bad by/window/rows/prices/columns")
    frame = pl.DataFrame([_series(str(n), c, rows) for n, c in data["columns"].items()])
    part = SummaryPartial(by=by, window=window, relative_accuracy=accuracy,
                          prices=data["prices"], skipped_records=data["skipped_records"],
                          frame=frame)
    expected = _expected_columns(part)
    if set(expected) != set(frame.columns):
        odd = set(expected).symmetric_difference(frame.columns)
        raise InputError("not a genailog summary partial: missing or unknown column(s) "
                         + ", ".join(sorted(odd))[:200])
    part.frame = part.frame.select(expected)
    return part
