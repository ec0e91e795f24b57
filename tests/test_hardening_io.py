"""Issue 13, findings 1-5 and the output/expression parts of 10: expressions that cannot
touch files or the network, outputs that never replace devices or symlinks, terminal- and
Markdown-safe text, schemas that never download, and write errors that blame the output."""

from __future__ import annotations

import http.server
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import base_record, require_or_skip, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from genailog.cli.app import app
from genailog.errors import ExpressionError
from genailog.query.filters import apply_filters


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    records = [base_record(model=m, latency_ms=100.0 * i, input_tokens=i, output_tokens=i)
               for i, m in enumerate(["gpt-4.1", "gpt-4o", "gpt-4.1", "o3"])]
    return write_jsonl(tmp_path / "calls.jsonl", records)


# --- finding 1: table functions and subqueries in --where / --fail-if ---------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request and answers 404 (a 200 sends polars' object store into
    retries, so the old code would hang instead of failing)."""

    requests: list[str] = []

    def _record(self) -> None:
        _Recorder.requests.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _record  # noqa: N815 (http.server's names)

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
    """A FIFO whose writer end unblocks only when someone opens it for reading; the
    writer re-arms after each open, so a reader never hangs the test."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.opened = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                with open(self.path, "wb") as handle:  # blocks until a reader opens it
                    if self._stop:
                        return
                    self.opened.set()
                    handle.write(b"model\nleaked\n")
            except BrokenPipeError:  # the reader closed early; wait for the next one
                continue

    def close(self) -> None:
        self._stop = True
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # releases the writer
        self._thread.join(5)
        os.close(fd)


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
        f"EXISTS (SELECT 1 FROM read_csv('{source}'))",
        f"read_csv('{source}') IS NULL",
        f"model = (SELECT model FROM read_parquet('{source}') LIMIT 1)",
    ]


def test_where_and_fail_if_read_no_file_and_make_no_request(
        logs: Path, http_url: str, fifo: _OpenDetector) -> None:
    for source in (str(fifo.path), http_url):
        for text in _attacks(source):
            for option in ("--where", "--fail-if"):
                result = CliRunner().invoke(app, ["summarize", str(logs), option, text])
                assert not fifo.opened.is_set(), ("the file was opened", option, text)
                assert _Recorder.requests == [], (_Recorder.requests, option, text)
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


def _best_collects(texts: list[str], frame: pl.LazyFrame) -> list[float]:
    """The fastest of 7 runs of each filter, alternating, so a busy machine slows both."""
    filtered = [apply_filters(frame, where=text) for text in texts]
    best = [float("inf")] * len(texts)
    for _ in range(7):
        for i, lazy in enumerate(filtered):
            start = time.perf_counter()
            lazy.collect()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def test_long_or_filters_scale_linearly() -> None:
    """2x the terms costs at most 2.5x: Python calls to parse and compile (a count, not a
    time), and polars' planning and evaluation (best of 7, with 20 ms of slack)."""
    frame = pl.LazyFrame({"model": [f"m{i % 700}" for i in range(2000)]})

    def ors(n: int) -> str:
        return " OR ".join(f"model = 'm{i}'" for i in range(n))

    assert _python_calls(ors(2000), frame) <= 2.5 * _python_calls(ors(1000), frame)
    _, small, large = _best_collects([ors(10), ors(500), ors(1000)], frame)
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


# --- finding 2: --out --overwrite replaced devices, FIFOs and symlinks ----------------------


class _FifoReader:
    """Reads a FIFO to its end in a thread (what a consumer of ``--out fifo`` does)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.data = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as handle:
            self.data = handle.read()

    def finish(self) -> bytes:
        self._thread.join(10)
        if self._thread.is_alive():  # nobody wrote to it: release the reader
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
            self._thread.join(5)
        return self.data


def test_overwrite_writes_into_a_fifo_instead_of_replacing_it(logs: Path,
                                                              tmp_path: Path) -> None:
    reader = _FifoReader(tmp_path / "out.jsonl")
    result = _cli("convert", str(logs), "--out", str(reader.path), "--overwrite")
    data = reader.finish()
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(reader.path).st_mode), "the FIFO was replaced"
    assert data.count(b"\n") == 4 and b"gpt-4o" in data
    assert not list(tmp_path.glob(".out.jsonl.*")), "a temporary file was left behind"


def test_a_character_device_is_written_in_place(logs: Path) -> None:
    if not Path("/dev/full").exists():
        require_or_skip("/dev/full is needed to test writing to a character device")
    result = _cli("convert", str(logs), "--out", "/dev/full", "--overwrite")
    assert result.exit_code == 4, result.output
    assert "cannot write /dev/full: No space left on device" in result.stderr
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)
    null = _cli("convert", str(logs), "--out", os.devnull)  # nothing to lose: no --overwrite
    assert null.exit_code == 0, null.output
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_a_symlink_to_a_file_is_refused_and_left_alone(logs: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(target)
    result = _cli("convert", str(logs), "--out", str(link), "--overwrite")
    assert result.exit_code == 4, result.output
    assert "symbolic link" in result.stderr and "pass the target path" in result.stderr
    assert link.is_symlink() and target.read_text() == "keep me\n"
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "nowhere" / "x.jsonl")
    assert _cli("convert", str(logs), "--out", str(dangling)).exit_code == 4
    assert not (tmp_path / "nowhere").exists()


def test_a_symlink_to_a_fifo_is_followed(logs: Path, tmp_path: Path) -> None:
    reader = _FifoReader(tmp_path / "pipe")
    link = tmp_path / "stdout-like"
    link.symlink_to(reader.path)
    result = _cli("convert", str(logs), "--out", str(link))
    assert result.exit_code == 0, result.output
    assert reader.finish().count(b"\n") == 4 and link.is_symlink()


# --- finding 10: disk full on stdout; a write error blamed on the input -------------------

def _run_genailog(args: list[str], stdout: object, **kwargs: object
                  ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GENAILOG_NO_CACHE": "1"}
    done: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-m", "genailog", *args], stdout=stdout, stderr=subprocess.PIPE,
        text=True, env=env, timeout=120, check=False, **kwargs)
    return done


@pytest.mark.parametrize("fmt", ["json", "table"])  # markdown writes as json does
def test_disk_full_on_stdout_is_exit_4_naming_it(logs: Path, fmt: str) -> None:
    if not Path("/dev/full").exists():
        require_or_skip("/dev/full is needed to fill standard output")
    with open("/dev/full", "w") as full:
        done = _run_genailog(["summarize", str(logs), "--format", fmt], full)
    assert done.returncode == 4, done.stderr
    assert "cannot write to standard output: No space left on device" in done.stderr
    assert "bug" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def _small_files_only() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))


def test_a_write_error_during_export_names_the_output(tmp_path: Path) -> None:
    records = [base_record(model="gpt-4.1", prompt="p" * 200, response=str(i))
               for i in range(40)]
    source = write_jsonl(tmp_path / "calls.jsonl", records)  # 10 kB: readable, not writable
    out = tmp_path / "dataset.jsonl"
    done = _run_genailog(["export-dataset", str(source), "--out", str(out)],
                         subprocess.DEVNULL, preexec_fn=_small_files_only)
    assert done.returncode == 4, done.stderr
    assert f"cannot write {out}: File too large" in done.stderr, done.stderr
    assert str(source) not in done.stderr
    assert not out.exists() and not list(tmp_path.glob(".dataset.jsonl.*"))


# --- findings 3 and 4: escape sequences, emoji codes and HTML from log data ------------------

OSC52 = "\x1b]52;c;ZXZpbA==\x07"  # write "evil" to the clipboard
OSC0 = "\x1b]0;pwned\x07"  # set the window title
HOSTILE_MODELS = [f"evil{OSC52}", ":x: [bold]b[/bold]", "<img src=x onerror=alert(1)>",
                  "[click](http://e.vil) **b** |pipe", "rtl\u202egnp.exe"]


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Hostile model names and prompt versions in a file whose own name is hostile."""
    records = [base_record(model=m, prompt_version=f"v1{OSC0}") for m in HOSTILE_MODELS]
    path = write_jsonl(tmp_path / "calls:100:x\x1b[2J.jsonl", records)
    with path.open("a") as handle:
        handle.write("{broken\n")
    return path


def _assert_terminal_safe(text: str) -> None:
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in text, repr(text)
    assert "💯" not in text and "❌" not in text, text


def test_terminal_output_shows_data_without_obeying_it(hostile: Path) -> None:
    table = _cli("summarize", str(hostile), "--by", "model,prompt_version", "--on-invalid",
                 "skip")
    assert table.exit_code == 0, table.output
    _assert_terminal_safe(table.stdout + table.stderr)
    assert "evil\\x1b]52;c;ZXZpbA==\\x07" in table.stdout
    assert ":x: [bold]b[/bold]" in table.stdout and "rtl\\u202egnp.exe" in table.stdout
    assert "v1\\x1b]0;pwned\\x07" in table.stdout
    errors = _cli("validate", str(hostile))
    assert errors.exit_code == 1, errors.output
    _assert_terminal_safe(errors.stdout + errors.stderr)
    assert "calls:100:x\\x1b[2J.jsonl:6" in errors.stdout
    failed = _cli("summarize", str(hostile))  # an error line naming the file
    assert failed.exit_code == 3, failed.output
    _assert_terminal_safe(failed.stderr)
    assert "calls:100:x\\x1b[2J.jsonl:6" in failed.stderr


def test_markdown_output_escapes_html_links_and_emphasis(hostile: Path) -> None:
    done = _cli("summarize", str(hostile), "--by", "model", "--format", "markdown",
                "--on-invalid", "skip")
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)>" in text
    assert "[click](" not in text and "\\[click\\](http://e.vil) \\*\\*b\\*\\* \\|pipe" in text
    assert "\x1b" not in text and "\\\\x1b\\]52" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert {line.count(" | ") for line in rows} == {rows[0].count(" | ")}  # no cell broke out
    assert "| **TOTAL** |" in text


# --- finding 5: --schema with a remote, missing or recursive $ref -------------------------

def _schema_file(tmp_path: Path, schema: Mapping[str, Any]) -> Path:
    import json

    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    return path


def test_a_remote_schema_ref_is_never_downloaded(logs: Path, tmp_path: Path,
                                                http_url: str) -> None:
    schema = _schema_file(tmp_path, {"type": "object",
                                     "properties": {"model": {"$ref": http_url}}})
    done = _cli("validate", str(logs), "--schema", str(schema))
    assert done.exit_code == 2, done.output
    assert "never downloads" in done.stderr and http_url in done.stderr
    time.sleep(0.2)
    assert _Recorder.requests == []


@pytest.mark.parametrize(("schema", "message"), [
    ({"properties": {"model": {"$ref": "#/$defs/missing"}}}, "no such part in the schema"),
    ({"$ref": "#"}, "leads back to where it started"),
    ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
      "properties": {"model": {"$ref": "#/$defs/a"}}}, "leads back to where it started"),
])
def test_missing_or_endless_refs_are_usage_errors(logs: Path, tmp_path: Path,
                                                  schema: dict[str, object],
                                                  message: str) -> None:
    done = _cli("validate", str(logs), "--schema", str(_schema_file(tmp_path, schema)))
    assert done.exit_code == 2, done.output
    assert message in done.stderr and "bug" not in done.stderr


def test_local_refs_anchors_ids_and_recursive_data_still_work(logs: Path,
                                                              tmp_path: Path) -> None:
    schema = {
        "$id": "https://example.com/record.json",
        "$defs": {"name": {"$anchor": "Name", "type": "string"},
                  "tree": {"type": "object", "properties": {
                      "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}},
                  "id": {"$id": "id.json", "type": "string", "minLength": 1}},
        "properties": {"model": {"$ref": "#Name"}, "metadata": {"$ref": "#/$defs/tree"},
                       "request_id": {"$ref": "id.json"}},
        "allOf": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}],
    }
    done = _cli("validate", str(logs), "--schema", str(_schema_file(tmp_path, schema)))
    assert done.exit_code == 0, done.output
    bad = _schema_file(tmp_path, {**schema, "properties": {"model": {"$ref": "id.json",
                                                                     "minLength": 99}}})
    assert _cli("validate", str(logs), "--schema", str(bad)).exit_code == 1


def test_a_bad_where_is_refused_before_any_log_is_opened(tmp_path: Path) -> None:
    logs = _OpenDetector(tmp_path / "calls.jsonl")  # opening it to read would be seen
    try:
        commands = [["summarize"], ["drift"], ["diff-prompts", "--baseline", "a",
                                                 "--candidate", "b"],
                    ["export-dataset", "--out", str(tmp_path / "d.jsonl")]]
        for command, *options in commands:
            done = _cli(command, str(logs.path), *options, "--where", "model IN (SELECT 1)")
            assert done.exit_code == 2, (command, done.output)
            assert "subqueries are not allowed" in done.stderr
        assert not logs.opened.is_set()
    finally:
        logs.close()


def test_the_ref_check_refuses_no_schema_of_the_json_schema_test_suite() -> None:
    """The suite's 2020-12 schemas are valid: the only ones refused are those that name
    the suite's remote documents (refRemote, dynamicRef's and cross-draft's remote cases)."""
    import json

    from genailog.errors import UsageError
    from genailog.schema.refs import check_refs

    suite = Path(__file__).parent / "fixtures" / "json-schema-test-suite"
    files = sorted(p for p in suite.rglob("*.json") if "draft2020-12" in str(p))
    if not files:
        require_or_skip("the JSON Schema test suite is not in tests/fixtures")
    checked, refused = 0, []
    for path in files:
        groups = json.loads(path.read_text())
        for group in groups if isinstance(groups, list) else []:
            if not isinstance(group, dict) or "schema" not in group:
                continue
            checked += 1
            try:
                check_refs(group["schema"])
            except UsageError as exc:
                refused.append((path.name, str(exc)))
    assert checked > 400, checked
    assert refused and all(name in ("refRemote.json", "dynamicRef.json", "cross-draft.json") and
                           "outside the schema file" in message
                           for name, message in refused), refused


# --- the neutral helpers themselves ---------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_sanitised_text_holds_no_control_character_and_markdown_no_html(text: str) -> None:
    from genailog import textsafe

    unsafe = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n", "\t"}
    unsafe |= {"\u202e", "\u2066", "\u2028"}
    shown = textsafe.visible(text)
    assert not unsafe & set(shown), repr(shown)
    shown.encode("utf-8")  # no lone surrogate left to crash a UTF-8 terminal
    cell = textsafe.markdown(text)
    assert "<" not in cell and "\n" not in cell and "\r" not in cell
    assert "|" not in cell.replace("\\|", "")
    assert "\x1b" not in textsafe.for_terminal(text) and "<" not in textsafe.html(text)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    from genailog.outputs import atomic_writer

    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write("new, half written")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["out.jsonl"]
    with atomic_writer(target) as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["out.jsonl"]


_KILLED_WRITER = """
import sys, time
from genailog.outputs import atomic_writer
with atomic_writer(sys.argv[1], "w") as out:
    out.write("half of a dataset\\n")
    out.flush()
    print("writing", flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no kill -9 on this platform")
def test_a_temporary_left_by_kill_9_is_removed_by_the_next_write(logs: Path,
                                                                tmp_path: Path) -> None:
    """Issue 13, finding 9: kill -9 during an export left a hidden temporary file. A
    killed process cleans nothing, so the next write of the same output removes the
    temporaries of writers that no longer run, and leaves a live writer's alone."""
    out = tmp_path / "set.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    live = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout is not None and live.stdout.readline() == "writing\n"
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        left = sorted(p.name for p in tmp_path.glob(".set.jsonl.*.tmp"))
        assert len(left) == 2 and not out.exists()
        cli = _cli("export-dataset", str(logs), "--out", str(out))
        assert cli.exit_code == 0, cli.output
        assert out.read_text().count("\n") == 4
        assert sorted(p.name for p in tmp_path.glob(".set.jsonl.*.tmp")) == [
            name for name in left if f".{live.pid}." in name]
    finally:
        live.kill()
        live.wait()
