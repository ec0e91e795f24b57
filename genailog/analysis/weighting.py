"""Estimates from head-sampled logs: records weighted by ``1/sample_rate``.

A producer that keeps a call with probability ``sample_rate`` (genailog.log does, keyed
by session) writes that rate on the record. The Horvitz-Thompson estimate of a total is
``sum(y / sample_rate)``; sessions are the sampling unit (every call of a session shares
one fate), so the variance is estimated per session, for Poisson sampling of sessions::

    var = sum over sampled sessions s with rate r < 1 of (1 - r) / r**2 * y_s**2

where ``y_s`` is the session's total. Records kept whatever the sample (errors, flagged
calls) carry ``sample_rate`` 1 and add no variance. A record without the unit field is a
unit of its own. Means and percentiles are weighted by ``1/sample_rate`` too (percentiles
by the weighted inverse CDF); their standard errors are not reported.

Only counts, token sums, cost, means and latency percentiles are re-weighted; the other
metrics stay as logged. Nothing here reads files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from genailog.errors import InputError
from genailog.pricing import PriceTable
from genailog.pricing.cost import with_cost
from genailog.schema.rules import is_error

#: Totals estimated with a standard error.
TOTALS = ("requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens",
          "cache_write_tokens", "reasoning_tokens", "cost_usd")
_TOKENS = TOTALS[2:7]
_TIMED = ("latency_ms", "ttft_ms")
_PERCENTILES = (50, 90, 95, 99)
_R, _UNIT = "_rate", "_unit"


def is_sampled(frame: pl.LazyFrame) -> bool:
    """Whether any record says it was head-sampled (``sample_rate`` below 1), or holds a
    rate the schema refuses (which :func:`weighted` then reports)."""
    if "sample_rate" not in frame.collect_schema().names():
        return False
    return bool(frame.select(needs_weighting(pl.col("sample_rate")).any()).collect().item())


def needs_weighting(rate: pl.Expr) -> pl.Expr:
    """True where a record must go through :func:`weighted`: head-sampled (``sample_rate``
    below 1), or a rate the schema refuses, which :func:`weighted` reports."""
    return (rate < 1) | bad_rate(rate)


def bad_rate(rate: pl.Expr) -> pl.Expr:
    """True where a logged ``sample_rate`` breaks the schema's rule ``0 < rate <= 1``
    (0, negative, above 1, NaN or infinite); null (not sampled) is never bad."""
    return rate.is_not_null() & ~((rate > 0) & (rate <= 1))


def check_rates(frame: pl.LazyFrame) -> None:
    """Refuse rates :func:`bad_rate` flags with one line naming the column, the first bad
    record and the rule: weighting by ``1/sample_rate`` has no meaning for them."""
    if "sample_rate" not in frame.collect_schema().names():
        return
    bad = bad_rate(pl.col("sample_rate"))
    found = frame.select(
        bad.sum().alias("n"),
        pl.int_range(pl.len()).filter(bad).first().alias("at"),
        pl.col("sample_rate").filter(bad).first().alias("rate"),
    ).collect().row(0, named=True)
    if found["n"]:
        n = found["n"]
        raise InputError(
            f"sample_rate {found['rate']!r} in record {found['at'] + 1} of the logs ({n} "
            f"record{'s' if n > 1 else ''} in all): the rule is 0 < sample_rate <= 1, or "
            "null when the call was not sampled; genailog validate lists them")


def _prepared(frame: pl.LazyFrame, unit: str, table: PriceTable) -> pl.LazyFrame:
    names = frame.collect_schema().names()
    own = (pl.lit("u:") + pl.col(unit).cast(pl.String)) if unit in names else pl.lit(None)
    record = pl.lit("r:") + pl.int_range(pl.len()).cast(pl.String)
    return with_cost(frame, table).with_columns(
        pl.col("sample_rate").fill_null(1.0).alias(_R),
        pl.coalesce(own, record).alias(_UNIT),
        is_error().fill_null(False).alias("_error"),
    )


def _unit_sums() -> list[pl.Expr]:
    return [
        pl.len().alias("requests"),
        pl.col("_error").sum().alias("errors"),
        *(pl.col(name).sum().alias(name) for name in _TOKENS),
        *(pl.col(name).count().alias(f"_{name}_n") for name in _TOKENS),
        pl.col("_cost").sum().alias("cost_usd"),
        pl.col("_cost").count().alias("_cost_usd_n"),
    ]


def _estimates() -> list[pl.Expr]:
    r = pl.col(_R)
    out = []
    for name in TOTALS:
        out.append((pl.col(name) / r).sum().alias(name))
        out.append(((1 - r) / r**2 * pl.col(name).cast(pl.Float64) ** 2).sum().sqrt()
                   .alias(f"{name}_se"))
        if name not in ("requests", "errors"):
            out.append(pl.col(f"_{name}_n").sum().alias(f"_{name}_n"))
    return out


def _weighted_quantiles(values: Sequence[float], weights: Sequence[float]) -> dict[str, Any]:
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(w for _, w in pairs)
    out: dict[str, Any] = {"mean": sum(v * w for v, w in pairs) / total if total else None}
    for p in _PERCENTILES:
        target, running, chosen = total * p / 100, 0.0, None
        for value, weight in pairs:
            running += weight
            if running >= target - 1e-9 * total:
                chosen = value
                break
        out[f"p{p}"] = chosen
    return out


def _timed(prepared: pl.LazyFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Weighted mean and percentiles of latency and TTFT per group key tuple."""
    by: list[str | pl.Expr] = [*keys] or [pl.lit(True).alias("_all")]
    weight = (1 / pl.col(_R)).alias("_w")
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for column in _TIMED:
        rows = (prepared.filter(pl.col(column).is_not_null())
                .group_by(by).agg(pl.col(column), weight).collect())
        for row in rows.iter_rows(named=True):
            key = tuple(row[k] for k in keys)
            stats = _weighted_quantiles(row[column], row["_w"])
            found.setdefault(key, {}).update({f"{column}_{k}": v for k, v in stats.items()})
    return found


def _finish(row: dict[str, Any], timed: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in TOTALS:
        present = name in ("requests", "errors") or row[f"_{name}_n"] > 0
        value, se = row[name], row[f"{name}_se"]
        if not present:
            value = se = None
        elif name != "cost_usd":
            value = int(round(value))
        out[name], out[f"{name}_se"] = value, se
    requests = out["requests"] or 0
    out["error_rate"] = out["errors"] / requests if requests else None
    if out["cost_usd"] is not None and requests:
        out["cost_per_request"] = out["cost_usd"] / requests
        out["cost_per_1k_requests"] = out["cost_per_request"] * 1000
    for name in ("input_tokens", "output_tokens"):
        if out[name] is not None and requests:
            out[f"{name}_per_request"] = out[name] / requests
    out.update(timed)
    return {k: v for k, v in out.items() if not (isinstance(v, float) and math.isnan(v))}


def weighted(
    frame: pl.LazyFrame, keys: list[str], table: PriceTable, unit: str = "session_id"
) -> tuple[dict[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """Estimated metrics per group key tuple, and for the total; :class:`InputError`
    when a ``sample_rate`` breaks the schema's rule (:func:`check_rates`)."""
    check_rates(frame)
    prepared = _prepared(frame, unit, table)
    per_unit = prepared.group_by([*keys, _UNIT, _R]).agg(_unit_sums())
    groups = per_unit.group_by(keys).agg(_estimates()).collect() if keys else None
    total = per_unit.select(_estimates()).collect().row(0, named=True)
    timed = _timed(prepared, keys)
    total_timed = _timed(prepared, [])
    rows = {}
    if groups is not None:
        for row in groups.iter_rows(named=True):
            key = tuple(row[k] for k in keys)
            rows[key] = _finish(row, timed.get(key, {}))
    return rows, _finish(total, total_timed.get((), {}))


def sampling_note(frame: pl.LazyFrame, unit: str) -> dict[str, Any]:
    """What the output says about sampling: how many records were sampled and how."""
    counts = frame.select(
        pl.len().alias("records"),
        (pl.col("sample_rate") < 1).sum().alias("sampled_records"),
        pl.col("sample_rate").min().alias("min_sample_rate"),
    ).collect().row(0, named=True)
    return {
        **counts,
        "unit": unit,
        "note": "head-sampled logs: counts, token sums, cost, means and latency percentiles "
                "are estimates weighted by 1/sample_rate, with standard errors (*_se) "
                "estimated per " + unit + "; other metrics are as logged",
    }
