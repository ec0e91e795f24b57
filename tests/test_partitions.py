"""Hive-style partitioned folders on disk: keys become columns, filters skip files unopened.

The pruning invariant: a read that skips files by the filters, then filters, gives the
same records as a read of everything, then filtered (the files a rule skips hold no record
it keeps), checked on random layouts with hypothesis. Which files were opened is counted
on Source.open.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genailog.ingest import read_logs
from genailog.ingest import sources as sources_module
from genailog.ingest.partitions import dtypes_of, span_of, values_of
from genailog.ingest.sources import Source
from genailog.query.filters import apply_filters
from genailog.query.prune import partition_prune

DAYS = ("2026-11-28", "2026-11-29", "2026-11-30")


def _record(day: str, hour: int, i: int) -> dict[str, object]:
    return {"timestamp": f"{day}T{hour:02d}:{i:02d}:00Z", "model": f"m{i % 2}",
            "input_tokens": 10 + i, "output_tokens": 5, "latency_ms": 100 + hour}


def write_layout(root: Path, cells: list[tuple[str, int]], per_file: int = 3,
                 fmt: str = "jsonl") -> dict[str, list[dict[str, object]]]:
    """One file per (day, hour) cell; returns each file's records, by path."""
    written: dict[str, list[dict[str, object]]] = {}
    for day, hour in cells:
        folder = root / f"date={day}" / f"hour={hour:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        records = [_record(day, hour, i) for i in range(per_file)]
        path = folder / f"part-0.{fmt}"
        if fmt == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
        else:
            frame = pl.DataFrame(records).with_columns(
                pl.col("timestamp").str.to_datetime(time_zone="UTC"))
            frame.write_parquet(path)
        written[str(path)] = records
    return written


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the sources opened during the test."""
    names: list[str] = []
    real = sources_module.Source.open

    def counting(self: Source, stdin: object = None) -> object:
        names.append(self.name)
        return real(self, stdin)  # type: ignore[arg-type]

    monkeypatch.setattr(sources_module.Source, "open", counting)
    return names


def test_partition_keys_become_typed_columns(tmp_path: Path) -> None:
    write_layout(tmp_path, [("2026-11-29", 7), ("2026-11-29", 13)])
    frame = read_logs(tmp_path).collect()
    assert frame.schema["date"] == pl.String and frame.schema["hour"] == pl.Int64
    # every record's partition columns name its own day and hour (written independently)
    stamps = frame.select(pl.col("timestamp").dt.strftime("%Y-%m-%d").alias("d"),
                          pl.col("timestamp").dt.hour().cast(pl.Int64).alias("h"))
    assert frame["date"].to_list() == stamps["d"].to_list()
    assert frame["hour"].to_list() == stamps["h"].to_list()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_since_until_open_only_the_selected_partitions(tmp_path: Path, opened: list[str],
                                                       fmt: str) -> None:
    cells = [(d, h) for d in DAYS for h in (0, 12, 23)]
    written = write_layout(tmp_path, cells, fmt=fmt)
    logs = read_logs(tmp_path, prune=partition_prune(since="2026-11-29T12:00:00Z",
                                                     until="2026-11-30"))
    expected = sorted(p for p in written if "date=2026-11-29/hour=12" in p
                      or "date=2026-11-29/hour=23" in p)
    assert sorted(opened) == expected
    assert logs.report.partitions["files_skipped"] == len(cells) - 2
    assert logs.report.partitions["pruned_by"] == ["--since", "--until"]
    assert any("7 of 9 file(s) skipped unopened" in n for n in logs.report.notes)


def test_where_on_partition_keys_prunes_and_other_terms_do_not(tmp_path: Path,
                                                               opened: list[str]) -> None:
    write_layout(tmp_path, [(d, h) for d in DAYS for h in (1, 13)])
    rule = partition_prune(where="hour = 13 AND model = 'm1' AND date <> '2026-11-28'")
    logs = read_logs(tmp_path, prune=rule)
    assert sorted(opened) == sorted(str(tmp_path / f"date={d}" / "hour=13" / "part-0.jsonl")
                                    for d in DAYS[1:])
    # an OR across a partition key and a record field cannot skip anything
    opened.clear()
    read_logs(tmp_path, prune=partition_prune(where="hour = 13 OR model = 'm1'"))
    assert len(opened) == 6
    # a term that does not compile on the keys (text against a number) skips nothing
    opened.clear()
    read_logs(tmp_path, prune=partition_prune(where="hour = 'x'"))
    assert len(opened) == 6
    assert logs.report.partitions["pruned_by"] == ["--where"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.sets(st.tuples(st.sampled_from(DAYS), st.integers(0, 23)), min_size=1,
                     max_size=6),
       start=st.integers(0, 24 * 4), length=st.integers(0, 24 * 2),
       hour=st.integers(0, 23), use_where=st.booleans())
def test_pruned_read_equals_full_read_filtered(tmp_path_factory: pytest.TempPathFactory,
                                               cells: set[tuple[str, int]], start: int,
                                               length: int, hour: int,
                                               use_where: bool) -> None:
    root = tmp_path_factory.mktemp("layout")
    write_layout(root, sorted(cells))
    base = datetime(2026, 11, 28, tzinfo=UTC)
    since, until = base + timedelta(hours=start), base + timedelta(hours=start + length)
    where = f"hour >= {hour} AND model = 'm0'" if use_where else None
    full = apply_filters(read_logs(root).frame, where=where, since=since, until=until)
    pruned = read_logs(root, prune=partition_prune(where, since, until)).frame
    kept = apply_filters(pruned, where=where, since=since, until=until)
    order = ["timestamp", "model"]
    assert (kept.select(order).collect().sort(order).to_dicts()
            == full.select(order).collect().sort(order).to_dicts())


def test_partition_values_stay_data(tmp_path: Path) -> None:
    hostile = "\x1b[31m'; DROP TABLE x; --/..\\$(id)"
    folder = tmp_path / f"app={quote(hostile, safe='')}" / "date=__HIVE_DEFAULT_PARTITION__"
    folder.mkdir(parents=True)
    (folder / "part.jsonl").write_text(json.dumps(_record("2026-11-29", 1, 0)) + "\n")
    frame = read_logs(tmp_path).collect()
    assert frame["app"].to_list() == [hostile]  # a canonical text column, filled as data
    assert frame["date"].to_list() == [None]


def test_a_record_keeps_its_own_value(tmp_path: Path) -> None:
    folder = tmp_path / "app=from-path"
    folder.mkdir()
    records = [{**_record("2026-11-29", 1, 0), "app": "own"}, _record("2026-11-29", 1, 1)]
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert read_logs(tmp_path).collect()["app"].to_list() == ["own", "from-path"]


def test_keys_above_the_named_folder_are_not_partitions(tmp_path: Path) -> None:
    inner = tmp_path / "team=a" / "logs"
    write_layout(inner, [("2026-11-29", 1)])
    frame = read_logs(inner).collect()
    assert "team" not in frame.columns and "date" in frame.columns


@given(st.lists(st.one_of(st.integers(-10**17, 10**17).map(str), st.text(max_size=8)),
                min_size=1, max_size=5))
def test_key_type_is_int_only_when_every_value_is_whole(values: list[str]) -> None:
    dtype = dtypes_of([{"k": v} for v in values])["k"]
    whole = all(v.strip() == v and v.lstrip("+-").isdigit() and v.lstrip("+-").isascii()
                and len(v.lstrip("+-")) <= 18 and v.count("-") + v.count("+") <= 1
                for v in values)
    assert (dtype == pl.Int64) == whole


def test_time_spans_of_partition_layouts() -> None:
    day = datetime(2026, 11, 29, tzinfo=UTC)
    assert span_of({"date": "2026-11-29"}) == (day, day + timedelta(days=1))
    assert span_of({"dt": "2026-11-29", "hour": "13"}) == (
        day + timedelta(hours=13), day + timedelta(hours=14))
    assert span_of({"year": "2026", "month": "11", "day": "29"}) == (
        day, day + timedelta(days=1))
    assert span_of({"year": "2026", "month": "12"}) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert span_of({"date": "2026-02-31"}) is None  # not a date: never skipped by time
    assert span_of({"region": "eu"}) is None


def test_values_of_glob_and_url_sources() -> None:
    assert values_of(Source("s3://b/logs/date=2026-11-29/hour=01/p.jsonl", "s3://b/logs/")
                     ) == {"date": "2026-11-29", "hour": "01"}
    assert values_of(Source("s3://date=x/logs/k=v/p.jsonl")) == {"k": "v"}  # not the bucket
    assert values_of(Source("logs/a=%2Fb/=c/1x=2/p.jsonl", "logs/")) == {"a": "/b"}


def test_records_outside_their_partition_are_reported(tmp_path: Path) -> None:
    write_layout(tmp_path, [("2026-11-28", 23), ("2026-11-29", 0)])
    late = tmp_path / "date=2026-11-29" / "hour=00" / "part-1.jsonl"
    late.write_text(json.dumps(_record("2026-11-28", 23, 59)) + "\n")  # landed an hour late
    logs = read_logs(tmp_path, prune=partition_prune(since="2026-11-29"))
    (note,) = [n for n in logs.report.notes if "outside their partition" in n]
    assert note.startswith("1 record(s) lie outside their partition's time span (e.g. in "
                           f"{late})")
    # without time pruning nothing was skipped by time, so nothing is said
    logs = read_logs(tmp_path, prune=partition_prune(where="hour = 0"))
    assert not [n for n in logs.report.notes if "outside their partition" in n]


@given(st.text(max_size=30).filter(lambda v: v != "__HIVE_DEFAULT_PARTITION__"))
def test_any_value_comes_back_as_the_same_text(value: str) -> None:
    folder = quote(value, safe="")
    assert values_of(Source(f"root/k={folder}/x=1/f.jsonl", "root/")) == {"k": value, "x": "1"}


@pytest.mark.parametrize("command", [
    ["summarize"], ["retrieval"], ["export-dataset", "--out", "{out}"],
    ["report", "--out", "{out}.html"],
])
def test_every_filtering_command_opens_only_the_selected_partitions(
        tmp_path: Path, opened: list[str], command: list[str]) -> None:
    """summarize pruned, but retrieval, export-dataset and report read every partition:
    the same answers, with every file opened."""
    from typer.testing import CliRunner

    from genailog.cli.app import app

    root = tmp_path / "logs"
    write_layout(root, [(d, h) for d in DAYS for h in (0, 12)])
    argv = [a.format(out=tmp_path / "set.jsonl") for a in command]
    result = CliRunner().invoke(app, [*argv, str(root), "--since", "2026-11-30",
                                      *(["--format", "json"] if argv[0] != "report" else [])])
    assert result.exit_code == 0, result.output
    assert sorted(set(opened)) == sorted(str(root / "date=2026-11-30" / f"hour={h:02d}" /
                                             "part-0.jsonl") for h in (0, 12))
