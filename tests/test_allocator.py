"""The program sets polars' allocator to one arena per usable core before polars loads
(genailog/cli/app.py, ``_allocator_arenas``), and never overrides the user's own
setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genailog.cli.app import ALLOCATOR_CONF

#: Runs ``main`` as the program does and reports the allocator setting in force at the
#: moment polars is first imported (jemalloc reads it once, then).
_PROGRAM = """
import builtins, os, sys
seen = []
real = builtins.__import__
def spy(name, *args, **kwargs):
    if name == "polars" and not seen:
        seen.append(os.environ.get({conf!r}, "<unset>"))
    return real(name, *args, **kwargs)
builtins.__import__ = spy
sys.argv = ["genailog", "summarize", sys.argv[1], "--format", "json"]
from genailog.cli.app import main
try:
    main()
except SystemExit:
    pass
print("polars loaded with", seen[0] if seen else "<polars not imported>", file=sys.stderr)
"""


def _conf_at_polars_import(tmp_path: Path, env: dict[str, str]) -> str:
    logs = tmp_path / "calls.jsonl"
    logs.write_text('{"timestamp": "2026-01-01T00:00:00Z", "model": "gpt-4.1", '
                    '"latency_ms": 120.0}\n')
    done = subprocess.run([sys.executable, "-c", _PROGRAM.format(conf=ALLOCATOR_CONF),
                           str(logs)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert '"requests": 1' in done.stdout, done.stderr
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux's CPU affinity")
def test_polars_loads_with_one_arena_per_usable_core(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != ALLOCATOR_CONF}
    cores = len(os.sched_getaffinity(0))
    assert _conf_at_polars_import(tmp_path, env) == f"polars loaded with narenas:{cores}"


def test_the_users_setting_wins(tmp_path: Path) -> None:
    env = {**os.environ, ALLOCATOR_CONF: "narenas:3,dirty_decay_ms:500"}
    assert _conf_at_polars_import(tmp_path, env) == (
        "polars loaded with narenas:3,dirty_decay_ms:500")
