"""Issue 13, findings 1-5 and the output/expression parts of 10: expressions that cannot
touch files or the network, outputs that never replace devices or symlinks, terminal- and
Markdown-safe text, schemas that never download, and write errors that blame the output."""

from __future__ import annotations

import http.server
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from conftest import base_record, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.analysis.filters import apply_filters
from genailog.cli.app import app
from genailog.errors import ExpressionError


def _cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    records = [base_record(model=m, latency_ms=100.0 * i, input_tokens=i, output_tokens=i)
               for i, m in enumerate(["gpt-4.1", "gpt-4o", "gpt-4.1", "o3"])]
    return write_jsonl(tmp_path / "calls.jsonl", records)


# --- finding 1: table functions and subqueries in --where / --fail-if ---------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _Recorder.requests.append(self.path)
        body = b"model\nleaked\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/secret.csv"
    finally:
        server.shutdown()
        server.server_close()


class _OpenDetector:
    """A FIFO whose writer end unblocks only when someone opens it for reading."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        with open(self.path, "wb") as handle:  # blocks until a reader opens the FIFO
            self.opened.set()
            handle.write(b"model\nleaked\n")

    def close(self) -> None:
        if not self.opened.is_set():  # release the writer thread
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self.opened.wait(5)
            os.close(fd)
            self.opened.clear()
        self._thread.join(5)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[_OpenDetector]:
    detector = _OpenDetector(tmp_path / "passwd")
    try:
        yield detector
    finally:
        detector.close()


def _attacks(source: str) -> list[str]:
    return [
        f"model IN (SELECT model FROM read_csv('{source}'))",
        f"model IN (SELECT * FROM read_csv('{source}'))",
        f"EXISTS (SELECT 1 FROM read_csv('{source}'))",
        f"(SELECT count(*) FROM read_csv('{source}')) > 0",
        f"read_csv('{source}') IS NULL",
        f"model = (SELECT model FROM read_parquet('{source}') LIMIT 1)",
    ]


def test_where_and_fail_if_read_no_file_and_make_no_request(
        logs: Path, http_url: str, fifo: _OpenDetector) -> None:
    for source in (http_url, str(fifo.path)):
        for text in _attacks(source):
            for option in ("--where", "--fail-if"):
                result = CliRunner().invoke(app, ["summarize", str(logs), option, text])
                assert result.exit_code == 2, (option, text, result.output)
                assert "leaked" not in result.output
    time.sleep(0.2)  # a request or an open in flight would land by now
    assert _Recorder.requests == [], _Recorder.requests
    assert not fifo.opened.is_set(), "the file named in the expression was opened"


# --- finding 10: a 3,000-term OR filter took 28 s ------------------------------------------

def _python_calls(text: str, frame: pl.LazyFrame) -> int:
    """Python function calls made to parse and compile ``text``: an operation count."""
    calls = 0

    def count(*_: object) -> None:
        nonlocal calls
        calls += 1

    sys.setprofile(count)
    try:
        apply_filters(frame, where=text)
    finally:
        sys.setprofile(None)
    return calls


def _best_collect(text: str, frame: pl.LazyFrame) -> float:
    filtered = apply_filters(frame, where=text)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        filtered.collect()
        best = min(best, time.perf_counter() - start)
    return best


def test_long_or_filters_scale_linearly() -> None:
    """2x the terms costs at most 2.5x: Python calls to parse and compile (a count, not a
    time), and polars' planning and evaluation (best of 3, with 20 ms of slack)."""
    frame = pl.LazyFrame({"model": [f"m{i % 700}" for i in range(2000)]})

    def ors(n: int) -> str:
        return " OR ".join(f"model = 'm{i}'" for i in range(n))

    assert _python_calls(ors(2000), frame) <= 2.5 * _python_calls(ors(1000), frame)
    _best_collect(ors(10), frame)  # warm up polars
    small, large = _best_collect(ors(500), frame), _best_collect(ors(1000), frame)
    assert large <= 2.5 * small + 0.02, (small, large)
    ands = " AND ".join(f"model <> 'm{i}'" for i in range(3000))
    assert apply_filters(frame, where=ands).collect().height == 0


# --- no input text crashes the parser (exit 70) ---------------------------------------------

_PIECES = ["model", "latency_ms", "flag", "'a'", "'%b_'", "1", "2.5", "-", "+", "*", "/",
           "%", "=", "<>", "<", ">=", "AND", "OR", "NOT", "IN", "LIKE", "~", "BETWEEN", "IS",
           "NULL", "TRUE", "(", ")", ",", "lower(", "coalesce(", "\"model\"", "1e400",
           "99999999999999999999", "'\x1b]0;x\x07'", ";", "@"]
_FRAME = pl.LazyFrame({"model": ["a", None, "b"], "latency_ms": [1.0, 2.0, None],
                       "flag": [True, None, False]})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12))
def test_any_text_is_a_filter_or_a_usage_error(pieces: list[str]) -> None:
    text = " ".join(pieces)
    try:
        kept = apply_filters(_FRAME, where=text).collect()
    except ExpressionError as exc:
        assert "\x1b" not in str(exc)
        return
    assert kept.height <= 3
