"""Time ``diff-prompts`` on N records split over two versions, against DuckDB and naive code.

Usage: python bench/bench_diff_prompts.py [N] [--repeat R]

Writes bench/data/diff_prompts_N.parquet once (git-ignored), then times, best of R:

* genailog, library, in memory: ``diff_prompts`` on a collected frame (every metric, tests,
  exact quantile bootstraps with 2,000 resamples, Holm);
* genailog, library, end to end: ``read_logs`` on the Parquet file + ``diff_prompts``;
* genailog, CLI: ``genailog diff-prompts FILE --format json`` as a subprocess;
* genailog, paired mode in memory (``--pair-on case_id``);
* DuckDB: per-version medians, p95s and rates only (descriptive, no tests, no intervals);
* naive: scipy's Mann-Whitney U on latency plus a row-resampling bootstrap of the median
  difference (B x n index matrix), timed at 20 resamples and scaled to 2,000.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

DATA = Path(__file__).parent / "data"


def make_frame(n: int, seed: int = 1) -> pl.DataFrame:
    """n records, half v1 and half v2; v2 is 10% slower with more hallucinations."""
    rng = np.random.default_rng(seed)
    half = n // 2
    cand = np.arange(n) >= half
    faith = rng.beta(8, 2, n)
    return pl.DataFrame({
        "timestamp": pl.datetime_range(
            pl.datetime(2026, 11, 1), pl.datetime(2026, 11, 8), interval="1s", eager=True,
            time_zone="UTC")[:n] if n <= 604_801 else [None] * n,
        "model": ["gpt-4.1"] * n,
        "prompt_version": np.where(cand, "v2", "v1"),
        "latency_ms": rng.lognormal(6.5, 0.5, n) * np.where(cand, 1.1, 1.0),
        "ttft_ms": rng.lognormal(5.5, 0.4, n),
        "cost_usd": rng.gamma(2, 0.001, n),
        "input_tokens": rng.poisson(400, n),
        "output_tokens": rng.poisson(200, n),
        "status": np.where(rng.random(n) < 0.02, "error", "ok"),
        "refusal": rng.random(n) < 0.01,
        "hallucination_flag": rng.random(n) < np.where(cand, 0.05, 0.04),
        "feedback_rating": rng.integers(1, 6, n).astype(float),
        "eval_scores": [f'{{"faithfulness":{v:.4f}}}' for v in faith],
        "case_id": [f"case-{i % half}" for i in range(n)],
        "response": [f"answer {i % 1000}" for i in range(n)],
    }).with_columns(pl.col("timestamp").fill_null(pl.datetime(2026, 11, 1, time_zone="UTC")))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (all threads)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """Best wall time and the CPU time of that run: the machine is shared, and CPU
    seconds show the work done when other jobs steal the cores."""
    best, out = (float("inf"), 0.0), None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        out = func()
        best = min(best, (time.perf_counter() - start, _cpu() - cpu))
    return best, out


def duckdb_summary(path: Path) -> Any:
    import duckdb

    return duckdb.sql(f"""
        SELECT prompt_version, median(latency_ms), quantile_cont(latency_ms, 0.95),
               median(ttft_ms), quantile_cont(ttft_ms, 0.95), median(cost_usd),
               median(input_tokens), median(output_tokens), avg((status = 'error')::INT),
               avg(refusal::INT), avg(hallucination_flag::INT), avg(feedback_rating),
               avg(json_extract(eval_scores, '$.faithfulness')::DOUBLE)
        FROM read_parquet('{path}') GROUP BY prompt_version""").fetchall()


def naive_latency(frame: pl.DataFrame, resamples: int) -> float:
    from scipy import stats

    a = frame.filter(pl.col("prompt_version") == "v1")["latency_ms"].to_numpy()
    b = frame.filter(pl.col("prompt_version") == "v2")["latency_ms"].to_numpy()
    stats.mannwhitneyu(a, b)
    rng = np.random.default_rng(0)
    diffs = [np.median(b[rng.integers(0, len(b), len(b))])
             - np.median(a[rng.integers(0, len(a), len(a))]) for _ in range(resamples)]
    return float(np.quantile(diffs, 0.025))


def main(argv: list[str] | None = None) -> int:
    from genailog.analysis.compare import DiffOptions, diff_prompts
    from genailog.ingest import read_logs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    path = DATA / f"diff_prompts_{args.n}.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        make_frame(args.n).write_parquet(path)
    frame = read_logs([str(path)]).frame.collect()
    rows: list[tuple[str, tuple[float, float]]] = []

    t, result = best_of(args.repeat, lambda: diff_prompts(frame, "v1", "v2"))
    rows.append(("genailog library, in memory (unpaired)", t))
    t, _ = best_of(args.repeat, lambda: diff_prompts(
        read_logs([str(path)]).frame, "v1", "v2"))
    rows.append(("genailog library, read_logs(parquet) + diff", t))
    cli = [sys.executable, "-m", "genailog", "diff-prompts", str(path), "--baseline", "v1",
           "--candidate", "v2", "--format", "json"]
    t, proc = best_of(args.repeat, lambda: subprocess.run(cli, capture_output=True, text=True))
    rows.append(("genailog CLI end to end (subprocess)", t))
    t, _ = best_of(args.repeat, lambda: diff_prompts(
        frame, "v1", "v2", DiffOptions(pair_on="case_id")))
    rows.append(("genailog library, in memory, paired on case_id", t))
    t, _ = best_of(args.repeat, lambda: duckdb_summary(path))
    rows.append(("DuckDB: medians/p95/rates only, no tests or CIs", t))
    t20, _ = best_of(1, lambda: naive_latency(frame, 20))
    rows.append(("naive: scipy MWU + row bootstrap, latency only, B=2000 (scaled from 20)",
                 (t20[0] * 100, t20[1] * 100)))

    base = rows[0][1][0]
    print(f"records: {frame.height:,} ({args.n // 2:,} per version), best of {args.repeat}")
    print(f"{'':<75} {'wall':>8}    {'CPU':>8}    {'wall ratio':>10}")
    for name, (wall, cpu) in rows:
        print(f"{name:<75} {wall:8.2f} s  {cpu:8.2f} s  {wall / base:9.2f}x")
    regressions = json.loads(proc.stdout)["regressions"] if proc.stdout else proc.stderr
    print(f"CLI exit {proc.returncode}, regressions: {regressions}")
    print(f"library verdict: {result.verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
