"""DDSketch quantiles for ``summarize --quantiles sketch``: bucket counts that add.

The sketch is DataDog's DDSketch (the ``ddsketch`` package) with its logarithmic mapping
at :data:`RELATIVE_ACCURACY`: a value ``v > 0`` falls in bucket
``ceil(log2(v) * multiplier)``, and a bucket stands for the value the library's
``LogarithmicMapping.value`` gives it. Two sketches merge by adding the counts of equal
buckets, so merging is exact, associative and independent of order: the sketch of two
halves merged *is* the sketch of the whole.

Bucketing runs as a polars expression over whole columns (the library adds one value at
a time in Python, about a microsecond each); tests/test_sketch.py checks that its keys
equal the library's ``mapping.key`` for every value tried. Bucket values come from the
library itself.

Encoded keys keep the order of values in one integer column: positive values keep the
library's key (about -35,000..35,000 at 1%), values the library counts as zero get
:data:`ZERO_KEY`, and a negative value ``-v`` gets ``NEGATIVE_BASE - key(v)``; so sorting
encoded keys sorts the values.

Quantiles interpolate linearly between the order statistics at ``floor`` and ``ceil`` of
``q * (n - 1)``, as the exact mode (DuckDB's ``quantile_cont``) does, each order statistic
read from its bucket. Both are within the relative accuracy ``a`` of the true order
statistics, so for non-negative values (latencies) the interpolated quantile is within
``a`` of the exact one: ``|estimate - exact| <= a * exact``. The estimate is capped at the
exact maximum, which only moves it closer.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from ddsketch.mapping import LogarithmicMapping

#: The library's default relative accuracy ("alpha"): every quantile within 1%.
RELATIVE_ACCURACY = 0.01
ZERO_KEY = -(1 << 20)
NEGATIVE_BASE = -(1 << 21)
KEY = "key"
COUNT = "count"


@cache
def mapping(relative_accuracy: float = RELATIVE_ACCURACY) -> LogarithmicMapping:
    """The library's key mapping (the same one ``ddsketch.DDSketch`` uses), imported on
    first use: exact mode never loads ddsketch (and six)."""
    from ddsketch.mapping import LogarithmicMapping

    return LogarithmicMapping(relative_accuracy)


def _log_key(value: pl.Expr, relative_accuracy: float) -> pl.Expr:
    # the library: int(ceil(math.log(v, 2) * multiplier) + offset), offset 0
    multiplier = mapping(relative_accuracy)._multiplier
    return (value.log(2) * multiplier).ceil().cast(pl.Int64, strict=False)


def bucket_key(value: pl.Expr, relative_accuracy: float = RELATIVE_ACCURACY) -> pl.Expr:
    """The encoded bucket of each value (null stays null)."""
    smallest = mapping(relative_accuracy).min_possible
    return (
        pl.when(value > smallest).then(_log_key(value, relative_accuracy))
        .when(value < -smallest).then(NEGATIVE_BASE - _log_key(-value, relative_accuracy))
        .when(value.is_not_null()).then(pl.lit(ZERO_KEY, dtype=pl.Int64))
        .otherwise(None)
    )  # fmt: skip


def bucket_value(key: int, relative_accuracy: float = RELATIVE_ACCURACY) -> float:
    """The value an encoded bucket stands for (the library's ``mapping.value``)."""
    if key == ZERO_KEY:
        return 0.0
    if key < ZERO_KEY:
        return -float(mapping(relative_accuracy).value(NEGATIVE_BASE - key))
    return float(mapping(relative_accuracy).value(key))


def bucket_counts(keys: pl.Expr) -> pl.Expr:
    """Aggregation over a column of :func:`bucket_key`: the sketch of a group, a list of
    ``{key, count}`` structs."""
    counts = keys.alias(KEY).drop_nulls().value_counts(sort=False, name=COUNT)
    # Int64 counts, as merged sketches hold them (value_counts gives UInt32), so a batch's
    # sketch stacks with sketches merged before it
    return counts.struct.with_fields(pl.field(COUNT).cast(pl.Int64))


def with_bucket_values(buckets: pl.DataFrame, relative_accuracy: float) -> pl.DataFrame:
    """``buckets`` (a ``key`` column) plus ``value``: each distinct key mapped once."""
    keys = buckets[KEY].unique().to_list()
    lookup = pl.DataFrame(
        {KEY: keys, "value": [bucket_value(k, relative_accuracy) for k in keys]},
        schema={KEY: pl.Int64, "value": pl.Float64},
    )
    return buckets.join(lookup, on=KEY, how="left")


def quantile_exprs(p: float, name: str) -> pl.Expr:
    """In a ``group_by`` over one group's buckets sorted by key (columns ``count``,
    ``value`` and the running count ``_cum``): the quantile ``p`` (0..1), interpolated
    between the buckets of the two order statistics around rank ``p * (n - 1)``."""
    n = pl.col(COUNT).sum()
    rank = pl.lit(p, dtype=pl.Float64) * (n - 1).cast(pl.Float64)
    low = rank.floor()
    value = pl.col("value")
    at_low = value.filter(pl.col("_cum") > low).first()
    at_high = value.filter(pl.col("_cum") > rank.ceil()).first()
    return (at_low + (at_high - at_low) * (rank - low)).alias(name)


def describe(relative_accuracy: float) -> dict[str, object]:
    """What a sketch-mode result says about its percentiles (JSON and table footer)."""
    from importlib.metadata import version

    return {
        "method": "sketch",
        "library": f"ddsketch {version('ddsketch')}",
        "relative_accuracy": relative_accuracy,
        "bound": f"every percentile within {relative_accuracy:.0%} of the exact one "
                 "(|estimate - exact| <= relative_accuracy x exact)",
    }
