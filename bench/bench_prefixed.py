"""Benchmark reading Python-logging lines: the same records plain and behind a prefix.

Usage: python bench/bench_prefixed.py [--records N] [--runs R] [--data DIR]

Makes (once, in --data) N canonical records as plain JSONL (bench/make_data.py) and the
same records as a Python ``logging`` file: each record behind
``2026-11-29 13:40:27,075 INFO genai `` and, after every third record, another logger's
line (``INFO httpx HTTP Request: ...``). Then, alternating, each run in its own process:

- ``summarize --format json`` on the plain JSONL;
- the same on the prefixed file;
- with --line-by-line, the same on the prefixed file with the fast path turned off (the
  ``json`` reader), to show what the fast path saves.

All with ``GENAILOG_NO_CACHE=1`` (the prefixed path has no cache, so the plain one reads
without it too), median of R runs; prints seconds and the ratio prefixed/plain
(goal: <= 1.5), and checks that the three summaries' totals are equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = b"2026-11-29 13:40:27,075 INFO genai "
OTHER = b'2026-11-29 13:40:27,075 INFO httpx HTTP Request: POST http://127.0.0.1/v1/chat "200"\n'
SLOW = ("import sys; import genailog.ingest.prefixed as p; p.looks_simple = lambda h: False; "
        "from genailog.cli.app import main; sys.argv = ['genailog'] + sys.argv[1:]; main()")


def _make(records: int, data: Path) -> tuple[Path, Path]:
    plain, logged = data / f"plain-{records}.jsonl", data / f"logging-{records}.log"
    if not plain.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_data.py"), str(records),
                        str(plain)], check=True)
    if not logged.exists():
        with plain.open("rb") as src, logged.open("wb") as out:
            for number, line in enumerate(src):
                out.write(PREFIX + line)
                if number % 3 == 2:
                    out.write(OTHER)
    return plain, logged


def _run(args: list[str]) -> tuple[float, dict[str, object]]:
    env = dict(os.environ, GENAILOG_NO_CACHE="1")
    start = time.perf_counter()
    done = subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, json.loads(done.stdout)["total"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--line-by-line", action="store_true",
                        help="also time the line-by-line reader (about 0.35 ms a record)")
    opts = parser.parse_args()
    opts.data.mkdir(parents=True, exist_ok=True)
    plain, logged = _make(opts.records, opts.data)
    cli = [sys.executable, "-m", "genailog", "summarize", "--format", "json"]
    cases = {
        "plain JSONL": [*cli, str(plain)],
        "logging prefix": [*cli, str(logged)],
    }
    if opts.line_by_line:
        cases["logging prefix, line-by-line reader"] = [
            sys.executable, "-c", SLOW, "summarize", "--format", "json", str(logged)]
    times: dict[str, list[float]] = {name: [] for name in cases}
    totals: dict[str, object] = {}
    for _ in range(opts.runs):
        for name, args in cases.items():
            seconds, total = _run(args)
            times[name].append(seconds)
            totals[name] = total
    assert len({json.dumps(t, sort_keys=True) for t in totals.values()}) == 1, "totals differ"
    base = statistics.median(times["plain JSONL"])
    print(f"{opts.records:,} records; load average {os.getloadavg()[0]:.2f}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:40s} {median:7.2f} s (runs {', '.join(f'{v:.2f}' for v in values)})"
              f"  ratio {median / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
