"""The background writer: whole lines only, rotation with gzip, drop-or-block when full,
flush on exit, and a file that survives ``kill -9`` with every complete line valid."""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import genailog
from genailog.cli.app import app
from genailog.log import Writer


def _record(i: int, **extra: Any) -> dict[str, Any]:
    return {"timestamp": "2026-11-29T10:00:00Z", "model": "m", "n": i, **extra}


def _lines(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.iterdir()):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            out += [json.loads(line) for line in handle]
    return out


def test_rotation_gzips_old_files_and_loses_nothing(tmp_path: Path) -> None:
    with Writer(tmp_path / "calls.jsonl", rotate_bytes=4_000, flush_interval=0.001) as writer:
        for i in range(400):
            writer.put(_record(i, prompt="x" * 50))
            if i % 20 == 0:
                writer.flush()
    names = sorted(p.name for p in tmp_path.iterdir())
    gz = [n for n in names if n.endswith(".jsonl.gz")]
    assert len(gz) >= 5 and "calls.jsonl" in names
    assert not [n for n in names if n.endswith((".partial", ".jsonl")) and n != "calls.jsonl"]
    assert sorted(r["n"] for r in _lines(tmp_path)) == list(range(400))
    assert writer.stats.rotations == len(gz)
    validated = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert validated.exit_code == 0, validated.output
    assert genailog.summarize(str(tmp_path)).total["requests"] == 400


def test_rotation_by_age(tmp_path: Path) -> None:
    with Writer(tmp_path / "calls.jsonl", rotate_seconds=0.05, flush_interval=0.001,
                compress=False) as writer:
        for i in range(3):
            writer.put(_record(i))
            writer.flush()
            time.sleep(0.08)
    assert len(list(tmp_path.iterdir())) == 3
    assert sorted(r["n"] for r in _lines(tmp_path)) == [0, 1, 2]


class _Gate:
    """A transform that holds the writer's thread until released."""

    def __init__(self) -> None:
        self.open = threading.Event()

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        self.open.wait(10)
        return record


def test_full_queue_drops_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gate = _Gate()
    writer = Writer(tmp_path / "calls.jsonl", queue_size=10, on_full="drop", transform=gate)
    accepted = [writer.put(_record(i)) for i in range(100)]
    gate.open.set()
    writer.flush()
    assert writer.put(_record(100))  # room again
    with caplog.at_level(logging.WARNING, logger="genailog.log"):
        writer.close()
    written = _lines(tmp_path)
    dropped = accepted.count(False)
    assert 89 <= dropped <= 90 and writer.stats.dropped == dropped
    assert len(written) == accepted.count(True) + 1
    assert sum(r.get("genailog_dropped", 0) for r in written) == dropped  # logged in the file
    assert "dropped" in caplog.text


def test_full_queue_blocks_when_asked(tmp_path: Path) -> None:
    gate = _Gate()
    writer = Writer(tmp_path / "calls.jsonl", queue_size=5, on_full="block", transform=gate)
    done = threading.Event()

    def produce() -> None:
        for i in range(50):
            writer.put(_record(i))
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    assert not done.wait(0.2)  # the producer waits for room
    gate.open.set()
    thread.join(10)
    writer.close()
    assert writer.stats.dropped == 0
    assert [r["n"] for r in _lines(tmp_path)] == list(range(50))


def test_a_record_that_cannot_be_finished_is_counted_not_fatal(tmp_path: Path) -> None:
    def broken(payload: Any) -> dict[str, Any]:
        raise ValueError("bad")

    with Writer(tmp_path / "calls.jsonl") as writer:
        writer.put(_record(0), broken)
        writer.put(_record(1))
    assert [r["n"] for r in _lines(tmp_path)] == [1] and writer.stats.failed == 1


def test_queued_records_are_written_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    script = textwrap.dedent(f"""
        from genailog.log import Logger
        logger = Logger({str(path)!r}, flush_interval=60)
        for i in range(1000):
            logger.log({{"model": "m", "n": i}})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert [r["n"] for r in _lines(tmp_path)] == list(range(1000))


_LOGGING_FOREVER = """
import sys, time
from genailog.log import Logger
logger = Logger(sys.argv[1], flush_interval=0.002, rotate_bytes=300_000,
                queue_size=2_000, on_full="block")
i = 0
while True:
    logger.log({"model": "m", "n": i, "prompt": "lorem ipsum " * (i % 400),
                "session_id": f"s{i % 50}"})
    i += 1
    if i == 2000:
        print("ready", flush=True)
"""


def test_kill_9_leaves_only_whole_lines(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    process = subprocess.Popen([sys.executable, "-c", _LOGGING_FOREVER,
                                str(folder / "calls.jsonl")], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(0.5)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    # A .gz exists only once complete (it is written as .gz.partial, then renamed).
    files = [p for p in folder.iterdir() if p.suffix in (".jsonl", ".gz")]
    seen = 0
    for path in files:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = data.split(b"\n")
        complete, last = lines[:-1], lines[-1]
        for line in complete:
            record = json.loads(line)  # every complete line is valid JSON
            assert record["model"] == "m"
        seen += len(complete)
        # only the live file's last line may be torn: Linux stops a write of several
        # pages at a page boundary when SIGKILL arrives during it
        assert last == b"" or path.name == "calls.jsonl"
    assert seen > 1000, [(p.name, p.stat().st_size) for p in folder.iterdir()]
    validated = CliRunner().invoke(app, ["validate", *map(str, files), "--format", "json"])
    live = folder / "calls.jsonl"
    torn = live.exists() and live.stat().st_size > 0 and not live.read_bytes().endswith(b"\n")
    if not torn:
        assert validated.exit_code == 0, validated.output
        return
    # a torn last line is the one invalid record, named as such
    assert validated.exit_code == 1, validated.output
    report = json.loads(validated.stdout)
    assert report["invalid"] == 1, report
    assert [(Path(e["file"]).name, e["line"]) for e in report["errors"]] == [
        ("calls.jsonl", live.read_bytes().count(b"\n") + 1)], report
    assert report["errors"][0]["message"].startswith("truncated last line")


def test_a_writer_reopening_a_torn_file_starts_on_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b'{"model":"m","n":1}\n{"model":"m","n":')  # torn by a kill -9
    with Writer(path) as writer:
        writer.put({"timestamp": "2026-01-01T00:00:00Z", "model": "m", "n": 2})
    lines = path.read_bytes().split(b"\n")
    assert lines[:2] == [b'{"model":"m","n":1}', b'{"model":"m","n":']
    assert json.loads(lines[2])["n"] == 2 and lines[3:] == [b""]
    with Writer(path) as writer:  # a whole file gains no blank line
        writer.put({"timestamp": "2026-01-01T00:00:00Z", "model": "m", "n": 3})
    assert path.read_bytes().count(b"\n\n") == 0


def test_a_forked_child_logs_through_its_own_thread(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    script = textwrap.dedent(f"""
        import os
        from genailog.log import Logger
        logger = Logger({str(path)!r}, flush_interval=0.01)
        for i in range(10):
            logger.log({{"model": "m", "n": i}})
        logger.flush()
        pid = os.fork()
        base = 100 if pid == 0 else 200
        for i in range(10):
            logger.log({{"model": "m", "n": base + i}})
        logger.close()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    numbers = sorted(r["n"] for r in _lines(tmp_path))
    assert numbers == [*range(10), *range(100, 110), *range(200, 210)]
