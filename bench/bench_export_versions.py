"""Benchmark: the same ``export-dataset`` run by two versions of genailog, alternating.

Usage:
    git archive <commit> genailog | tar -x -C /tmp/old     # the version to compare with
    head -200000 bench/data/export-1000000-pii20.jsonl > bench/data/export-200k.jsonl
    python bench/bench_export_versions.py --old /tmp/old [--rounds 4] [--input FILE] \
        [-- --where "latency_ms >= 0"]

Each run is a new process (``python -m genailog export-dataset INPUT --out ... --redact
--overwrite ARGS``) with ``PYTHONPATH`` pointing at one tree and ``PYTHONSAFEPATH`` set:
without it ``-m`` puts the working directory first, so that, run from a checkout, both
"versions" were that checkout (figures taken before 2026-11-29 21:30 UTC compared it with
itself). The order alternates per round. Reported: CPU seconds of the process and its
workers (user + sys, from ``getrusage(RUSAGE_CHILDREN)``), which a busy shared machine
disturbs far less than wall time, and wall time; then whether both versions wrote
identical bytes. Used for issue 12's "no speed regresses" when the machine is never idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def run_once(tree: str, source: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "genailog", "export-dataset", str(source),
                           "--out", str(out), "--redact", "--overwrite", *extra],
                          env={**os.environ, "PYTHONPATH": tree, "PYTHONSAFEPATH": "1"},
                          capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: export failed: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="a folder holding the old genailog/")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--input", type=Path, default=DATA / "export-200k.jsonl")
    parser.add_argument("extra", nargs="*", help="more export-dataset options")
    args = parser.parse_args()
    trees = {"old": args.old, "new": str(Path(__file__).resolve().parent.parent)}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    wall: dict[str, list[float]] = {name: [] for name in trees}
    for number in range(args.rounds):
        order = list(trees) if number % 2 == 0 else list(reversed(trees))
        for name in order:
            c, w = run_once(trees[name], args.input, DATA / f"versions-{name}.jsonl", args.extra)
            cpu[name].append(c)
            wall[name].append(w)
            print(f"{name}: cpu {c:.2f} s, wall {w:.2f} s, load {os.getloadavg()[0]:.1f}",
                  flush=True)
    for name in trees:
        print(f"{name}: cpu median {statistics.median(cpu[name]):.2f} s "
              f"(min {min(cpu[name]):.2f}), wall median {statistics.median(wall[name]):.2f} s")
    same = (DATA / "versions-old.jsonl").read_bytes() == (DATA / "versions-new.jsonl").read_bytes()
    print("outputs identical:", same)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
