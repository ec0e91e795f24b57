"""Benchmark summarize's fixed cost and its aggregation: two source trees, alternating.

Usage: python bench/bench_fixed_cost.py --tree before=/tmp/old --tree after=. --runs 7
           [--file bench/data/summarize-1000000.parquet] [--by model]
           [--command 'validate sample_logs --format json']  (another command, CLI only)

Each run is a fresh process per tree, trees alternating so that the machine's load falls
on both alike (``PYTHONPATH`` picks the tree; make the old one with ``git archive``):

* ``cli``: ``genailog summarize FILE --by BY --format json``, end to end: wall time and CPU
  time (user + sys of the child), and the SHA-256 of its stdout, which
  must be the same for every tree;
* ``aggregation``: in one process, the file read with ``read_logs`` once and a first
  summary of 1,000 records made (imports and first-call costs), then
  ``genailog.analysis.summarize.summarize`` over the Logs timed alone (CPU time of the
  process, so polars' threads count; wall time beside it).

Prints the median and the fastest of each, and the load average before and after. Issue
14 asks that no speed regresses; issue 12 that the bench figures are re-measured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_AGGREGATE = """
import json, sys, time
from genailog.ingest import read_logs
from genailog.analysis.summarize import summarize
logs = read_logs([sys.argv[1]])
summarize(logs.frame.head(1000), by=sys.argv[2].split(","))  # imports, first-call costs
wall, cpu = time.perf_counter(), time.process_time()
summarize(logs, by=sys.argv[2].split(","))
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


def _env(tree: Path) -> dict[str, str]:
    """``tree`` first on the path: PYTHONSAFEPATH keeps ``-m``/``-c`` from putting the
    working directory (maybe another checkout) before it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1", "COLUMNS": "100"}


def _check_tree(tree: Path) -> None:
    found = subprocess.run([sys.executable, "-c", "import genailog; print(genailog.__file__)"],
                           env=_env(tree), check=True, capture_output=True, text=True).stdout
    if not Path(found.strip()).is_relative_to(tree):
        raise SystemExit(f"{tree}: python imports genailog from {found.strip()}")


def _cli(tree: Path, arguments: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + sys of the child) of one genailog process, and the
    hash of what it printed (exit 1, a failed check, counts as a run)."""
    command = [sys.executable, "-m", "genailog", *arguments]
    before, start = os.times(), time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, env=_env(tree), check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree}: {' '.join(arguments)} exited {done.returncode}")
    out = done.stdout
    wall, after = time.perf_counter() - start, os.times()
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return wall, cpu, hashlib.sha256(out).hexdigest()[:16]


def _aggregation(tree: Path, file: str, by: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", _AGGREGATE, file, by], env=_env(tree),
                         check=True, capture_output=True, text=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    return found["wall"], found["cpu"]


def _summary(values: list[float]) -> str:
    return f"median {statistics.median(values):6.3f}s  fastest {min(values):6.3f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True,
                        help="NAME=PATH of a source tree holding genailog/ (repeatable)")
    parser.add_argument("--file", default="bench/data/summarize-1000000.parquet")
    parser.add_argument("--by", default="model")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--command", help="time this genailog command line instead (e.g. "
                        "'validate sample_logs --format json'); no aggregation contender")
    args = parser.parse_args()
    arguments = (args.command.split() if args.command else
                 ["summarize", args.file, "--by", args.by, "--format", "json"])
    trees = {name: Path(path).resolve()
             for name, _, path in (t.partition("=") for t in args.tree)}
    load = os.getloadavg()[0]
    for tree in trees.values():  # untimed: writes the bytecode cache, warms the file cache
        _check_tree(tree)
        _cli(tree, arguments)
    figures: dict[str, dict[str, list[float]]] = {
        name: {"cli wall": [], "cli cpu": [], "aggregation wall": [], "aggregation cpu": []}
        for name in trees}
    digests: dict[str, set[str]] = {name: set() for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            wall, cpu, digest = _cli(tree, arguments)
            figures[name]["cli wall"].append(wall)
            figures[name]["cli cpu"].append(cpu)
            digests[name].add(digest)
        for name, tree in trees.items() if not args.command else ():
            wall, cpu = _aggregation(tree, args.file, args.by)
            figures[name]["aggregation wall"].append(wall)
            figures[name]["aggregation cpu"].append(cpu)
    print(f"genailog {' '.join(arguments)}, {args.runs} runs; load average {load:.2f} "
          f"before, {os.getloadavg()[0]:.2f} after")
    for name, rows in figures.items():
        print(f"{name}: output sha256 {', '.join(sorted(digests[name]))}")
        for what, values in rows.items() if rows["aggregation cpu"] else list(
                rows.items())[:2]:
            print(f"  {what:17} {_summary(values)}")
    same = len({d for found in digests.values() for d in found}) == 1
    print("outputs identical across trees and runs" if same else "OUTPUTS DIFFER")


if __name__ == "__main__":
    main()
