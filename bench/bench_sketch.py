"""Peak memory and time of ``summarize --quantiles sketch`` against exact mode, 1M vs 10M.

Usage: python bench/bench_sketch.py [--repeat 3] [--by model] [--skip-10m] [--wide]
                                   [--series]

Each run is the CLI in its own child process (``/usr/bin/time``: wall seconds, peak RSS,
CPU seconds), alternating over (mode x size). The 10M file is the 1M Parquet file
repeated ten times (``bench/data/sketch-10m.parquet``, written once by polars' streaming
sink with the 1M file's 10,000-row row groups); ``--wide`` adds the same records with
100,000-row groups (``sketch-10m-rg100k.parquet``: a tenth of the footer, and the layout
whose read-ahead once reached 700 MB); the 1M file is written by bench/make_data.py when
missing. It also checks the sketch's promise on the
real data: every sketch percentile of the 1M run is within the stated relative accuracy of
the exact one. ``--series`` runs sketch mode alone at 1M, 2M, 4M and 10M records (the
1M file repeated, the same row groups). Prints one JSON object; figures go to
bench/README.md with the machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
GENAILOG = str(Path(sys.executable).with_name("genailog"))
ONE = DATA / "report-1m-30d.parquet"
TEN = DATA / "sketch-10m.parquet"
WIDE = DATA / "sketch-10m-rg100k.parquet"


def ensure_data(wide: bool = False) -> None:
    if not ONE.exists():
        jsonl = DATA / "report-1m-30d.jsonl"
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_data.py"), "1000000",
                        str(jsonl), "--parquet", str(ONE), "--days", "30"], check=True)
    if not TEN.exists():
        import polars as pl

        # the same row groups as the 1M file (10,000 rows): polars' reader holds a few row
        # groups in flight, so larger groups alone would raise the peak
        pl.scan_parquet([ONE] * 10).sink_parquet(TEN, row_group_size=10_000)
    if wide and not WIDE.exists():
        import polars as pl

        pl.scan_parquet([ONE] * 10).sink_parquet(WIDE, row_group_size=100_000)


def run(argv: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS in MB, CPU seconds and stdout of one child process."""
    # without PYTHONDONTWRITEBYTECODE (set in some shells here): genailog runs from its
    # bytecode, as installed, instead of compiling changed modules again in every run
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", *argv], capture_output=True,
                          text=True, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    wall, kb, user, system = proc.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, float(user) + float(system), proc.stdout


def percentiles_within_bound(exact: dict[str, Any], sketch: dict[str, Any]) -> bool:
    bound = sketch["quantiles"]["relative_accuracy"]
    rows = [(exact["total"], sketch["total"])] + list(
        zip(exact["groups"], sketch["groups"], strict=True))
    for e, s in rows:
        for name, value in e.items():
            if "_p" in name and value is not None:
                if abs(s[name] - value) > bound * abs(value) + 1e-9:
                    return False
    return True


def series(repeat: int, by: str) -> int:
    """Sketch mode's peak RSS at 1M, 2M, 4M and 10M records (the 1M file repeated, the
    same 10,000-row groups), alternating: does the peak follow the number of records, or
    only the file's footer (which polars holds parsed while it reads: about 2 MB per 100
    row groups of this 45-column file)? Prints one JSON object."""
    import polars as pl

    files = {"1M": ONE}
    for k in (2, 4):
        path = DATA / f"sketch-{k}m.parquet"
        if not path.exists():
            pl.scan_parquet([ONE] * k).sink_parquet(path, row_group_size=10_000)
        files[f"{k}M"] = path
    files["10M"] = TEN
    rss: dict[str, list[float]] = {}
    for _ in range(repeat):
        for size, path in files.items():
            _, mb, secs, _ = run([GENAILOG, "summarize", str(path), "--by", by, "--quantiles",
                                  "sketch", "--format", "json"])
            rss.setdefault(size, []).append(mb)
            print(f"  sketch {size}: {mb:,.0f} MB, {secs:.2f} s CPU", file=sys.stderr)
    first = statistics.median(rss["1M"])
    print(json.dumps({
        "peak_rss_mb": {size: [round(mb) for mb in runs] for size, runs in rss.items()},
        "median_over_1m": {size: round(statistics.median(runs) / first, 3)
                           for size, runs in rss.items()},
        "load_average": os.getloadavg(),
    }, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--by", default="model")
    parser.add_argument("--skip-10m", action="store_true")
    parser.add_argument("--wide", action="store_true", help="also 10M in 100k-row groups")
    parser.add_argument("--series", action="store_true",
                        help="sketch mode only, 1M, 2M, 4M and 10M records (10,000-row groups)")
    args = parser.parse_args(argv)
    ensure_data(args.wide)
    if args.series:
        return series(args.repeat, args.by)
    sizes = {"1M": ONE} if args.skip_10m else {"1M": ONE, "10M": TEN}
    if args.wide:
        sizes["10M-rg100k"] = WIDE
    runs = {(mode, size): [GENAILOG, "summarize", str(path), "--by", args.by, "--quantiles",
                           mode, "--format", "json"]
            for size, path in sizes.items() for mode in ("sketch", "exact")}
    walls: dict[str, list[float]] = {}
    rss: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for _ in range(args.repeat):
        for (mode, size), cmd in runs.items():
            name = f"{mode} {size}"
            wall, mb, secs, out = run(cmd)
            walls.setdefault(name, []).append(wall)
            rss.setdefault(name, []).append(mb)
            cpu.setdefault(name, []).append(secs)
            outputs[name] = json.loads(out)
            print(f"  {name}: {wall:.2f} s, {secs:.2f} s CPU, {mb:,.0f} MB", file=sys.stderr)
    result: dict[str, object] = {
        name: {"seconds": statistics.median(walls[name]),
               "cpu_seconds": statistics.median(cpu[name]),
               "peak_rss_mb": round(statistics.median(rss[name])),
               "peak_rss_mb_max": round(max(rss[name]))}
        for name in walls
    }
    for size in sizes:
        if size != "1M":
            for mode in ("sketch", "exact"):
                key = f"{mode}_{size.lower()}_over_1m_rss"
                result[key] = round(statistics.median(rss[f"{mode} {size}"])
                                    / statistics.median(rss[f"{mode} 1M"]), 3)
                runs_ratio = [a / b for a, b in zip(rss[f"{mode} {size}"], rss[f"{mode} 1M"],
                                                    strict=True)]
                result[f"{key}_per_round"] = [round(r, 3) for r in runs_ratio]
    result["sketch_within_bound_1m"] = percentiles_within_bound(outputs["exact 1M"],
                                                                outputs["sketch 1M"])
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
