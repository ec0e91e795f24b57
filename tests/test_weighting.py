"""A sample_rate outside 0 < rate <= 1 reaching the weighting gives one clear line.

The CLI validates records first, so only a library call on a frame sees such rates; it must
get an :class:`InputError` naming the column and the rule, never a ValueError or
OverflowError from ``int(round(inf))``.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genailog.analysis.summarize import summarize
from genailog.analysis.weighting import bad_rate, check_rates, weighted
from genailog.errors import InputError
from genailog.ingest.frame import canonical_frame
from genailog.pricing import default_prices

BAD = [0.0, -0.0, -0.5, 1.5, math.nan, math.inf, -math.inf]


def _frame(rates: list[float | None]) -> pl.DataFrame:
    records = [{"timestamp": "2026-01-01T00:00:00Z", "model": "gpt-4o-mini", "session_id": f"s{i}",
                "sample_rate": rate, "input_tokens": 10, "output_tokens": 5}
               for i, rate in enumerate(rates)]
    return canonical_frame(records)[0]


@pytest.mark.parametrize("rate", BAD, ids=repr)
def test_summarize_of_sampled_logs_with_a_bad_rate_names_the_column_and_the_rule(
        rate: float) -> None:
    with pytest.raises(InputError) as raised:
        summarize(_frame([0.5, None, rate, 0.25]), by=["model"])
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"sample_rate {rate!r} in record 3 of the logs (1 record in all)")
    assert "0 < sample_rate <= 1" in message


@pytest.mark.parametrize("rate", BAD, ids=repr)
def test_weighted_refuses_a_bad_rate_even_when_no_other_record_is_sampled(rate: float) -> None:
    with pytest.raises(InputError, match=r"sample_rate .* \(2 records in all\)"):
        weighted(_frame([1.0, rate, rate]).lazy(), ["model"], default_prices())


@pytest.mark.parametrize("rate", BAD, ids=repr)
def test_summarize_refuses_a_bad_rate_when_no_record_is_sampled(rate: float) -> None:
    # NaN, inf and 1.5 are not "below 1": the bad rate alone must still be refused, not
    # summarized as an unsampled record
    with pytest.raises(InputError, match=r"^sample_rate .* in record 2 of the logs"):
        summarize(_frame([1.0, rate, None]), by=["model"])


def test_valid_rates_are_still_weighted() -> None:
    result = summarize(_frame([0.5, None, 1.0, 0.25]), by=["model"])
    assert result.sampling is not None
    assert result.total["requests"] == 2 + 1 + 1 + 4  # 1/0.5 + 1 + 1 + 1/0.25
    check_rates(_frame([None, 1.0, 1e-300]).lazy())  # no error


@given(st.lists(st.none() | st.floats(allow_nan=True, allow_infinity=True), max_size=30))
def test_bad_rate_is_the_schemas_rule(rates: list[float | None]) -> None:
    flagged = pl.DataFrame({"r": pl.Series(rates, dtype=pl.Float64)}).select(
        bad_rate(pl.col("r"))).to_series().to_list()
    assert flagged == [r is not None and not 0 < r <= 1 for r in rates]
