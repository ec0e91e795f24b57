"""Benchmark how long ``genailog --help`` (and a command's ``--help``) takes to start.

Usage: python bench/bench_startup.py [--runs 15] [--tree before=/tmp/old --tree after=.]

Each run is a fresh process: the bare interpreter (``python -c pass``), ``import
genailog`` (the library facade), ``genailog --help``, ``genailog summarize --help`` and
``genailog --version``, alternating so that the machine's load falls on all of them alike.
Wall time per process; prints the median and the fastest of each, and the machine's load
average. Issue 14's goal: ``--help`` under 0.3 s. The first, untimed round writes the
bytecode cache, as installing the package does. With ``--tree NAME=PATH`` (repeatable)
each contender runs from each source tree in turn (``PYTHONPATH``, with
``PYTHONSAFEPATH`` so that the working directory does not come first), e.g. a ``git
archive`` of the previous commit against this one; the CPU time (user + sys) is shown
too.
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


def _once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one process."""
    before, start = os.times(), time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, env=env)
    wall, after = time.perf_counter() - start, os.times()
    return wall, (after.children_user - before.children_user
                  + after.children_system - before.children_system)


def _runs(trees: dict[str, str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    if not trees:
        return {name: (command, _ENV) for name, command in CONTENDERS.items()}
    return {f"{tree}: {name}": (command, _ENV | {"PYTHONPATH": path, "PYTHONSAFEPATH": "1"})
            for name, command in CONTENDERS.items() for tree, path in trees.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tree", action="append", default=[],
                        help="NAME=PATH of a source tree holding genailog/ (repeatable)")
    args = parser.parse_args()
    runs = _runs({name: os.path.abspath(path)
                  for name, _, path in (t.partition("=") for t in args.tree)})
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    load = os.getloadavg()[0]
    for command, env in runs.values():  # warm the file cache once, untimed
        _once(command, env)
    for _ in range(args.runs):
        for name, (command, env) in runs.items():
            times[name].append(_once(command, env))
    print(f"load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    width = max(map(len, runs)) + 1
    print(f"{'what':{width}} {'median':>8} {'fastest':>8} {'CPU median':>11}")
    for name, values in times.items():
        walls = [wall for wall, _ in values]
        cpu = statistics.median(c for _, c in values)
        print(f"{name:{width}} {statistics.median(walls):7.3f}s {min(walls):7.3f}s "
              f"{cpu:10.3f}s")


if __name__ == "__main__":
    main()
