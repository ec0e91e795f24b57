"""summarize groups its batches on the price keys packed into one integer: the partial
frame (rows, their order, every value) must equal grouping on the two keys themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genailog.analysis import summarize as core
from genailog.pricing import default_prices
from genailog.pricing.cost import OFF_PEAK, TIER, price_keys
from genailog.schema.columns import CANONICAL_DTYPES

_MODELS = ["gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro", "not-a-priced-model"]
#: Prompt sizes around the default table's tier thresholds (100k, 200k, 272k tokens).
_TOKENS = [None, 10, 99_999, 100_001, 200_001, 272_001, 1_000_000]
_RECORD = st.tuples(st.integers(0, 3), st.sampled_from(_TOKENS), st.integers(0, 14 * 1440),
                    st.integers(1, 5_000), st.sampled_from(["ok", "error"]))


def _frame(records: list[tuple[int, int | None, int, int, str]]) -> pl.DataFrame:
    start = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: off-peak and weekend minutes
    return pl.DataFrame({
        "model": [_MODELS[m] for m, *_ in records],
        "input_tokens": pl.Series([t for _, t, *_ in records], dtype=pl.Int64),
        "timestamp": [start + timedelta(minutes=minute) for _, _, minute, *_ in records],
        # whole numbers: sums are exact whatever the order, so only grouping can differ
        "latency_ms": [float(ms) for *_, ms, _ in records],
        "output_tokens": [ms for *_, ms, _ in records],
        "status": [status for *_, status in records],
    }).with_columns(pl.lit(None, dtype=dtype).alias(name)
                    for name, dtype in CANONICAL_DTYPES.items()
                    if name not in ("model", "input_tokens", "timestamp", "latency_ms",
                                    "output_tokens", "status")).with_columns(
        pl.col(n).cast(d) for n, d in CANONICAL_DTYPES.items())


def _unpacked_reference(frame: pl.DataFrame, keys: list[str], quantiles: str,
                        batch: int) -> pl.DataFrame:
    """The partial frame grouped on ``_tier`` and ``_off_peak`` themselves, batch by batch
    in order: what stage computed before the keys were packed."""
    table = default_prices()
    finest = core.finest_keys(keys)
    parts = [part.with_columns(price_keys(table)).with_columns(core._record_columns(quantiles))
             .group_by(finest).agg(core.partial_exprs(None, quantiles))
             for part in frame.iter_slices(batch)]
    return core.with_rates(core.combine(parts, finest), table)


@settings(max_examples=30, deadline=None)
@given(records=st.lists(_RECORD, min_size=1, max_size=60),
       keys=st.sampled_from([[], ["model"], ["status"], ["status", "model"]]),
       quantiles=st.sampled_from(["exact", "sketch"]))
def test_packed_price_keys_give_the_same_partials(records: list[Any], keys: list[str],
                                                  quantiles: str) -> None:
    frame = _frame(records)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "BATCH_ROWS", 7)  # several batches
        staged = core.stage(frame.lazy(), keys, default_prices(), quantiles)
    expected = _unpacked_reference(frame, keys, quantiles, 7)
    assert staged.columns == expected.columns
    assert staged.equals(expected)


def test_the_keys_take_several_values() -> None:
    """The case above is not vacuous: records of every tier and both off-peak states."""
    records = [(m, t, minute, 100, "ok") for m in range(4) for t in _TOKENS
               for minute in (0, 120, 600, 5 * 1440 + 30)]
    staged = core.stage(_frame(records).lazy(), ["model"], default_prices(), "exact")
    assert staged[TIER].n_unique() == 4 and staged[OFF_PEAK].n_unique() == 2
    assert staged.equals(_unpacked_reference(_frame(records), ["model"], "exact",
                                             core.BATCH_ROWS))
