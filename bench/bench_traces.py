"""Benchmark ``genailog traces`` against DuckDB and a naive Python loop on the same spans.

Usage: python bench/bench_traces.py [--traces 5000] [--repeat 3]

Spans come from the tests' generator (tests/tracegen.py: 7 spans a trace, a RAG
pipeline with a reranker slowed from day 3), written once to bench/data/ as OTLP JSON lines
(what a file exporter writes) and as Parquet with the columns of ``read_spans``. Every
contender runs in its own child process (wall time and peak RSS from ``/usr/bin/time``),
alternately, ``--repeat`` times; medians are printed. Contenders:

- ``genailog traces OTLP --format json``: the CLI end to end (read the OTLP file and its
  LLM calls, trees, self time, critical path, tests, output);
- ``analyze_traces(parquet)``: the analysis alone over the Parquet frame;
- ``DuckDB percentiles``: DuckDB SQL over the Parquet file computing only per-component
  ``quantile_cont`` p50/p95/p99 and per-trace end-to-end times (a subset of the work:
  no self time, critical path or tests), as the floor of what a SQL engine needs;
- ``naive Python``: ``json.loads`` of the OTLP file and per-component percentiles with
  ``statistics.quantiles`` (also a subset).

It also checks that the per-component p95 of the analysis equals DuckDB's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
GENAILOG = str(Path(sys.executable).with_name("genailog"))
PY = sys.executable

ANALYSIS = """
import sys, polars as pl
from genailog.analysis.traces import analyze_traces
r = analyze_traces(pl.read_parquet(sys.argv[1]))
print({c["component"]: c["p95_ms"] for c in r.to_dict()["components"]})
"""
DUCKDB = """
import sys, duckdb
con = duckdb.connect()
rows = con.sql(f\"\"\"SELECT kind || ':' || name, quantile_cont(duration_ms, 0.5),
  quantile_cont(duration_ms, 0.95), quantile_cont(duration_ms, 0.99)
  FROM read_parquet('{sys.argv[1]}') WHERE parent_span_id IS NOT NULL GROUP BY 1\"\"\").fetchall()
traces = con.sql(f\"\"\"SELECT trace_id, epoch_ms(max("end")) - epoch_ms(min(start))
  FROM read_parquet('{sys.argv[1]}') GROUP BY 1\"\"\").fetchall()
print({r[0]: r[2] for r in rows})
"""
NAIVE = """
import sys, json, statistics
durations = {}
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                if "parentSpanId" not in s:
                    continue
                kind = next((a["value"]["stringValue"] for a in s["attributes"]
                             if a["key"] == "openinference.span.kind"), "span")
                ms = (int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e6
                durations.setdefault(kind.lower() + ":" + s["name"], []).append(ms)
print({k: statistics.quantiles(v, n=100, method="inclusive")[94] for k, v in durations.items()})
"""


def run(argv: list[str]) -> tuple[float, float, str]:
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], capture_output=True,
                          text=True, env=os.environ.copy(), check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{proc.stderr[-2000:]}")
    wall, kb = proc.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, proc.stdout


def make(traces: int) -> tuple[Path, Path]:
    otlp, parquet = DATA / f"traces_{traces}.jsonl", DATA / f"traces_{traces}.parquet"
    if otlp.exists() and parquet.exists():
        return otlp, parquet
    sys.path.insert(0, str(ROOT / "tests"))  # tracegen: a test-only generator
    from tracegen import generate, write_otlp

    DATA.mkdir(parents=True, exist_ok=True)
    frame = generate(0, days=10, per_day=traces // 10, slow_from=3)
    frame.write_parquet(parquet)
    write_otlp(frame, otlp)
    return otlp, parquet


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    otlp, parquet = make(args.traces)
    print(f"{args.traces:,} traces; OTLP {otlp.stat().st_size / 1e6:.0f} MB, "
          f"Parquet {parquet.stat().st_size / 1e6:.0f} MB")
    contenders = {
        "genailog traces (CLI, OTLP JSON)": [GENAILOG, "traces", str(otlp), "--format", "json"],
        "analyze_traces (Parquet frame)": [PY, "-c", ANALYSIS, str(parquet)],
        "DuckDB percentiles only (Parquet)": [PY, "-c", DUCKDB, str(parquet)],
        "naive Python percentiles only (OTLP JSON)": [PY, "-c", NAIVE, str(otlp)],
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    outputs: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, argv in contenders.items():
            wall, mb, out = run(argv)
            times[name].append((wall, mb))
            outputs[name] = out
    ours = eval(outputs["analyze_traces (Parquet frame)"])  # noqa: S307 - our own output
    duck = eval(outputs["DuckDB percentiles only (Parquet)"])  # noqa: S307
    same = all(abs(ours[k] - duck[k]) < 1e-9 for k in duck) and set(ours) == set(duck)
    print(f"p95 per component equal to DuckDB's: {same}")
    for name, values in times.items():
        wall = statistics.median(v[0] for v in values)
        mb = statistics.median(v[1] for v in values)
        print(f"{name:45s} {wall:7.2f} s  {mb:7.0f} MB  (runs: "
              f"{', '.join(f'{v[0]:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
