"""Benchmark how long ``genailog --help`` (and a command's ``--help``) takes to start.

Usage: python bench/bench_startup.py [--runs 15]

Each run is a fresh process: the bare interpreter (``python -c pass``), ``import
genailog`` (the library facade), ``genailog --help``, ``genailog summarize --help`` and
``genailog --version``, alternating so that the machine's load falls on all of them alike.
Wall time per process; prints the median and the fastest of each, and the machine's load
average. Issue 14's goal: ``--help`` under 0.3 s. The first, untimed round writes the
bytecode cache, as installing the package does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CONTENDERS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import genailog'": [sys.executable, "-c", "import genailog"],
    "genailog --help": [sys.executable, "-m", "genailog", "--help"],
    "genailog summarize --help": [sys.executable, "-m", "genailog", "summarize", "--help"],
    "genailog --version": [sys.executable, "-m", "genailog", "--version"],
}


#: As a user's shell runs it: bytecode cached (an installed package has its .pyc files;
#: some sandboxes set PYTHONDONTWRITEBYTECODE, which recompiles every module each start).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
    "COLUMNS": "100"}


def _once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, env=_ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for command in CONTENDERS.values():  # warm the file cache once, untimed
        _once(command)
    for _ in range(args.runs):
        for name, command in CONTENDERS.items():
            times[name].append(_once(command))
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"{'what':32} {'median':>8} {'fastest':>8}")
    for name, values in times.items():
        print(f"{name:32} {statistics.median(values):7.3f}s {min(values):7.3f}s")


if __name__ == "__main__":
    main()
