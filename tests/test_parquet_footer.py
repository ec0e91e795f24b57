"""Row groups from Parquet footers (``_compiled.row_group_rows``) and the slices cut on them.

The footer parser is C reading bytes from files nobody vouched for: it is checked against
pyarrow's own reading of footers written by polars, pyarrow and DuckDB, and fed truncated,
mutated and hostile footers, which must give None and never crash (.ci/run also runs
this file under AddressSanitizer and UBSan). The slices must end where row groups end,
and a file read in slices must give what it gives read whole.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genailog.ingest import parquet, scanner
from genailog.ingest.reader import read_logs

START = datetime(2026, 1, 1, tzinfo=UTC)


def _records(n: int, nested: bool = True) -> pl.DataFrame:
    frame = pl.DataFrame({
        "timestamp": [START + timedelta(seconds=i) for i in range(n)],
        "model": [f"m{i % 3}" for i in range(n)],
        "status": ["ok"] * n,
        "input_tokens": list(range(n)),
        "output_tokens": [i % 7 for i in range(n)],
        "latency_ms": [float(i) for i in range(n)],
        "tags": [[f"t{i % 2}"] for i in range(n)],
        "metadata": [{"k": str(i), "n": i} for i in range(n)],
    })
    return frame if nested else frame.drop("tags", "metadata")


def _footer(path: Path) -> bytes:
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    return data[-8 - length:-8]


def _truth(path: Path) -> tuple[int, ...]:
    meta = pq.read_metadata(path)
    return tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))


def _written(tmp_path: Path) -> list[Path]:
    """Files from three writers, with the fields their footers differ in: statistics or
    none, dictionaries, page indexes, key-value metadata, nested columns, no rows."""
    frame = _records(1_000)
    files = []
    for size in (1, 7, 100, 1_000, 5_000):
        path = tmp_path / f"polars-{size}.parquet"
        frame.head(250 if size == 1 else 1_000).write_parquet(path, row_group_size=size)
        files.append(path)
    path = tmp_path / "polars-empty.parquet"
    frame.clear().write_parquet(path)
    files.append(path)
    table = frame.to_arrow().replace_schema_metadata({"origin": "test", "x": "y" * 300})
    for i, options in enumerate([
        {"row_group_size": 128},
        {"row_group_size": 300, "write_statistics": False, "use_dictionary": False},
        {"row_group_size": 64, "write_page_index": True, "compression": "zstd"},
        {"row_group_size": 999, "data_page_size": 256, "version": "1.0"},
    ]):
        path = tmp_path / f"pyarrow-{i}.parquet"
        pq.write_table(table, path, **options)  # type: ignore[arg-type]
        files.append(path)
    duckdb = pytest.importorskip("duckdb")
    for size in (2_048, 122_880):
        path = tmp_path / f"duckdb-{size}.parquet"
        duckdb.connect().execute(
            f"COPY (SELECT range AS i, 'm' || (range % 5) AS model, [range, 1] AS xs "
            f"FROM range(300000)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {size})")
        files.append(path)
    return files


def test_row_groups_as_pyarrow_reads_them(compiled: Any, tmp_path: Path) -> None:
    for path in _written(tmp_path):
        assert compiled.row_group_rows(_footer(path)) == _truth(path), path.name
        assert parquet.row_groups(str(path)) == _truth(path), path.name


def test_a_truncated_footer_is_none(compiled: Any, tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    _records(40).write_parquet(path, row_group_size=9)
    footer = _footer(path)
    for cut in range(len(footer)):
        assert compiled.row_group_rows(footer[:cut]) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_footer_never_crashes(compiled: Any, data: st.DataObject) -> None:
    """Bytes flipped, inserted or dropped anywhere: None, or row counts that add up to
    the footer's own total (which the parser checks), never a crash or a read out of
    bounds (ASan)."""
    footer = bytearray(_FOOTER)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(footer) - 1))
        match data.draw(st.sampled_from(["flip", "insert", "drop"])):
            case "flip":
                footer[at] = data.draw(st.integers(0, 255))
            case "insert":
                footer[at:at] = data.draw(st.binary(min_size=1, max_size=12))
            case "drop":
                del footer[at:at + data.draw(st.integers(1, 12))]
    rows = compiled.row_group_rows(bytes(footer))
    assert rows is None or (isinstance(rows, tuple) and all(r >= 0 for r in rows))


def _polars_footer() -> bytes:
    import io

    buffer = io.BytesIO()
    _records(60).write_parquet(buffer, row_group_size=11)
    data = buffer.getvalue()
    return data[-8 - int.from_bytes(data[-8:-4], "little"):-8]


_FOOTER = _polars_footer()


@pytest.mark.parametrize("footer", [
    b"",
    b"\x00",  # an empty struct: no row groups field
    b"\x1c" * 100_000,  # structs nested 100,000 deep: refused at depth 64, no stack overflow
    b"\x19\xfc\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a list claiming 2^64 structs
    b"\x19\xfc\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # a varint of 12 bytes
    b"\x18\xff\xff\xff\xff\x0f",  # a binary longer than the footer
    b"\x1b\xff\xff\xff\xff\x0f\x88",  # a map claiming more entries than bytes
    b"\x1d",  # type 13: not a compact-protocol type
    b"\x36\x02\x19\x1c\x36\x04\x00\x00",  # 1 row claimed, a group of 2 rows: do not add up
    b"\x36\x04\x19\x2c\x36\x02\x00\x36\x04\x00\x00",  # 2 claimed, groups of 1 and 2
    b"\x36\x04\x19\x1c\x16\x04\x00\x00",  # a row group without num_rows
    b"\x49\x1c\x36\x04\x00\x00",  # row groups, but no num_rows in the file
])
def test_hostile_footers_are_none(compiled: Any, footer: bytes) -> None:
    assert compiled.row_group_rows(footer) is None


def test_a_hand_written_footer(compiled: Any) -> None:
    """num_rows 3 (field 3, i64 zigzag 6), row groups [1, 2] (field 4, a list of two
    structs), a bool and a long-form field id skipped on the way."""
    footer = (b"\x11"  # field 1: bool true, no payload
              b"\x26\x06"  # field 3 (delta 2): i64 3
              b"\x19\x2c"  # field 4: list of 2 structs
              b"\x36\x02\x00"  # a row group: field 3 = 1, stop
              b"\x11\x26\x04"  # a row group: field 1 bool true, field 3 = 2,
              b"\x06\x0c\x00\x00"  # field 6 in long form (i64 0), stop
              b"\x00")  # the file's stop
    assert compiled.row_group_rows(footer) == (1, 2)


def test_row_groups_of_what_is_not_parquet(tmp_path: Path) -> None:
    for name, content in [("empty", b""), ("short", b"PAR1PAR1"), ("json", b'{"a": 1}\n' * 9),
                          ("length", b"PAR1" + b"\x00" * 20 + b"\xff\xff\xff\x7fPAR1")]:
        path = tmp_path / name
        path.write_bytes(content)
        assert parquet.row_groups(str(path)) is None
    assert parquet.row_groups(str(tmp_path / "missing")) is None


def test_without_the_scanner_no_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    _records(20).write_parquet(path, row_group_size=5)
    with mock.patch.object(scanner, "SCANNER", None):
        assert parquet.row_groups(str(path)) is None


groups_strategy = st.lists(st.integers(0, 40), min_size=1, max_size=30)


@given(groups=groups_strategy, slice_rows=st.integers(1, 60))
def test_slices_end_where_row_groups_end(groups: list[int], slice_rows: int) -> None:
    """Each slice starts on a row-group boundary, is at least SLICE_ROWS rows long but
    for the last, and is the shortest such run of whole row groups."""
    total = sum(groups)
    starts = parquet._cut(total, groups, slice_rows)
    boundaries = {sum(groups[:i]) for i in range(len(groups) + 1)}
    assert starts[0] == 0 and set(starts) <= boundaries
    assert starts == sorted(set(starts))
    ends = [*starts[1:], total]
    for start, end in zip(starts[:-1], ends[:-1], strict=True):
        assert end - start >= slice_rows
        last_group_start = max(b for b in boundaries if b < end)
        assert last_group_start - start < slice_rows  # one group fewer would be too short


def test_slices_without_row_groups_every_slice_rows() -> None:
    assert parquet._cut(35, None, 10) == [0, 10, 20, 30]
    assert parquet._cut(35, (30, 6), 10) == [0, 10, 20, 30]  # 36: not this file's groups
    assert parquet._cut(0, None, 10) == [0]
    assert parquet._cut(35, (4, 4, 4, 23), 10) == [0, 12]
    assert parquet._cut(35, (35,), 10) == [0]  # one group: never cut through


def test_a_file_of_many_slices_is_cut_smaller() -> None:
    """Past ONE_QUERY_SLICES slices, each is read by a query of its own and collected
    whole: they are cut at OWN_QUERY_SLICE_ROWS instead, on row groups as well."""
    with mock.patch.object(parquet, "SLICE_ROWS", 10), \
            mock.patch.object(parquet, "OWN_QUERY_SLICE_ROWS", 4), \
            mock.patch.object(parquet, "ONE_QUERY_SLICES", 2):
        assert parquet._starts(20, None) == [0, 10]
        assert parquet._starts(21, None) == [0, 4, 8, 12, 16, 20]
        assert parquet._starts(21, (3,) * 7) == [0, 12]  # two slices of whole groups
        assert parquet._starts(33, (3,) * 11) == [0, 6, 12, 18, 24, 30]
        assert parquet._starts(30, (15, 15)) == [0, 15]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 120), group=st.integers(1, 50), slice_rows=st.integers(1, 70),
       own_queries=st.booleans(), bad=st.lists(st.integers(0, 119), max_size=5))
def test_a_file_read_in_slices_as_read_whole(tmp_path: Path, n: int, group: int,
                                             slice_rows: int, own_queries: bool,
                                             bad: list[int]) -> None:
    frame = _records(n, nested=False).with_columns(
        pl.when(pl.int_range(pl.len()).is_in(bad)).then(-1).otherwise(pl.col("input_tokens"))
        .alias("input_tokens"))
    path = tmp_path / f"f-{n}-{group}.parquet"
    frame.write_parquet(path, row_group_size=group)
    whole = read_logs([path], on_invalid="skip").frame.collect()
    cut: list[list[int]] = []
    starts = parquet._starts

    def spy(total: int, groups: tuple[int, ...] | None) -> list[int]:
        cut.append(starts(total, groups))
        return cut[-1]

    with mock.patch.object(parquet, "SLICE_ROWS", slice_rows), \
            mock.patch.object(parquet, "OWN_QUERY_SLICE_ROWS", slice_rows), \
            mock.patch.object(parquet, "ONE_QUERY_SLICES", 0 if own_queries else 10**9), \
            mock.patch.object(parquet, "_starts", spy):
        sliced = read_logs([path], on_invalid="skip").frame.collect()
    assert sliced.equals(whole)
    assert sliced.height == n - len({b for b in bad if b < n})
    groups = _truth(path)
    if cut and scanner.SCANNER is not None:
        assert set(cut[0]) <= {sum(groups[:i]) for i in range(len(groups) + 1)}


def test_a_duckdb_file_is_cut_on_its_row_groups(tmp_path: Path) -> None:
    """DuckDB's row groups (2,048 rows here) are not a divisor of SLICE_ROWS: the slices
    end on them."""
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "d.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(range) AS timestamp, "
        f"'m' || (range % 3) AS model, range AS input_tokens FROM range(10000)) "
        f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
    groups = parquet.row_groups(str(path))
    if scanner.SCANNER is not None:
        assert groups == _truth(path)
    with mock.patch.object(parquet, "SLICE_ROWS", 3000):
        starts = parquet._starts(10_000, groups)
        frame = read_logs([path]).frame.select("input_tokens").collect()
    assert frame["input_tokens"].to_list() == list(range(10_000))
    if groups is not None:
        assert set(starts) <= {sum(groups[:i]) for i in range(len(groups) + 1)}
        assert starts != list(range(0, 10_000, 3000))


def test_pyarrow_table_with_one_group_larger_than_a_slice(tmp_path: Path) -> None:
    path = tmp_path / "big-group.parquet"
    pq.write_table(pa.table({"timestamp": [START] * 5000, "model": ["m"] * 5000,
                             "input_tokens": list(range(5000))}), path, row_group_size=5000)
    with mock.patch.object(parquet, "SLICE_ROWS", 1000):
        assert parquet._starts(5000, parquet.row_groups(str(path))) in ([0], [0, 1000, 2000,
                                                                          3000, 4000])
        frame = read_logs([path]).frame.select("input_tokens").collect()
    assert frame["input_tokens"].to_list() == list(range(5000))
