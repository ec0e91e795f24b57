"""The shared --where/--since/--until filters."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from genailog.analysis.filters import apply_filters, parse_time
from genailog.errors import ExpressionError, UsageError

FRAME = pl.LazyFrame({
    "timestamp": [datetime(2025, 12, d, tzinfo=UTC) for d in (1, 2, 3)],
    "model": ["a", "b", "b"],
    "latency_ms": [10.0, 2000.0, 3000.0],
    "hallucination_flag": [True, False, None],
})


def test_where_is_sql_over_fields() -> None:
    kept = apply_filters(FRAME, where="model = 'b' AND latency_ms > 2500").collect()
    assert kept["latency_ms"].to_list() == [3000.0]
    assert apply_filters(FRAME, where="hallucination_flag").collect().height == 1


def test_since_is_inclusive_and_until_exclusive() -> None:
    kept = apply_filters(FRAME, since="2025-12-02", until="2025-12-03T00:00:00Z").collect()
    assert kept["model"].to_list() == ["b"] and kept["latency_ms"].to_list() == [2000.0]


def test_unknown_field_is_named_with_a_suggestion() -> None:
    with pytest.raises(ExpressionError, match=r"modle \(did you mean model\?\)"):
        apply_filters(FRAME, where="modle = 'a'")


def test_unparsable_predicate_and_time_are_usage_errors() -> None:
    with pytest.raises(ExpressionError, match="not a valid SQL predicate"):
        apply_filters(FRAME, where="model = = 'a'")
    with pytest.raises(UsageError, match="--since"):
        parse_time("yesterday", "--since")
    assert parse_time("2025-12-26T10:00:00+02:00", "--since") == datetime(
        2025, 12, 26, 8, tzinfo=UTC)
