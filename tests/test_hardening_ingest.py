"""Ingest hardening (issue 13, findings 6-10 and the validation side of 16).

Each test keeps the issue's repro as its input: a line too long to hold, records that
``validate`` accepted and other commands crashed on, a cache that served stale or planted
entries, workers outliving a killed parent, and inputs reported as "no such file".
The rule under test: validity is a property of the record; every command agrees with
``validate`` (bundled schema or ``--schema``) and skip counts match
(``genailog/schema/limits.py`` lists the parse-level rejections).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import base_record
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.errors import InputError
from genailog.ingest import cache, parallel, read_logs
from genailog.ingest.sources import iter_chunks
from genailog.ingest.validate import validate
from genailog.schema import limits, load_record_schema
from genailog.schema.diagnose import diagnose

runner = CliRunner()
STAMP = "2025-12-26T10:00:12Z"
GOOD = json.dumps(base_record(input_tokens=10, output_tokens=5))


def _file(path: Path, *lines: str | bytes) -> Path:
    data = b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data, compresslevel=1))
    else:
        path.write_bytes(data)
    return path


def _verdicts(path: Path) -> dict[str, Any]:
    """What each way of reading a file says about it: validate with the bundled schema,
    validate with the same schema passed as --schema (every line through jsonschema),
    read_logs under skip, and summarize --format json through the CLI."""
    bundled = validate([path])
    custom = validate([path], schema=load_record_schema())
    logs = read_logs([path], on_invalid="skip")
    frame = logs.collect()
    cli = runner.invoke(app, ["summarize", str(path), "--on-invalid", "skip", "--format",
                              "json"])
    return {
        "validate": sorted(r.line for r in bundled.invalid_records),
        "validate --schema": sorted(r.line for r in custom.invalid_records),
        "read_logs": sorted(r.line for r in logs.report.invalid),
        "rows": frame.height,
        "summarize exit": cli.exit_code,
        "summarize skipped": (json.loads(cli.stdout)["skipped_records"]
                              if cli.exit_code == 0 else cli.output[-300:]),
        "message": bundled.invalid_records[0].message if bundled.invalid_records else "",
    }


# --------------------------------------------------------------- finding 7 (and 16)

_DEEP = "[" * 100_000 + "]" * 100_000

#: The issue's repros: records validate accepted that crashed other commands (exit 70),
#: or that validate itself crashed on; each is line 2 of a file whose line 1 is good.
REPROS = {
    "token count 2**70": f'{{"timestamp":"{STAMP}","model":"m","input_tokens":{2**70}}}',
    "token count 2**63 (fits uint64, not int64)":
        f'{{"timestamp":"{STAMP}","model":"m","output_tokens":{2**63}}}',
    "token count 1e20": f'{{"timestamp":"{STAMP}","model":"m","input_tokens":1e20}}',
    "lone surrogate": f'{{"timestamp":"{STAMP}","model":"m\\ud800"}}',
    "lone surrogate in metadata": f'{{"timestamp":"{STAMP}","model":"m",'
                                  '"metadata":{"k":"\\udfff"}}',
    "year 10000 once the offset applies": '{"timestamp":"9999-12-31T23:59:59-01:00",'
                                         '"model":"m"}',
    "year 0 once the offset applies": '{"timestamp":"0001-01-01T00:00:00+01:00","model":"m"}',
    "1e400": f'{{"timestamp":"{STAMP}","model":"m","latency_ms":1e400}}',
    "nested 100k deep": f'{{"timestamp":"{STAMP}","model":"m","metadata":{{"a":{_DEEP}}}}}',
    "nested 70 deep in a user field":
        f'{{"timestamp":"{STAMP}","model":"m","case":{"[" * 70 + "]" * 70}}}',
    "2**70 in a user field": f'{{"timestamp":"{STAMP}","model":"m","case_id":{2**70}}}',
    "2**70 in a nested user field":
        f'{{"timestamp":"{STAMP}","model":"m","case":{{"n":[{2**70}]}}}}',
    # finding 16, the validation side: more cached than input tokens billed negatively
    "cached above input": f'{{"timestamp":"{STAMP}","model":"gpt-4o","input_tokens":10,'
                          '"cached_input_tokens":500,"output_tokens":1}',
    "cached + cache writes above input": f'{{"timestamp":"{STAMP}","model":"m",'
                                         '"input_tokens":10,"cached_input_tokens":6,'
                                         '"cache_write_tokens":6}',
}


@pytest.mark.parametrize("name", sorted(REPROS))
def test_every_command_agrees_with_validate_on_the_issues_records(tmp_path: Path,
                                                                  name: str) -> None:
    path = _file(tmp_path / "r.jsonl", GOOD, REPROS[name], GOOD)
    seen = _verdicts(path)
    assert seen | {"message": ""} == {
        "validate": [2], "validate --schema": [2], "read_logs": [2], "rows": 2,
        "summarize exit": 0, "summarize skipped": 1, "message": ""}, seen


_EDGE = st.one_of(
    st.sampled_from([0, 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**70, 1e20, 1.5e308,
                     1e19, 430.0, None, "x", True]),
    st.integers(-(2**65), 2**65))
_EDGE_STAMPS = st.sampled_from([
    STAMP, "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00", "9999-12-31T22:59:59-01:00",
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "0001-01-01T00:59:59-01:00"])
_EDGE_RECORDS = st.fixed_dictionaries({"timestamp": _EDGE_STAMPS, "model": st.just("m")}, optional={
    "input_tokens": _EDGE, "cached_input_tokens": _EDGE, "cache_write_tokens": _EDGE,
    "latency_ms": _EDGE, "case_id": _EDGE, "metadata": st.dictionaries(
        st.sampled_from(["a", "b"]), _EDGE, max_size=2)})


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_EDGE_RECORDS, min_size=1, max_size=8))
@example(records=[{"timestamp": STAMP, "model": "m", "latency_ms": 2**63}])  # msgspec: a float
def test_the_fast_reader_and_jsonschema_agree_on_edge_values(
        tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """Validity is a property of the record: the bundled reader (compiled twin plus its
    checks) and ``--schema`` (jsonschema plus the same list) flag the same lines, and
    read_logs keeps the rest."""
    path = _file(tmp_path / "edge.jsonl", *(json.dumps(r) for r in records))
    bundled = [r.line for r in validate([path]).invalid_records]
    custom = [r.line for r in validate([path], schema=load_record_schema()).invalid_records]
    assert bundled == custom
    logs = read_logs([path], on_invalid="skip", require_calls=False)
    assert [r.line for r in logs.report.invalid] == bundled
    assert logs.collect().height == len(records) - len(bundled)


def test_a_clean_record_with_the_largest_values_is_kept(tmp_path: Path) -> None:
    """The limits reject only beyond them: 2**63 - 1 tokens, year 9999 in UTC, cached
    equal to input, 64 levels of nesting (in metadata and in a user field) and 1e308 are
    all valid, and the adapters' check agrees on the same record."""
    edge = base_record(input_tokens=2**63 - 1, cached_input_tokens=2**63 - 1,
                       output_tokens=0, latency_ms=1e308,
                       timestamp="9999-12-31T22:59:59-01:00",
                       metadata={"a": json.loads("[" * 62 + "]" * 62)},
                       case=json.loads("[" * 63 + "]" * 63))
    path = _file(tmp_path / "r.jsonl", GOOD, json.dumps(edge))
    seen = _verdicts(path)
    assert (seen["validate"], seen["validate --schema"], seen["rows"]) == ([], [], 2), seen
    assert limits.value_problem(edge) is None and limits.record_problems(edge) == []
    deeper = {**edge, "case": [edge["case"]]}
    assert "nested more than 64 deep" in str(limits.value_problem(deeper))


def test_parse_level_messages_name_the_rule() -> None:
    def message(line: str) -> str:
        _, problems = diagnose(line.encode("utf-8"))
        return "; ".join(p.message for p in problems)

    assert "beyond 64 bits" in message(REPROS["token count 2**70"])
    assert "lone surrogate" in message(REPROS["lone surrogate"])
    assert "too large for a double" in message(REPROS["1e400"])
    assert "nested more than 64 deep" in message(REPROS["nested 100k deep"])
    assert "outside the years 1-9999" in message(REPROS["year 10000 once the offset applies"])
    assert "exceed input_tokens (10)" in message(REPROS["cached above input"])
    assert "duplicate key \"model\"" in message(
        f'{{"timestamp":"{STAMP}","model":"a","model":"b"}}')


def test_duplicate_keys_are_rejected_by_the_exact_path_at_any_depth(tmp_path: Path) -> None:
    """Duplicate keys: the summary used the first value, validation the last. Every line
    that jsonschema judges (``--schema``, and each line the fast reader sets aside) now
    rejects them, at the top level and nested."""
    top = f'{{"timestamp":"{STAMP}","model":"a","model":"b"}}'
    nested = f'{{"timestamp":"{STAMP}","model":"a","metadata":{{"k":1,"k":2}}}}'
    path = _file(tmp_path / "dup.jsonl", GOOD, top, nested)
    custom = validate([path], schema=load_record_schema())
    assert [r.line for r in custom.invalid_records] == [2, 3]
    assert all("duplicate key" in r.message for r in custom.invalid_records)


def test_every_rule_is_documented_in_the_schema_reference() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text("utf-8")
    section = text.split("## Parse-level rejections", 1)[1]
    for rule, _ in limits.RULES:
        assert f"| {rule} |" in section


# --------------------------------------------------------------- finding 6


def test_a_gz_holding_a_line_over_64_mib_is_one_invalid_record(tmp_path: Path) -> None:
    """The issue's repro, scaled: a small .gz holding one huge line (here 65 MiB of a
    valid record's prompt) used to be held whole and accepted (2 GB: MemoryError). The
    default limit is 64 MiB; the line is reported, the others are read."""
    huge = json.dumps(base_record(prompt="x" * (65 * 1024 * 1024)))
    path = _file(tmp_path / "huge.jsonl.gz", GOOD, huge, GOOD)
    del huge
    result = validate([path])
    assert result.records == 3
    assert [r.line for r in result.invalid_records] == [2]
    assert "longer than the limit of 67108864 bytes" in result.invalid_records[0].message
    assert len(result.invalid_records[0].raw) < 400  # the line itself was not kept


@pytest.mark.parametrize("name", ["long.jsonl", "long.jsonl.gz"])
def test_the_line_limit_is_configurable_and_every_reader_applies_it(
        tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAILOG_MAX_LINE_BYTES", "4K")
    long = json.dumps(base_record(prompt="y" * 6000))
    path = _file(tmp_path / name, GOOD, long, GOOD, long[:5000], GOOD)
    seen = _verdicts(path)
    assert seen | {"summarize skipped": 2} == {
        "validate": [2, 4], "validate --schema": [2, 4], "read_logs": [2, 4], "rows": 3,
        "summarize exit": 0, "summarize skipped": 2,
        "message": f"line of {len(long)} bytes is longer than the limit of 4096 bytes; "
                   "split the record or raise GENAILOG_MAX_LINE_BYTES"}, seen
    assert seen["summarize skipped"] == 2
    out = tmp_path / "out" / "records.jsonl"
    cli = runner.invoke(app, ["export-dataset", str(path), "--out", str(out), "--on-invalid",
                              "skip", "--format", "json"])
    assert cli.exit_code == 0, cli.output
    counts = json.loads(cli.stdout)["counts"]
    assert (counts["invalid"], counts["written"]) == (2, 3)
    assert out.read_bytes().count(b"\n") == 3


def test_a_chunk_read_by_its_caller_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers that cut their own ranges (the export's workers) hand whole lines to the
    chunk reader, which applies the same limit."""
    from genailog.ingest.jsonl import ChunkReader
    from genailog.ingest.sources import Chunk

    monkeypatch.setenv("GENAILOG_MAX_LINE_BYTES", "2K")
    long = json.dumps(base_record(prompt="x" * 3000)).encode()
    data = b"\n".join([GOOD.encode(), long, GOOD.encode()]) + b"\n"
    result = ChunkReader("f.jsonl", build_frames=False).read(Chunk(data, 10, 3, True))
    assert (result.checked, [r.line for r in result.invalid]) == (3, [11])
    assert "longer than the limit of 2048 bytes" in result.invalid[0].message


def test_workers_bound_lines_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parallel reader cuts a plain file into ranges; a range holding a long line is
    read through in blocks, its line replaced, its numbering kept."""
    monkeypatch.setenv("GENAILOG_MAX_LINE_BYTES", "2K")
    monkeypatch.setenv("GENAILOG_WORKERS", "2")
    long = json.dumps(base_record(prompt="z" * 50_000))
    path = _file(tmp_path / "w.jsonl", *([GOOD] * 100 + [long] + [GOOD] * 100))
    outs = parallel.read_ranges(str(path), path.stat().st_size, 4096, None)
    assert outs is not None
    results = list(outs)
    assert sum(o.checked for o in results) == 201
    assert [r.line for o in results for r in o.invalid] == [101]


def test_a_long_line_is_read_through_without_being_held() -> None:
    """The chunker never holds more than about the limit plus a block, however long the
    line: 48 MiB without a newline, with a limit of 1 MiB and 1 MiB reads."""

    class Endless:
        def __init__(self) -> None:
            self.left, self.tail = 48, b'x"}\n' + GOOD.encode() + b"\n"

        def read(self, size: int) -> bytes:
            if self.left:
                self.left -= 1
                return b"x" * (1024 * 1024)
            tail, self.tail = self.tail, b""
            return tail

    chunks = list(iter_chunks(Endless(), 1024 * 1024, limit=1024 * 1024))
    assert max(map(len, chunks)) < 3 * 1024 * 1024
    joined = b"".join(chunks)
    assert joined.count(b"\n") == 2 and joined.endswith(GOOD.encode() + b"\n")
    assert limits.long_line_message(joined.split(b"\n")[0]) is not None
    assert b"%d:" % (48 * 1024 * 1024 + 3) in joined


# --------------------------------------------------------------- finding 8


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(root))
    monkeypatch.delenv("GENAILOG_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    return root


def _models(path: Path, **kwargs: Any) -> dict[str, int]:
    frame = read_logs([path], **kwargs).collect()
    return dict(frame.group_by("model").len().sort("model").iter_rows())


def _log(path: Path, models: list[str]) -> Path:
    return _file(path, *(json.dumps(base_record(model=m, prompt="p" * 200)) for m in models))


def test_an_edit_keeping_size_and_mtime_is_not_served_stale(tmp_path: Path,
                                                            cache_dir: Path) -> None:
    """The issue's repro: a file edited in the middle with its size and modification
    time put back showed the cached numbers (2,204 records under the wrong model)."""
    path = _log(tmp_path / "big.jsonl", ["gpt-a"] * 12_000)
    assert _models(path) == {"gpt-a": 12_000}  # cold: the entry is written
    before = path.stat()
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * 1024 * 1024  # the edit below spares the first and last MiB
    start = data.index(b'"model": "gpt-a"', len(data) // 2 - 350_000)  # first, last MiB kept
    for _ in range(2_204):
        data[start:start + 16] = b'"model": "gpt-b"'
        start = data.index(b'"model": "gpt-a"', start)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert _models(path) == {"gpt-a": 12_000 - 2_204, "gpt-b": 2_204}


def _entries(root: Path) -> list[Path]:
    """The cache entries under ``root`` (not the hash signatures, not temporaries)."""
    return [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "signatures"]


def _count_digests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = cache.content_digest

    def counting(path: str, chunk_bytes: int) -> str:
        calls.append(str(path))
        return real(path, chunk_bytes)

    monkeypatch.setattr(cache, "content_digest", counting)
    return calls


def test_a_warm_read_reuses_the_hash_until_the_file_is_touched(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm path must not hash the whole file again (issue 12's regression), yet an
    edit with size and mtime put back must still be seen (issue 13, finding 8)."""
    monkeypatch.setattr(cache, "RACY_NS", 0)  # the file below was written just now
    path = _log(tmp_path / "big.jsonl", ["gpt-a"] * 3_000)
    calls = _count_digests(monkeypatch)
    assert _models(path) == {"gpt-a": 3_000}
    assert calls == [str(path)]  # cold: hashed once
    assert _models(path) == {"gpt-a": 3_000}
    assert calls == [str(path)]  # warm: the signature matched, nothing hashed
    before = path.stat()
    data = path.read_bytes()
    middle = data.index(b'"model": "gpt-a"', len(data) // 2)
    path.write_bytes(data[:middle] + b'"model": "gpt-b"' + data[middle + 16:])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size,
                                                             before.st_mtime_ns)
    assert _models(path) == {"gpt-a": 2_999, "gpt-b": 1}
    assert len(calls) == 2  # the ctime moved: hashed again


def test_a_file_changed_just_before_it_was_hashed_is_hashed_again(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The racy case: a write in the same clock tick as the hash would keep the stat
    signature, so a signature younger than RACY_NS is not remembered."""
    path = _log(tmp_path / "big.jsonl", ["gpt-a"] * 500)
    calls = _count_digests(monkeypatch)
    assert _models(path) == _models(path) == {"gpt-a": 500}
    assert calls == [str(path)] * 2


def test_a_signature_record_for_another_path_is_not_trusted(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "RACY_NS", 0)
    victim = _log(tmp_path / "victim.jsonl", ["real"] * 400)
    donor = _log(tmp_path / "donor.jsonl", ["planted"] * 400)
    assert _models(donor) == {"planted": 400}
    [record] = (cache_dir / "signatures").iterdir()
    saved = json.loads(record.read_text())
    planted = cache._signature_file(cache_dir, os.path.abspath(victim))
    planted.write_text(json.dumps(dict(saved, signature=cache.stat_signature(victim.stat()))))
    assert _models(victim) == {"real": 400}


def _plant(cache_dir: Path, victim: Path, donor: Path) -> None:
    """Put the donor's entry under the victim's key, as another user of a shared cache
    folder could (the key is the hash of a file they can read)."""
    _models(donor)
    key = cache.cache_key(cache.Source(str(victim)))
    assert key is not None
    [entry] = _entries(cache_dir)
    meta = json.loads((entry / "meta.json").read_text())
    meta["key"] = key
    (entry / "meta.json").write_text(json.dumps(meta))
    entry.rename(cache_dir / key)


def test_a_planted_entry_in_a_world_writable_folder_is_not_trusted(
        tmp_path: Path, cache_dir: Path) -> None:
    """The issue's repro: a planted entry in a shared cache folder made a 40,000-record
    file read as 100 records."""
    victim = _log(tmp_path / "victim.jsonl", ["real"] * 4_000)
    donor = _log(tmp_path / "donor.jsonl", ["planted"] * 100)
    _plant(cache_dir, victim, donor)
    cache_dir.chmod(0o777)
    logs = read_logs([victim])
    assert dict(logs.collect().group_by("model").len().iter_rows()) == {"real": 4_000}
    assert any(f"cache folder {cache_dir} not used: it is writable by other users" in note
               for note in logs.report.notes)


def test_an_entry_owned_by_another_user_is_not_trusted(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = _log(tmp_path / "victim.jsonl", ["real"] * 4_000)
    donor = _log(tmp_path / "donor.jsonl", ["planted"] * 100)
    _plant(cache_dir, victim, donor)
    key = cache.cache_key(cache.Source(str(victim)))
    real_stat = Path.lstat

    def other_owner(self: Path) -> os.stat_result:
        info = real_stat(self)
        if self.name == "meta.json" and self.parent.name == key:
            values = list(info)
            values[4] = os.getuid() + 1  # st_uid
            return os.stat_result(values)
        return info

    monkeypatch.setattr(Path, "lstat", other_owner)
    assert _models(victim) == {"real": 4_000}


def test_a_truncated_or_corrupt_part_is_rebuilt_never_exit_70(tmp_path: Path,
                                                             cache_dir: Path) -> None:
    """The issue's repro: a truncated cache part made every later run exit 70 until the
    user deleted the cache."""
    path = _log(tmp_path / "big.jsonl", ["m1", "m2"] * 3_000)
    assert _models(path) == {"m1": 3_000, "m2": 3_000}
    [entry] = _entries(cache_dir)
    [part] = sorted(entry.glob("*.parquet"))[:1]
    size = part.stat().st_size
    with part.open("r+b") as handle:
        handle.truncate(size // 2)
    cli = runner.invoke(app, ["summarize", str(path), "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["total"]["requests"] == 6_000
    # rebuilt, with only the columns summarize reads (read_logs(columns=...))
    rebuilt = part.stat().st_size
    assert rebuilt != size // 2
    assert pl.read_parquet(part).height > 0
    data = bytearray(part.read_bytes())  # same size, one byte flipped
    data[rebuilt // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    assert _models(path) == {"m1": 3_000, "m2": 3_000}
    assert part.read_bytes() != bytes(data)


# --------------------------------------------------------------- finding 9


_PARENT = textwrap.dedent("""
    import sys, time
    from genailog.ingest import parallel

    if __name__ == "__main__":
        pool = parallel.pool(2)
        futures = [pool.submit(time.sleep, 120) for _ in range(2)]
        while len(pool._processes) < 2:
            time.sleep(0.05)
        time.sleep(1.0)  # let both workers run their initializer
        print(" ".join(map(str, pool._processes)), flush=True)
        time.sleep(120)
""")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_their_parent_is_killed(tmp_path: Path) -> None:
    """The issue's repro: kill -9 during export left the worker processes alive
    (170-285 MB each)."""
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              text=True, cwd=tmp_path)
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(map(_running, workers))
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if _running(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == []


def test_a_killed_writers_temporary_folder_is_removed_by_the_next(tmp_path: Path,
                                                                 cache_dir: Path) -> None:
    """kill -9 cannot be handled: the entry being written stays behind as a hidden
    folder. The next writer deletes those of processes that no longer run."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = cache_dir / f".{'0' * 32}.{dead.stdout.strip()}.tmpabc123"
    orphan.mkdir(mode=0o700)
    (orphan / "part-00000.parquet").write_bytes(b"x" * 1000)
    mine = cache_dir / f".{'1' * 32}.{os.getpid()}.tmpdef456"  # a live writer's
    mine.mkdir(mode=0o700)
    path = _log(tmp_path / "r.jsonl", ["m"] * 10)
    assert _models(path) == {"m": 10}
    assert not orphan.exists()
    assert mine.exists()
    shutil.rmtree(mine)


def test_a_failed_cache_write_leaves_no_temporary_folder(
        tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "write_part", full)
    path = _log(tmp_path / "r.jsonl", ["m"] * 10)
    assert _models(path) == {"m": 10}  # read without the cache
    assert _entries(cache_dir) == [] and not list(cache_dir.glob(".*"))


# --------------------------------------------------------------- finding 10


def test_a_symlink_loop_is_reported_as_a_loop(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").symlink_to(tmp_path / "b.jsonl")
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "a.jsonl")
    with pytest.raises(InputError, match="a loop of symbolic links"):
        validate([tmp_path / "a.jsonl"])
    cli = runner.invoke(app, ["validate", str(tmp_path / "a.jsonl")])
    assert cli.exit_code == 3
    assert "no such file" not in cli.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_named_pipe_is_read_as_a_stream(tmp_path: Path) -> None:
    """A FIFO (or bash's <(command)) was reported as "no such file"; it is read like
    standard input."""
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("w") as handle:
            handle.write(GOOD + "\n" + REPROS["1e400"] + "\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        result = validate([fifo])
    finally:  # if validate never opened the pipe, open it so the writer can finish
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        writer.join(timeout=10)
        os.close(reader)
    assert (result.records, [r.line for r in result.invalid_records]) == (2, [2])


def test_a_socket_is_named_for_what_it_is(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s.jsonl"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(InputError, match="it is a socket"):
            validate([path])
    finally:
        server.close()


@pytest.mark.parametrize(("name", "data", "what"), [
    ("empty.jsonl.gz", b"", "is named .gz but is not gzip data: it is empty"),
    ("plain.jsonl.gz", GOOD.encode() + b"\n", "is named .gz but is not gzip data: it does"),
    ("empty.jsonl.zst", b"", "is named .zst but is not zstd data: it is empty"),
])
def test_a_compressed_name_without_compressed_data_exits_3(tmp_path: Path, name: str,
                                                          data: bytes, what: str) -> None:
    """The issue's repro: an empty file named .gz read as an empty log."""
    path = tmp_path / name
    path.write_bytes(data)
    for command in (["validate", str(path)], ["summarize", str(path)]):
        cli = runner.invoke(app, command)
        assert cli.exit_code == 3, cli.output
        assert what in cli.output
