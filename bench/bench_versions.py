"""Benchmark: the same commands run by two versions of genailog, alternating.

Usage:
    mkdir /tmp/old && git archive <commit> | tar -x -C /tmp/old   # the version to compare
    python bench/bench_versions.py --old /tmp/old [--rounds 3] [--only "validate|cold"]

For issue 12's "no speed regresses": every command below runs once per round from each
tree (``PYTHONPATH`` pointing at it, with ``PYTHONSAFEPATH`` so that ``-m`` does not put the
working directory first, a new process each time), the order of the two trees
alternating per round. Reported per command and tree: median wall seconds, median CPU
seconds of the process and its workers (user + sys, from ``getrusage(RUSAGE_CHILDREN)``;
a busy machine disturbs CPU time far less than wall time), median peak RSS of the main
process (``/usr/bin/time``), and new / old. The 1-minute load average is printed before
each run. Both trees are compiled to bytecode first. The cold runs get a fresh cache
folder each time; the warm run a cache folder per tree, filled once before the first
round (the two versions' caches may differ).

Data (from ``bench/make_data.py`` and the other bench scripts): the 1M-record JSONL and
Parquet files of ``bench_summarize.py`` (and its DuckDB-written Parquet), the 1M-record
30-day Parquet file of ``bench_report.py`` and the 200k-record export file of
``bench_export.py``. Commands whose file is missing are skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
JSONL = DATA / "summarize-1000000.jsonl"
PARQUET = DATA / "summarize-1000000.parquet"
DUCK_PARQUET = DATA / "summarize-1000000-duckdb.parquet"
REPORT = DATA / "report-1m-30d.parquet"
EXPORT = DATA / "export-200k.jsonl"


def commands(scratch: Path) -> dict[str, tuple[list[str], Path]]:
    """name -> (genailog arguments, the file they need)."""
    out = scratch / "out"
    return {
        "validate, JSONL 1M": (["validate", str(JSONL)], JSONL),
        "summarize, JSONL 1M, cold": (["summarize", str(JSONL), "--by", "model",
                                       "--format", "json"], JSONL),
        "summarize, JSONL 1M, warm": (["summarize", str(JSONL), "--by", "model",
                                       "--format", "json"], JSONL),
        "summarize, Parquet (genailog)": (["summarize", str(PARQUET), "--by", "model",
                                           "--format", "json"], PARQUET),
        "summarize, Parquet (DuckDB)": (["summarize", str(DUCK_PARQUET), "--by", "model",
                                         "--format", "json"], DUCK_PARQUET),
        "diff-prompts, Parquet 1M": (["diff-prompts", str(REPORT), "--baseline", "v2",
                                      "--candidate", "v3", "--format", "json"], REPORT),
        "drift 1d, Parquet 1M": (["drift", str(REPORT), "--window", "1d", "--format",
                                  "json"], REPORT),
        "report (summary, latency, quality), Parquet 1M": (
            ["report", str(REPORT), "--out", str(out / "report.html"), "--no-diff",
             "--no-drift"], REPORT),
        "export-dataset --redact, JSONL 200k, cold": (
            ["export-dataset", str(EXPORT), "--out", str(out / "export.jsonl"), "--redact",
             "--overwrite"], EXPORT),
        "--help": (["--help"], ROOT / "pyproject.toml"),
    }


def run_once(tree: str, argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (with workers) and peak RSS in MB of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": tree, "PYTHONSAFEPATH": "1", **env}
    done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "genailog",
                           *argv], env=env,
                          capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # diff-prompts and drift exit 1 on a finding
        raise SystemExit(f"{tree}: genailog {' '.join(argv[:2])} failed "
                         f"(exit {done.returncode}):\n{done.stderr[-2000:]}")
    peak = re.findall(r"^(\d+)\s*$", done.stderr, re.MULTILINE)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, int(peak[-1]) / 1024 if peak else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="a folder holding the old genailog/")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="a regex: run only the matching commands")
    args = parser.parse_args()
    trees = {"old": str(Path(args.old).resolve()), "new": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="genailog-versions-") as tmp:
        scratch = Path(tmp)
        (scratch / "out").mkdir()
        runs = {name: argv for name, (argv, needs) in commands(scratch).items()
                if re.search(args.only, name) and _present(name, needs)}
        for tree in trees.values():  # both start from bytecode (PYTHONDONTWRITEBYTECODE)
            subprocess.run([sys.executable, "-m", "compileall", "-q", f"{tree}/genailog"],
                           check=True, capture_output=True)
        warm = {name: scratch / f"cache-{name}" for name in trees}
        if any("warm" in name for name in runs):
            for name, tree in trees.items():  # fill each tree's cache once
                run_once(tree, runs[next(n for n in runs if "warm" in n)],
                         {"GENAILOG_CACHE_DIR": str(warm[name])})
        figures: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for number in range(args.rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for command, argv in runs.items():
                for name in order:
                    env = _cache_env(command, scratch, warm[name], name)
                    figure = run_once(trees[name], argv, env)
                    figures.setdefault((command, name), []).append(figure)
                    print(f"round {number + 1} {name:3s} {command}: wall {figure[0]:.2f} s, "
                          f"cpu {figure[1]:.2f} s, {figure[2]:.0f} MB "
                          f"(load {os.getloadavg()[0]:.1f})", flush=True)
                    if "cold" in command:
                        shutil.rmtree(env["GENAILOG_CACHE_DIR"], ignore_errors=True)
    print()
    print("| command | old wall / CPU / peak | new wall / CPU / peak | new / old wall | "
          "new / old CPU |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for command in runs:
        old, new = (_medians(figures[(command, name)]) for name in ("old", "new"))
        print(f"| {command} | {_cells(old)} | {_cells(new)} | {new[0] / old[0]:.2f} | "
              f"{new[1] / old[1]:.2f} |")
    return 0


def _present(name: str, needs: Path) -> bool:
    if needs.exists():
        return True
    print(f"skipped {name}: {needs} is missing (see this script's docstring)")
    return False


def _cache_env(command: str, scratch: Path, warm: Path, tree: str) -> dict[str, str]:
    """A fresh cache folder for a cold run, the tree's filled one for a warm run, else a
    folder of the tree's own (Parquet inputs are not cached)."""
    if "cold" in command:
        return {"GENAILOG_CACHE_DIR": tempfile.mkdtemp(dir=scratch, prefix="cold-")}
    if "warm" in command:
        return {"GENAILOG_CACHE_DIR": str(warm)}
    return {"GENAILOG_CACHE_DIR": str(scratch / f"other-{tree}")}


def _medians(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    wall, cpu, peak = zip(*runs, strict=True)
    return statistics.median(wall), statistics.median(cpu), statistics.median(peak)


def _cells(figure: tuple[float, float, float]) -> str:
    return f"{figure[0]:.2f} s / {figure[1]:.2f} s / {figure[2]:,.0f} MB"


if __name__ == "__main__":
    raise SystemExit(main())
