"""The CLI collects no garbage during start-up (its imports) and collects as usual while a
command works: ``main`` turns the collector off, the command's wrapper turns it back on."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

_PROBE = """
import atexit, gc, sys
from genailog.cli import app
seen = {}
original = app._end_start_up
def probe(reads_logs):
    seen["off_during_start_up"] = not gc.isenabled()
    original(reads_logs)
    seen["on_for_the_command"] = gc.isenabled()
    seen["polars_imported"] = "polars" in sys.modules
app._end_start_up = probe
atexit.register(lambda: print(repr({**seen, "on_at_exit": gc.isenabled()})))
sys.argv = ["genailog", *sys.argv[1:]]
app.main()
"""


def test_collector_off_during_start_up_and_on_for_the_work(tmp_path: Path) -> None:
    logs = tmp_path / "logs.jsonl"
    logs.write_text('{"timestamp": "2026-01-01T00:00:00Z", "model": "gpt-4.1", '
                    '"latency_ms": 120.0, "input_tokens": 10, "output_tokens": 5}\n')
    done = subprocess.run([sys.executable, "-c", _PROBE, "summarize", str(logs), "--format",
                           "json"], capture_output=True, text=True, timeout=120,
                          env={"GENAILOG_NO_CACHE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    seen = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert seen == {"off_during_start_up": True, "on_for_the_command": True,
                    "polars_imported": True, "on_at_exit": True}
