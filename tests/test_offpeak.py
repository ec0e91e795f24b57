"""The off-peak bits read from a table of the minutes of a week equal the rule's bits.

``off_peak_expr`` reads a schedule without a time zone from 10,080 precomputed minutes;
``off_peak_rule`` computes each record's bits from its timestamp. They must agree bit for
bit on any timestamp polars holds (nulls, negative epochs, year 1, year 9999), for the
bundled table and for random schedules (wrapping spans, whole days, weekdays).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from genailog.pricing import default_prices
from genailog.pricing.cost import OFF_PEAK, off_peak_expr, off_peak_rule
from genailog.pricing.table import ModelPrice, OffPeak, OffPeakWindow, PriceTable

US = 1_000_000
YEAR_1 = int(datetime(1, 1, 1, tzinfo=UTC).timestamp()) * US
YEAR_9999_END = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()) * US + US - 1
EDGES = [None, YEAR_1, YEAR_9999_END, 0, -1, 1, -60 * US, -60 * US - 1, -86_400 * US,
         4 * 86_400 * US - 1, 4 * 86_400 * US]

stamps = st.lists(st.one_of(st.none(), st.integers(YEAR_1, YEAR_9999_END),
                            st.integers(-30 * 86_400 * US, 30 * 86_400 * US)), max_size=60)
minute = st.integers(0, 1439)
windows = st.builds(
    OffPeakWindow,
    spans=st.lists(st.tuples(minute, minute), min_size=1, max_size=3).map(tuple),
    weekdays=st.none() | st.frozensets(st.integers(1, 7), min_size=1))


def _table(schedules: list[tuple[OffPeakWindow, ...]]) -> PriceTable:
    return PriceTable({f"m{i}": ModelPrice(1e-6, 2e-6, off_peak=OffPeak(windows, input=5e-7))
                       for i, windows in enumerate(schedules)}, source="test")


def _frame(values: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": pl.Series(values, dtype=pl.Int64)}).select(
        pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


def _both(table: PriceTable, frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """In ``with_columns``, as summarize uses them: a constant rule is broadcast."""
    by_table = frame.with_columns(off_peak_expr(table)).get_column(OFF_PEAK)
    by_rule = frame.with_columns(off_peak_rule(tuple(table.schedules))).get_column(OFF_PEAK)
    return by_table, by_rule


@settings(max_examples=80, deadline=None)
@given(values=stamps)
def test_the_bundled_schedule_gives_the_rules_bits(values: list[int | None]) -> None:
    by_table, by_rule = _both(default_prices(), _frame(EDGES + values))
    assert by_table.dtype == by_rule.dtype == pl.Int32 and by_table.name == OFF_PEAK
    assert by_table.to_list() == by_rule.to_list()


@settings(max_examples=80, deadline=None)
@given(schedules=st.lists(st.lists(windows, min_size=1, max_size=3).map(tuple), min_size=1,
                          max_size=3, unique=True),
       values=stamps)
def test_random_schedules_give_the_rules_bits(
        schedules: list[tuple[OffPeakWindow, ...]], values: list[int | None]) -> None:
    by_table, by_rule = _both(_table(schedules), _frame(EDGES + values))
    assert by_table.to_list() == by_rule.to_list()


def test_known_minutes_of_the_bundled_schedule() -> None:
    """DeepSeek's weekday windows 00:00-01:00, 04:00-06:00, 10:00-24:00 UTC and all weekend;
    a null timestamp is never off-peak."""
    frame = pl.DataFrame({"timestamp": [
        datetime(2026, 11, 30, 0, 30, tzinfo=UTC),   # Monday, in
        datetime(2026, 11, 30, 1, 0, tzinfo=UTC),    # Monday, out (end exclusive)
        datetime(2026, 11, 30, 9, 59, tzinfo=UTC),   # out
        datetime(2026, 11, 30, 10, 0, tzinfo=UTC),   # in
        datetime(2026, 11, 29, 7, 0, tzinfo=UTC),    # Sunday, in
        None]}).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))
    assert frame.with_columns(off_peak_expr(default_prices()))[OFF_PEAK].to_list() == [
        1, 0, 0, 1, 1, 0]


def test_a_whole_day_window_on_every_day_flags_a_null_timestamp_as_the_rule_does() -> None:
    table = _table([(OffPeakWindow(((0, 0),)),)])
    by_table, by_rule = _both(table, _frame([None, 0, YEAR_1]))
    assert by_table.to_list() == by_rule.to_list() == [1, 1, 1]


def test_a_zoned_schedule_keeps_the_rule() -> None:
    zoned = PriceTable({"m": ModelPrice(1e-6, 2e-6, off_peak=OffPeak(
        (OffPeakWindow(((0, 600),), frozenset({6, 7})),), "Asia/Shanghai", input=5e-7))},
        source="test")
    # Friday 2026-11-27 17:00 UTC is Saturday 01:00 in Shanghai: the zone's weekday counts
    frame = _frame([int(datetime(2026, 11, 27, 17, 0, tzinfo=UTC).timestamp()) * US, None])
    by_table, by_rule = _both(zoned, frame)
    assert by_table.to_list() == by_rule.to_list() == [0, 0]
    assert str(off_peak_expr(zoned)) == str(off_peak_rule(tuple(zoned.schedules)))
