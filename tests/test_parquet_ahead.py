"""Reading a Parquet file ahead (genailog/ingest/parquet.py, ``read_ahead``): the footer
and the row checks run on a thread while the command loads, and the read takes them.

What is read must never depend on it: the same frame, the same invalid rows, the same
errors; a file changed since is read again; what is not a local Parquet file is left
alone (a pipe is never opened)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.errors import InputError
from genailog.ingest import parquet, read_logs
from genailog.ingest.parquet import read_ahead

START = datetime(2026, 11, 1, tzinfo=UTC)
SPANS = Path(__file__).parent / "fixtures/real/phoenix/phoenix_spans_parquet/spans.parquet"


def _write(path: Path, rows: int, *, bad_every: int = 0, model: str = "gpt-4o") -> Path:
    """``rows`` records in row groups of 7, every ``bad_every``-th with a negative latency
    and every other with no model."""
    frame = pl.DataFrame({
        "timestamp": [START + timedelta(seconds=i) for i in range(rows)],
        "model": [None if bad_every and i % (2 * bad_every) == 1 else model
                  for i in range(rows)],
        "input_tokens": list(range(rows)),
        "latency_ms": [-1.0 if bad_every and i % bad_every == 0 else float(i)
                       for i in range(rows)],
    }, schema={"timestamp": pl.Datetime("us", "UTC"), "model": pl.String,
               "input_tokens": pl.Int64, "latency_ms": pl.Float64})  # fmt: skip
    frame.write_parquet(path, row_group_size=7)
    return path


@pytest.fixture
def threads_opening(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of the thread of each footer parse (``_open_scan``), in order."""
    seen: list[str] = []
    real = parquet._open_scan

    def noted(file: str) -> parquet.ParquetScan:
        seen.append(threading.current_thread().name)
        return real(file)

    monkeypatch.setattr(parquet, "_open_scan", noted)
    monkeypatch.setattr(parquet, "_AHEAD", {})
    yield seen


def _read(path: Path) -> tuple[pl.DataFrame, list[Any]]:
    logs = read_logs([path], on_invalid="skip")
    return logs.frame.collect(), [(r.file, r.line, r.problems) for r in logs.report.invalid]


def _wait(path: Path) -> None:
    parquet._AHEAD[str(path)].done.wait(30)


def test_a_file_read_ahead_reads_as_it_does_without(tmp_path: Path,
                                                    threads_opening: list[str]) -> None:
    path = _write(tmp_path / "logs.parquet", 40, bad_every=6)
    frame, invalid = _read(path)
    assert invalid and frame.height == 40 - len(invalid)
    assert threads_opening == ["MainThread"]
    threads_opening.clear()

    read_ahead([str(path)])
    ahead_frame, ahead_invalid = _read(path)
    assert threads_opening == ["genailog-read-ahead"]  # the read took the thread's work
    assert ahead_frame.equals(frame)
    assert ahead_invalid == invalid
    assert not parquet._AHEAD  # each is taken once

    threads_opening.clear()  # the next read is a read of its own
    again, again_invalid = _read(path)
    assert again.equals(frame) and again_invalid == invalid
    assert threads_opening == ["MainThread"]


def test_the_name_is_the_readers(tmp_path: Path, threads_opening: list[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``./logs.parquet`` is the reader's ``logs.parquet``: the invalid rows name the
    file as a read without the thread does."""
    _write(tmp_path / "logs.parquet", 20, bad_every=5)
    monkeypatch.chdir(tmp_path)
    read_ahead(["./logs.parquet"])
    invalid = read_logs(["./logs.parquet"], on_invalid="skip").report.invalid
    assert threads_opening == ["genailog-read-ahead"]
    assert invalid and {r.file for r in invalid} == {"logs.parquet"}


def test_a_file_changed_after_its_read_ahead_is_read_again(
        tmp_path: Path, threads_opening: list[str]) -> None:
    path = _write(tmp_path / "logs.parquet", 30, bad_every=4)
    read_ahead([str(path)])
    _wait(path)
    _write(path, 12, model="claude")  # another file under the same name, all valid
    frame, invalid = _read(path)
    assert invalid == []
    assert frame.height == 12 and frame["model"].unique().to_list() == ["claude"]
    assert threads_opening == ["genailog-read-ahead", "MainThread"]


@pytest.mark.parametrize("content", [b"PAR1 not really a parquet file" * 20,
                                     b'{"model": "m"}\n'])
def test_errors_are_the_reads_own(tmp_path: Path, threads_opening: list[str],
                                  content: bytes) -> None:
    """A file named .parquet that polars cannot read, or that is not Parquet at all:
    the read reports exactly what it reports without the thread."""
    path = tmp_path / "broken.parquet"
    path.write_bytes(content)

    def outcome() -> str:
        try:
            logs = read_logs([path], on_invalid="skip")
        except InputError as exc:
            return f"error: {exc}"
        return f"read {logs.report.records} records"

    alone = outcome()
    read_ahead([str(path)])
    if content.startswith(b"PAR1"):
        _wait(path)
        assert alone.startswith("error: cannot read")
    else:
        assert str(path) not in parquet._AHEAD  # not Parquet by its magic number
    assert outcome() == alone


def test_a_span_table_read_ahead_goes_to_its_adapter(threads_opening: list[str]) -> None:
    """A Parquet file that is not canonical (Phoenix's spans) has only its footer read
    ahead; the adapter then reads it as it does without."""
    alone = read_logs([SPANS], on_invalid="skip")
    read_ahead([str(SPANS)])
    ahead = read_logs([SPANS], on_invalid="skip")
    assert threads_opening == ["MainThread", "genailog-read-ahead"]
    assert ahead.report.records == alone.report.records > 0
    assert ahead.frame.collect().equals(alone.frame.collect())


def test_what_is_not_a_local_parquet_file_is_left_alone(tmp_path: Path,
                                                       threads_opening: list[str]) -> None:
    path = _write(tmp_path / "logs.parquet", 5)
    read_ahead([str(path)], input_format="jsonl")  # the user said it is something else
    read_ahead(["s3://bucket/logs.parquet"])
    read_ahead([str(tmp_path / "missing.parquet")])
    read_ahead([str(tmp_path)])  # a folder
    read_ahead([str(tmp_path / "logs.jsonl")])
    read_ahead([])
    assert parquet._AHEAD == {}
    assert threads_opening == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_named_parquet_is_never_opened(tmp_path: Path,
                                              threads_opening: list[str]) -> None:
    """Opening a pipe would block until a writer comes, and would take its first bytes
    from the read: ``read_ahead`` must return at once without touching it."""
    pipe = tmp_path / "stream.parquet"
    os.mkfifo(pipe)
    caller = threading.Thread(target=read_ahead, args=([str(pipe)],), daemon=True)
    caller.start()
    caller.join(10)
    assert not caller.is_alive()
    assert parquet._AHEAD == {}


def test_summarize_reads_ahead_and_answers_the_same(tmp_path: Path,
                                                    threads_opening: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "logs.parquet", 50, bad_every=7)
    args = ["summarize", str(path), "--by", "model", "--format", "json",
            "--on-invalid", "skip"]
    with_thread = CliRunner().invoke(app, args)
    assert with_thread.exit_code == 0, with_thread.output
    assert threads_opening == ["genailog-read-ahead"]
    monkeypatch.setattr(parquet, "read_ahead", lambda *a, **k: None)
    monkeypatch.setattr("genailog.api.read_ahead", lambda *a, **k: None)
    alone = CliRunner().invoke(app, args)
    assert alone.exit_code == 0, alone.output
    assert threads_opening == ["genailog-read-ahead", "MainThread"]
    assert json.loads(with_thread.stdout) == json.loads(alone.stdout)
    assert json.loads(alone.stdout)["skipped_records"] > 0


@pytest.mark.parametrize("how", ["program", "library"])
def test_a_command_refused_while_a_file_is_read_ahead_ends_cleanly(tmp_path: Path,
                                                                  how: str) -> None:
    """The option is refused while the thread may still be reading: the program exits 2
    with its one-line error, a library call raises UsageError; neither dies at exit."""
    import subprocess
    import sys

    path = _write(tmp_path / "logs.parquet", 2000)
    if how == "program":
        argv = [sys.executable, "-m", "genailog", "summarize", str(path), "--window", "7x"]
        expected = 2
    else:
        argv = [sys.executable, "-c", "import sys, genailog; "
                "genailog.summarize(sys.argv[1], window='7x')", str(path)]
        expected = 1
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == expected, done.stderr
    assert "7x" in done.stderr and "internal error" not in done.stderr
    if how == "library":
        assert "UsageError" in done.stderr
