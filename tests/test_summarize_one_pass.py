"""summarize reads its records once: whether they were head-sampled is seen on the batches
of the aggregation's pass, and agrees with ``weighting.is_sampled`` on the whole frame."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from genailog.analysis import summarize as core
from genailog.analysis.summarize import SampledRecords, summarize
from genailog.analysis.weighting import is_sampled
from genailog.schema.columns import CANONICAL_DTYPES

_RATES = st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.999, 1.0, 1.5, float("nan")]),
                   st.floats(allow_nan=True, allow_infinity=True))


def _frame(rates: list[float | None]) -> pl.DataFrame:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return pl.DataFrame({
        "timestamp": [start + timedelta(minutes=i) for i in range(len(rates))],
        "model": ["gpt-4.1", "claude-sonnet-4"] * (len(rates) // 2) + ["gpt-4.1"] * (
            len(rates) % 2),
        "latency_ms": [100.0 + i for i in range(len(rates))],
        "session_id": [f"s{i % 3}" for i in range(len(rates))],
        "sample_rate": pl.Series(rates, dtype=pl.Float64),
    }).with_columns(pl.lit(None, dtype=dtype).alias(name)
                    for name, dtype in CANONICAL_DTYPES.items()
                    if name not in ("timestamp", "model", "latency_ms", "session_id",
                                    "sample_rate"))


@settings(max_examples=80, deadline=None)
@given(rates=st.lists(_RATES, max_size=40), size=st.integers(1, 7))
def test_batches_seen_in_the_pass_agree_with_is_sampled(rates: list[float | None],
                                                        size: int) -> None:
    frame = pl.DataFrame({"sample_rate": pl.Series(rates, dtype=pl.Float64)})
    watch = SampledRecords()
    for batch in frame.iter_slices(size):
        watch(batch)
    assert watch.found == is_sampled(frame.lazy())


#: What the schema allows: absent, or 0 < sample_rate <= 1.
_VALID_RATES = st.one_of(st.none(), st.just(1.0), st.floats(0.01, 1.0))


@settings(max_examples=25, deadline=None)
@given(rates=st.lists(_VALID_RATES, min_size=1, max_size=30))
def test_a_summary_is_weighted_exactly_when_a_record_was_sampled(
        rates: list[float | None]) -> None:
    frame = _frame(rates)
    result = summarize(frame.lazy(), by=["model"])
    assert (result.sampling is not None) == is_sampled(frame.lazy())
    assert result.partial is not None and result.partial.sampled == (result.sampling
                                                                      is not None)


def test_many_batches_and_a_frame_without_the_column(monkeypatch: Any) -> None:
    """Sampling in the last of several batches is seen; no column, no sampling."""
    monkeypatch.setattr(core, "BATCH_ROWS", 4)
    rates: list[float | None] = [None] * 13 + [0.5]
    assert summarize(_frame(rates).lazy(), by=["model"]).sampling is not None
    assert summarize(_frame([None] * 14).lazy(), by=["model"]).sampling is None
    assert summarize(_frame(rates).drop("sample_rate").lazy(), by=[]).sampling is None
