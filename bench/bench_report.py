"""Benchmark ``genailog report`` against ``genailog summarize`` on the same 1M records.

Usage: python bench/bench_report.py [--n 1000000] [--days 30] [--repeat 3] [--jsonl]

Every contender is the CLI in its own child process (wall time and peak RSS from
``/usr/bin/time``), run alternately ``--repeat`` times on the same file; the median is
reported. Contenders:

- ``summarize``: ``genailog summarize FILE --format json``;
- ``report (summary, latency, quality)``: ``genailog report FILE --no-diff --no-drift``,
  the part issue 16 asks to stay under 1.5x summarize;
- ``report (all sections)``, and ``diff-prompts`` and ``drift`` alone, whose time the diff
  and drift sections add.

It also prints the report's size for sample_logs/ and for the 1M records, and checks that
the overview inlined in the 1M report equals summarize's JSON. Data (7 models, ``--days``
days) is written to bench/data/ by bench/make_data.py when missing. ``--jsonl`` also runs
the JSONL file (with the columnar cache warm, as a second command over a CI artifact
would find it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
GENAILOG = str(Path(sys.executable).with_name("genailog"))


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and stdout of one child process; its CPU seconds
    (user + system) are kept in ``CPU`` (on a shared machine, less noisy than wall time)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", *argv], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, check=False)
    if proc.returncode not in (0, 1):  # 1: diff-prompts found a regression, drift a drift
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{proc.stderr[-2000:]}")
    wall, kb, user, system = proc.stderr.strip().splitlines()[-1].split()
    CPU.append(float(user) + float(system))
    return float(wall), int(kb) / 1024, proc.stdout


CPU: list[float] = []


def contenders(src: Path, out: Path) -> dict[str, list[str]]:
    return {
        "summarize": [GENAILOG, "summarize", str(src), "--format", "json"],
        "report (summary, latency, quality)": [GENAILOG, "report", str(src), "--out", str(out),
                                               "--no-diff", "--no-drift"],
        "report (all sections)": [GENAILOG, "report", str(src), "--out", str(out)],
        "diff-prompts v2 vs v3": [GENAILOG, "diff-prompts", str(src), "--baseline", "v2",
                                  "--candidate", "v3", "--format", "json"],
        "drift 1d": [GENAILOG, "drift", str(src), "--window", "1d", "--format", "json"],
    }


def bench(src: Path, repeat: int, env: dict[str, str] | None = None,
          core: bool = False) -> dict[str, list[float]]:
    """Each contender ``repeat`` times, alternating: name -> [median wall, median RSS]."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = contenders(src, Path(tmp) / "report.html")
        if core:
            runs = dict(list(runs.items())[:2])
        walls: dict[str, list[float]] = {name: [] for name in runs}
        rss: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeat):
            for name, argv in runs.items():
                wall, mb, _ = run(argv, env)
                walls[name].append(wall)
                rss[name].append(mb)
                cpu[name].append(CPU[-1])
                print(f"  {src.suffix} {name}: {wall:.2f} s, {CPU[-1]:.2f} s CPU, "
                      f"{mb:,.0f} MB", file=sys.stderr)
    return {n: [statistics.median(walls[n]), statistics.median(rss[n]),
                statistics.median(cpu[n])] for n in runs}


def sizes_and_equality(src: Path) -> dict[str, object]:
    """Report sizes (sample_logs/, the 1M file) and the 1M overview against summarize."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.html"
        run([GENAILOG, "report", str(ROOT / "sample_logs"), "--out", str(out)])
        sample = out.stat().st_size
        run([GENAILOG, "report", str(src), "--out", str(out)])
        big = out.stat().st_size
        page = out.read_text(encoding="utf-8")
    found = re.search(r'id="genailog-summary">(.*?)</script>', page, re.S)
    summary = json.loads(run([GENAILOG, "summarize", str(src), "--format", "json"])[2])
    equal = found is not None and json.loads(found.group(1)) == summary
    return {"sample_logs_bytes": sample, "big_bytes": big, "overview_equals_summarize": equal}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jsonl", action="store_true", help="also bench the JSONL file")
    parser.add_argument("--core", action="store_true",
                        help="only summarize and the report without diff and drift")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    size = f"{args.n // 1_000_000}m" if args.n % 1_000_000 == 0 else f"{args.n // 1000}k"
    stem = DATA / f"report-{size}-{args.days}d"
    jsonl, parquet = stem.with_suffix(".jsonl"), stem.with_suffix(".parquet")
    if not parquet.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_data.py"), str(args.n),
                        str(jsonl), "--parquet", str(parquet), "--days", str(args.days)],
                       check=True)
    results = {"parquet": bench(parquet, args.repeat, core=args.core)}
    if args.jsonl:
        with tempfile.TemporaryDirectory() as cache:
            env = {"GENAILOG_CACHE_DIR": cache}
            run([GENAILOG, "summarize", str(jsonl), "--format", "json"], env)  # warm it
            results["jsonl, warm cache"] = bench(jsonl, args.repeat, env, args.core)
    base = {k: r["summarize"] for k, r in results.items()}
    table = {k: {n: {"seconds": w, "cpu_seconds": c, "rss_mb": round(m),
                     "x_summarize": round(w / base[k][0], 2),
                     "cpu_x_summarize": round(c / base[k][2], 2)}
                 for n, (w, m, c) in r.items()} for k, r in results.items()}
    extra = {} if args.core else sizes_and_equality(parquet)
    print(json.dumps({"n": args.n, "days": args.days, "repeat": args.repeat,
                      "load_average_1_5_15": {"before": [round(x, 2) for x in load_before],
                                              "after": [round(x, 2) for x in os.getloadavg()]},
                      "results": table, **extra}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
