"""`--where` with long OR chains: genailog's parser vs polars SQL (the old path) vs DuckDB.

Each contender runs in its own process, alternating, on the same in-memory frame of
ROWS records (model names drawn from 5,000); the time is parsing, planning and filtering
(count of kept rows), not building the frame. polars SQL is skipped above the term count
where it passed 120 s.

    python bench/bench_expressions.py [--rows 1000000] [--terms 100,1000,3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import polars as pl
contender, rows, terms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
frame = pl.DataFrame({"model": [f"m{i % 5000}" for i in range(rows)]})
text = " OR ".join(f"model = 'm{i}'" for i in range(terms))
start = time.perf_counter()
if contender == "genailog":
    from genailog.query.filters import apply_filters
    kept = apply_filters(frame.lazy(), where=text).select(pl.len()).collect().item()
elif contender == "polars-sql":
    kept = frame.lazy().filter(pl.sql_expr(text)).select(pl.len()).collect().item()
else:
    import duckdb
    kept = duckdb.sql(f"SELECT count(*) FROM frame WHERE {text}").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - start, "kept": kept}))
"""

CONTENDERS = ("genailog", "polars-sql", "duckdb")


def run(contender: str, rows: int, terms: int, timeout: float) -> dict[str, float] | None:
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, contender, str(rows), str(terms)],
                              capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--terms", default="100,1000,3000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    print(f"| OR terms | {' | '.join(CONTENDERS)} | kept rows |")
    print(f"| ---: | {' | '.join('---:' for _ in CONTENDERS)} | ---: |")
    for terms in (int(t) for t in args.terms.split(",")):
        times: dict[str, list[float]] = {c: [] for c in CONTENDERS}
        kept: set[float] = set()
        gave_up: set[str] = set()
        for _ in range(args.repeat):  # alternating: a slow spell hits every contender
            for contender in CONTENDERS:
                if contender in gave_up:
                    continue
                result = run(contender, args.rows, terms, args.timeout)
                if result is None:
                    gave_up.add(contender)
                    continue
                times[contender].append(result["seconds"])
                kept.add(result["kept"])
        cells = [f"{statistics.median(times[c]):.3f} s" if times[c]
                 else f"> {args.timeout:.0f} s" for c in CONTENDERS]
        print(f"| {terms:,} | {' | '.join(cells)} | {', '.join(f'{k:,.0f}' for k in kept)} |",
              flush=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\n{args.rows:,} rows, median of {args.repeat}, {stamp}")


if __name__ == "__main__":
    main()
