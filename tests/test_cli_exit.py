"""The ``genailog`` program ends without the interpreter's finalization (``os._exit``) once
its output is flushed and its ``atexit`` handlers have run: same output, same exit codes,
handlers still run, and a normal exit whenever a thread is still working. Code that calls
``main`` itself (a test's ``python -c``) gets ``SystemExit`` as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RECORD = ('{"timestamp": "2026-01-01T00:00:00Z", "model": "gpt-4.1", "latency_ms": 120.0, '
          '"input_tokens": 10, "output_tokens": 5}\n')

#: Like the console script pip writes: ``main`` imported under that name, in a file.
_PROGRAM = """
import atexit, sys, threading, time
from genailog.cli.app import main
marker = {marker!r}
if {handler}:
    atexit.register(lambda: open(marker, "a").write("atexit\\n"))
if {thread}:
    def late():
        time.sleep(0.3)
        open(marker, "a").write("thread\\n")
    threading.Thread(target=late).start()  # not a daemon: Python waits for it
if __name__ == "__main__":
    sys.exit(main())
"""

#: Code that goes on after main: it must see SystemExit, not the end of the process.
_CALLER = """
import sys
from genailog.cli.app import main
sys.argv = ["genailog", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    print("after main", done.code, file=sys.stderr)
"""


def _program(tmp_path: Path, *, handler: bool = False, thread: bool = False) -> Path:
    path = tmp_path / "program.py"
    path.write_text(_PROGRAM.format(marker=str(tmp_path / "marker"), handler=handler,
                                    thread=thread))
    return path


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path,
                          env={"GENAILOG_NO_CACHE": "1", "PATH": "/usr/bin:/bin"})


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs.jsonl"
    path.write_text(RECORD * 3)
    return path


@pytest.mark.parametrize(("extra", "status"), [
    ([], 0),
    (["--fail-if", "requests > 1"], 1),  # a gate failed
    (["--by"], 2),  # usage
    (["--no-such-option"], 2),
])
def test_the_program_and_a_caller_of_main_agree(tmp_path: Path, logs: Path,
                                                extra: list[str], status: int) -> None:
    args = ["summarize", str(logs), "--format", "json", *extra]
    program = _run([str(_program(tmp_path)), *args], tmp_path)
    caller = _run(["-c", _CALLER, *args], tmp_path)
    assert program.returncode == status, program.stderr
    assert caller.stderr.endswith(f"after main {status}\n"), caller.stderr
    assert program.stdout == caller.stdout
    assert program.stderr == caller.stderr.removesuffix(f"after main {status}\n").replace(
        "genailog", "program.py")
    if status in (0, 1):
        assert json.loads(program.stdout)["total"]["requests"] == 3


def test_an_unreadable_input_exits_3(tmp_path: Path) -> None:
    done = _run([str(_program(tmp_path)), "summarize", str(tmp_path / "missing.jsonl")],
                tmp_path)
    assert done.returncode == 3
    assert "no such file" in done.stderr


def test_atexit_handlers_run(tmp_path: Path, logs: Path) -> None:
    done = _run([str(_program(tmp_path, handler=True)), "summarize", str(logs), "--format",
                 "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "marker").read_text() == "atexit\n"


def test_a_running_thread_is_waited_for(tmp_path: Path, logs: Path) -> None:
    done = _run([str(_program(tmp_path, handler=True, thread=True)), "summarize", str(logs),
                 "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    # Python's own exit: the thread ends first, then the atexit handlers
    assert (tmp_path / "marker").read_text() == "thread\natexit\n"


def _piped(tmp_path: Path) -> subprocess.Popen[bytes]:
    """The program summarizing 300 models (JSON well past a pipe's buffer) into a pipe."""
    big = tmp_path / "big.jsonl"
    big.write_text("".join(RECORD.replace('"gpt-4.1"', f'"m{i}"') for i in range(300)))
    return subprocess.Popen([sys.executable, str(_program(tmp_path)), "summarize", str(big),
                             "--by", "model", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env={"GENAILOG_NO_CACHE": "1", "PATH": "/usr/bin:/bin"})


def test_output_through_a_pipe_is_whole(tmp_path: Path) -> None:
    """Flushed before the process ends, also when stdout is a pipe (block-buffered)."""
    with _piped(tmp_path) as proc:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert len(json.loads(out)["groups"]) == 300


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    with _piped(tmp_path) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()  # `| head -c 10`
        err = proc.stderr.read()
        proc.wait(timeout=120)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
