"""The safety view of ``summarize --safety``: refusals, moderation flags per category and
``content_filter`` finish reasons, per group and in total.

Rules (docs/summarize.md): a rate counts only the records that logged its field
(``refusal``, ``finish_reason``, ``moderation_flags``), and ``<rate>_count`` says how many;
a moderation category fired when it is listed by name, or set to ``true``, or scored at or
above ``threshold`` (OpenAI's ``category_scores`` are 0..1). Counts are of logged records,
not weighted by ``sample_rate``. Pure: takes a frame, returns plain dicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec
import polars as pl

from genailog.schema.rules import utc_text

_CATEGORIES = "__categories"
_TOTAL = "__total"
#: Scores at or above this count as a fired category.
DEFAULT_THRESHOLD = 0.5


def fired(value: Any, threshold: float = DEFAULT_THRESHOLD) -> list[str] | None:
    """The categories a logged ``moderation_flags`` value fired (None: not a list or an
    object, so not a moderation result)."""
    if isinstance(value, list):
        return sorted({name for name in value if isinstance(name, str)})
    if isinstance(value, dict):
        return sorted(name for name, v in value.items()
                      if v is True or (isinstance(v, int | float) and not isinstance(v, bool)
                                       and math.isfinite(v) and v >= threshold))
    return None


def moderated(threshold: float = DEFAULT_THRESHOLD) -> pl.Expr:
    """Per record: did ``moderation_flags`` fire any category (null: none logged, or not a
    moderation result). drift's ``moderated`` feature."""
    decode = msgspec.json.Decoder().decode

    def any_fired(text: str) -> bool | None:
        try:
            found = fired(decode(text), threshold)
        except msgspec.DecodeError:
            return None
        return None if found is None else bool(found)

    return pl.col("moderation_flags").map_elements(any_fired, return_dtype=pl.Boolean,
                                                   skip_nulls=True)


def _categories(texts: pl.Series, threshold: float) -> pl.DataFrame:
    """Each distinct ``moderation_flags`` text and the categories it fired."""
    decode = msgspec.json.Decoder().decode
    distinct = texts.drop_nulls().unique()
    found = []
    for text in distinct.to_list():
        try:
            found.append(fired(decode(text), threshold))
        except msgspec.DecodeError:
            found.append(None)
    return pl.DataFrame({"moderation_flags": distinct,
                         _CATEGORIES: pl.Series(found, dtype=pl.List(pl.String))})


def _rate(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))


def _metrics() -> list[pl.Expr]:
    col = pl.col
    return [
        pl.len().alias("requests"),
        col("refusal").sum().alias("refusals"),
        col("refusal").count().alias("refusal_rate_count"),
        (col("finish_reason") == "content_filter").sum().alias("content_filter"),
        col("finish_reason").count().alias("content_filter_rate_count"),
        (col(_CATEGORIES).list.len() > 0).sum().alias("moderated"),
        col(_CATEGORIES).is_not_null().sum().alias("moderation_rate_count"),
    ]


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        _rate("refusals", "refusal_rate_count").alias("refusal_rate"),
        _rate("content_filter", "content_filter_rate_count").alias("content_filter_rate"),
        _rate("moderated", "moderation_rate_count").alias("moderation_rate"),
    )


def _key(value: Any) -> Any:
    return utc_text(value) if isinstance(value, date) else value


FIELDS = ("requests", "refusals", "refusal_rate", "refusal_rate_count", "content_filter",
          "content_filter_rate", "content_filter_rate_count", "moderated", "moderation_rate",
          "moderation_rate_count")


def safety_view(frame: pl.LazyFrame, keys: Sequence[str],
                threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Safety counts and rates per ``keys`` group and in total, with per-category counts."""
    keys = list(keys)
    records = frame.select(*keys, "refusal", "finish_reason", "moderation_flags").collect()
    mapping = _categories(records["moderation_flags"], threshold)
    records = records.join(mapping, on="moderation_flags", how="left", nulls_equal=False)
    by: list[str | pl.Expr] = [*keys] or [pl.lit(True).alias(_TOTAL)]
    names = keys or [_TOTAL]
    groups = _finish(records.group_by(by, maintain_order=True).agg(_metrics()))
    per_category = (records.explode(_CATEGORIES).drop_nulls(_CATEGORIES)
                    .with_columns(*([] if keys else [pl.lit(True).alias(_TOTAL)]))
                    .group_by(*names, _CATEGORIES).len())
    total = _finish(records.select(_metrics()))
    categories = sorted(per_category[_CATEGORIES].unique().to_list())
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in per_category.sort(_CATEGORIES).iter_rows(named=True):
        counts.setdefault(tuple(row[k] for k in names), {})[row[_CATEGORIES]] = row["len"]
    overall = per_category.group_by(_CATEGORIES).agg(pl.col("len").sum()).sort(_CATEGORIES)
    rows = [{**{k: _key(row[k]) for k in keys}, **{f: row[f] for f in FIELDS},
             "categories": counts.get(tuple(row[k] for k in names), {})}
            for row in groups.sort(names, nulls_last=True).iter_rows(named=True)]
    return {
        "moderation_threshold": threshold,
        "categories": categories,
        "groups": rows if keys else [],
        "total": {**{f: total[f][0] for f in FIELDS},
                  "categories": dict(overall.iter_rows())},
    }
