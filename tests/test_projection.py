"""A command that says which columns it reads gets only those, typed by the C scanner in
the pass that judges the lines (``read_logs(columns=...)``), and the same answer.

summarize names its columns (:func:`genailog.analysis.summarize.columns_needed`); its
result over a JSONL file read that way must equal its result over every column, for
every kind of option, with invalid records skipped the same way; the cache keeps only the
columns read and is rebuilt (wider) when a later command needs more.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import require_or_skip

import genailog
from genailog.analysis.summarize import columns_needed, summarize
from genailog.errors import InvalidRecordError
from genailog.ingest import cache, parallel, read_logs, reader, scanner

ROOT = Path(__file__).resolve().parents[1]

#: Options that change which columns summarize reads.
OPTIONS: list[dict[str, Any]] = [
    {},
    {"by": ["model"]},
    {"by": ["prompt_version", "user_id"], "top": 3},
    {"window": "1d", "by": ["provider"]},
    {"where": "latency_ms > 900 and status = 'ok'", "by": ["model"]},
    {"since": "2026-11-03", "until": "2026-11-12", "by": ["environment"]},
    {"quantiles": "sketch", "by": ["model"]},
    {"fail_if": ["latency_ms_p95 > 1"], "by": ["app"]},
    {"by": ["model"], "sample_unit": "user_id"},
]


@pytest.fixture(autouse=True)
def _scanner() -> None:
    if scanner.SCANNER is None:
        require_or_skip("genailog's C scanner is not built (or GENAILOG_NO_EXTENSION=1): "
                        "reads are never narrowed without it")


def _logs(tmp_path: Path, *, sampled: bool = True) -> Path:
    """The sample logs with a few invalid lines and user fields, and (``sampled``) every
    third record head-sampled at 0.5, so that summarize weights them."""
    lines = []
    for name in ("week1.jsonl", "week2.jsonl"):
        for number, line in enumerate((ROOT / "sample_logs" / name).read_text().splitlines()):
            record = json.loads(line)
            if sampled and number % 3 == 0:
                record["sample_rate"] = 0.5
            if number % 50 == 7:
                record["tenant"] = f"t{number % 4}"
            lines.append(json.dumps(record, ensure_ascii=False))
    lines[5] = '{"model":"no timestamp"}'
    lines[900] = lines[900].replace('"model":', '"model":1,"x":', 1)
    lines[1500] = "not json"
    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _answer(result: Any) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("partial", None)
    return data


def _same(a: Any, b: Any) -> bool:
    """Equal, floats to 12 significant digits: the weighted estimates of head-sampled
    records add floats in an order polars' threads decide, so their last bits vary from
    run to run even over the very same frame."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_summarize_over_only_its_columns_equals_summarize_over_all(
        tmp_path: Path, options: dict[str, Any]) -> None:
    path = _logs(tmp_path)
    narrowed = genailog.summarize(path, on_invalid="skip", **options)
    full = summarize(read_logs(path, on_invalid="skip"), **options)
    assert _same(_answer(narrowed), _answer(full))
    assert narrowed.skipped_records == full.skipped_records == 3


def test_columns_needed_cover_every_column_summarize_reads(tmp_path: Path) -> None:
    """A frame holding only the columns named gives the same summary as the whole frame:
    any column summarize reads but columns_needed leaves out fails here (a missing column
    is an error, and weighting's sample_rate would go unseen)."""
    frame = read_logs(_logs(tmp_path), on_invalid="skip").collect()
    for options in OPTIONS:
        needed = columns_needed(**{k: v for k, v in options.items() if k in (
            "by", "where", "sample_unit", "quantiles")})
        assert needed is not None
        assert _same(_answer(summarize(frame.select(sorted(needed)), **options)), _answer(
            summarize(frame, **options))), options
    assert columns_needed(safety=True) is None  # the safety view reads nested fields


def test_the_frame_holds_only_the_columns_asked_for(tmp_path: Path) -> None:
    path = _logs(tmp_path)
    logs = read_logs(path, on_invalid="skip", columns=["model", "latency_ms", "timestamp"])
    frame = logs.collect()
    assert frame.columns == ["latency_ms", "model", "timestamp"]
    full = read_logs(path, on_invalid="skip").collect()
    assert frame.equals(full.select(frame.columns))
    assert logs.report.to_dict() == read_logs(path, on_invalid="skip").report.to_dict()


def test_fields_that_are_not_scalar_are_read_in_full(tmp_path: Path) -> None:
    path = _logs(tmp_path)
    for columns in (["model", "metadata"], ["model", "tenant"]):
        frame = read_logs(path, on_invalid="skip", columns=columns).collect()
        assert set(columns) < set(frame.columns)  # every column, as without the hint
    assert reader.projection(["model", "tags"]) is None
    assert reader.projection(["timestamp", "model"]) == ("model", "timestamp")


def test_an_invalid_record_fails_the_read_the_same_way(tmp_path: Path) -> None:
    path = _logs(tmp_path)
    with pytest.raises(InvalidRecordError) as narrowed:
        genailog.summarize(path, by=["model"])
    with pytest.raises(InvalidRecordError) as full:
        read_logs(path)
    assert str(narrowed.value) == str(full.value)


def _spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str,
         note: Callable[[tuple[Any, ...], Any], Any] = lambda args, _: args[0]) -> list[Any]:
    """``owner.name`` wrapped for the test: each call's ``note(args, result)`` (by
    default its first argument) is appended to the list returned."""
    calls: list[Any] = []
    real = getattr(owner, name)

    def spy(*args: Any) -> Any:
        out = real(*args)
        calls.append(note(args, out))
        return out

    monkeypatch.setattr(owner, name, spy)
    return calls


def _meta(root: Path) -> dict[str, Any]:
    [entry] = [p for p in root.iterdir() if (p / "meta.json").exists()]
    return json.loads((entry / "meta.json").read_text())


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder, with every file big enough to be cached."""
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(root))
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    return root


def test_the_cache_holds_the_columns_read_and_widens_when_more_are_needed(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "RACY_NS", 0)  # remember the new file's hash at once
    path = _logs(tmp_path)
    full = read_logs(path, on_invalid="skip", columns=None)  # not cached: see below
    expected = full.collect()
    for entry in cached.iterdir():  # start empty
        cache._discard(entry)

    def frame(columns: list[str] | None) -> pl.DataFrame:
        return read_logs(path, on_invalid="skip", columns=columns).collect()

    assert frame(["model", "latency_ms"]).equals(expected.select("latency_ms", "model"))
    assert _meta(cached)["columns"] == ["latency_ms", "model"]
    parsed = _spy(monkeypatch, reader, "_parse_into_cache", lambda args, _: args[-1])
    assert frame(["model"]).select("model").equals(expected.select("model"))
    assert parsed == []  # narrower: read from the entry
    assert frame(["model", "ttft_ms"]).select("model", "ttft_ms").equals(
        expected.select("model", "ttft_ms"))
    assert parsed == [("latency_ms", "model", "ttft_ms")]  # wider: parsed again, widened
    assert _meta(cached)["columns"] == ["latency_ms", "model", "ttft_ms"]
    assert frame(None).equals(expected)  # every column: parsed again, in full
    assert _meta(cached)["columns"] is None
    assert frame(["model"]).equals(expected)  # a full entry serves any columns
    assert len(parsed) == 2
    invalid = [(r["line"], r["problems"]) for r in _meta(cached)["invalid"]]
    assert [line for line, _ in invalid] == [6, 901, 1501]


def test_a_planted_column_list_is_not_trusted(tmp_path: Path, cached: Path) -> None:
    path = _logs(tmp_path)
    read_logs(path, on_invalid="skip", columns=["model"]).collect()
    [entry] = [p for p in cached.iterdir() if (p / "meta.json").exists()]
    meta = json.loads((entry / "meta.json").read_text())
    meta["columns"] = "model"
    (entry / "meta.json").write_text(json.dumps(meta))
    frame = read_logs(path, on_invalid="skip", columns=["model"]).collect()
    assert frame.height == 2398 and _meta(cached)["columns"] == ["model"]


def _count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files hashed in a read of their own (not in the ranges' scan)."""
    return _spy(monkeypatch, cache, "content_digest")


def _entries(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if (p / "meta.json").exists()]


def test_threads_type_and_digest_their_ranges_alone(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On two threads, ranges of 256 KB: each range typed by the scanner from the file's
    mapped pages (a byte-order mark before the first line included) and digested in the
    same pass, so the file is never read again for its key, which equals the key of the
    file hashed on its own; the command streams the parts back: Arrow IPC for the ranges
    typed in one pass, Parquet for the others (read in full, digested as read)."""
    path = _logs(tmp_path, sampled=False)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    typed = _spy(monkeypatch, parallel, "_typed_range", lambda _, out: out is not None)
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    hashed = _count_hashes(monkeypatch)
    needed = columns_needed(by=["model"])
    cold = read_logs(path, on_invalid="skip", columns=needed, chunk_bytes=256 << 10)
    assert len(typed) > 8 and typed.count(False) == 3  # the three ranges with bad lines
    assert hashed == []  # no read of the file for its key
    [entry] = _entries(cached)
    assert entry.name == cache.cache_key(cache.Source(str(path)), chunk_bytes=256 << 10)
    assert hashed == [str(path)]  # (that key: the file hashed on its own, just now)
    assert _meta(cached)["columns"] == sorted(needed)
    assert {p.suffix for p in entry.iterdir()} == {".arrow", ".parquet", ".json"}
    warm = read_logs(path, on_invalid="skip", columns=needed, chunk_bytes=256 << 10)
    monkeypatch.setenv("GENAILOG_NO_CACHE", "1")
    monkeypatch.setenv("GENAILOG_WORKERS", "1")
    alone = read_logs(path, on_invalid="skip")
    expected = alone.collect().select(sorted(needed))
    assert cold.collect().equals(expected) and warm.collect().equals(expected)
    assert cold.report.to_dict() == alone.report.to_dict()
    assert _answer(summarize(cold, by=["model"])) == _answer(summarize(alone, by=["model"]))


def test_worker_processes_digest_the_ranges_they_read_too(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that reads every column has its ranges read by worker processes, from
    copies: each digests the bytes it read, and the key is the one the file has alone."""
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    hashed = _count_hashes(monkeypatch)
    path = _logs(tmp_path, sampled=False)
    logs = read_logs(path, on_invalid="skip", chunk_bytes=256 << 10)
    assert hashed == [] and logs.collect().height == 2398
    assert [entry.name for entry in _entries(cached)] == [
        cache.cache_key(cache.Source(str(path)), chunk_bytes=256 << 10)]


def test_a_file_that_may_be_cached_is_hashed_meanwhile_and_its_entry_found(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once an entry was made for a path and size, a later read of that file whose hash
    is not remembered (copied back, touched: a new stat signature) hashes it on a thread
    of its own while it parses, and keeps the entry the hash finds; a file of another
    size at that path cannot be that entry's, and is digested in its ranges again."""
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    path = _logs(tmp_path, sampled=False)
    needed = columns_needed(by=["model"])
    first = read_logs(path, on_invalid="skip", columns=needed, chunk_bytes=256 << 10)
    assert cache.may_hold(cached, cache.Source(str(path)))
    hashed = _count_hashes(monkeypatch)
    path.write_bytes(path.read_bytes())  # the same content, another ctime
    again = read_logs(path, on_invalid="skip", columns=needed, chunk_bytes=256 << 10)
    assert hashed == [str(path)] and len(_entries(cached)) == 1
    assert again.collect().equals(first.collect())
    with path.open("ab") as handle:
        handle.write(b'{"timestamp":"2026-11-02T00:00:00Z","model":"m"}\n')
    assert not cache.may_hold(cached, cache.Source(str(path)))
    grown = read_logs(path, on_invalid="skip", columns=needed, chunk_bytes=256 << 10)
    assert hashed == [str(path)] and len(_entries(cached)) == 2
    assert grown.collect().height == first.collect().height + 1


def test_without_the_scanner_the_file_is_hashed_meanwhile(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the scanner no range brings a digest back (and the hash is XXH3 of the
    whole file): the file is hashed on a thread of its own while the workers parse it,
    as before, not after the parse."""
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    monkeypatch.setattr(scanner, "SCANNER", None)
    started = _spy(monkeypatch, cache, "KeyMeanwhile", lambda args, _: args[0].name)
    path = _logs(tmp_path, sampled=False)
    logs = read_logs(path, on_invalid="skip", chunk_bytes=256 << 10)
    assert started == [str(path)] and logs.collect().height == 2398
    assert [entry.name for entry in _entries(cached)] == [
        cache.cache_key(cache.Source(str(path)), chunk_bytes=256 << 10)]
    assert cache.hash_name(256 << 10) == cache.HASH_NAME == "xxh3_128"


def test_a_file_read_on_one_core_is_looked_up_before_it_is_parsed(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On one core (or a compressed file) the file is hashed before its parse; when an
    entry holds it already (its hash not remembered: written just now), the entry is
    read and the file not parsed a second time."""
    import gzip

    monkeypatch.setenv("GENAILOG_WORKERS", "1")
    plain = _logs(tmp_path, sampled=False)
    packed = tmp_path / "logs.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
    parsed = _spy(monkeypatch, reader, "_chunks", lambda args, _: args[0].name)
    for path in (plain, packed):
        first = read_logs(path, on_invalid="skip", columns=["model"]).collect()
        again = read_logs(path, on_invalid="skip", columns=["model"])
        assert again.collect().equals(first)
    assert parsed == [str(plain), str(packed)]  # each parsed once, by its first read
    assert len(_entries(cached)) == 2


def test_a_range_read_without_its_digest_is_hashed_after_the_parse(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A range longer than a line may be (here: one over-long line) is read with the
    line replaced by its stand-in, so its bytes as read are not the file's: the file is
    then hashed once the parse is done, under the same key."""
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    monkeypatch.setenv("GENAILOG_MAX_LINE_BYTES", "200K")
    path = _logs(tmp_path, sampled=False)
    data = path.read_bytes()
    long_line = b'{"timestamp":"2026-11-02T00:00:00Z","model":"m","prompt":"' + (
        b"x" * 300_000) + b'"}\n'
    path.write_bytes(data[:len(data) // 2].rsplit(b"\n", 1)[0] + b"\n" + long_line
                     + data[len(data) // 2:].split(b"\n", 1)[1])
    hashed = _count_hashes(monkeypatch)
    logs = read_logs(path, on_invalid="skip", columns=["model"], chunk_bytes=256 << 10)
    assert hashed == [str(path)]
    assert [entry.name for entry in _entries(cached)] == [
        cache.cache_key(cache.Source(str(path)), chunk_bytes=256 << 10)]
    assert logs.report.skipped == 4  # the three bad lines, and the long one


def test_a_file_that_changes_while_it_is_read_is_not_cached(
        tmp_path: Path, cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranges' digests are of what was parsed; a file written to meanwhile gets no
    entry (its key would not be its content's), and is read again without the cache."""
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    path = _logs(tmp_path, sampled=False)
    real = parallel.read_ranges

    def appending(*args: Any, **kwargs: Any) -> Any:
        spread = real(*args, **kwargs)
        with path.open("ab") as handle:
            handle.write(b"\n")
        return spread

    monkeypatch.setattr(parallel, "read_ranges", appending)
    logs = read_logs(path, on_invalid="skip", columns=["model"], chunk_bytes=256 << 10)
    assert _entries(cached) == []
    assert logs.collect().height == 2398


def test_a_worker_process_that_dies_is_one_clear_error(tmp_path: Path) -> None:
    """Threads need none of the process machinery, which now loads only when something
    goes wrong; a worker process that dies is still reported by name."""
    import os

    from genailog.errors import InputError

    with pytest.raises(InputError, match="a worker reading logs.jsonl died"):
        list(parallel.ordered(parallel.pool(1), "logs.jsonl", [(os._exit, (3,))], 1))
    with pytest.raises(ZeroDivisionError):  # any other error passes through unchanged
        from concurrent.futures import ThreadPoolExecutor

        list(parallel.ordered(ThreadPoolExecutor(1), "logs.jsonl", [(divmod, (1, 0))], 1))
