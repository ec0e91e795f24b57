"""Benchmark ``genailog summarize --by model`` and ``validate`` against DuckDB SQL.

Usage: python bench/bench_summarize.py [--n 1000000] [--repeat 3] [--naive] [--big N]
                                      [--parquet-only]

One run, alternating: every round runs each contender once, each in its own child
process (wall time, CPU time (user + sys) and peak RSS from ``/usr/bin/time``, the
1-minute load average recorded before each run); each round starts one contender later
than the last. The table gives medians over the rounds, each round's time ratio (the
same round's runs paired), and the median of those with a 95% bootstrap interval.
DuckDB's process imports only duckdb (its price table is passed in); children run
without PYTHONDONTWRITEBYTECODE, so genailog runs from bytecode as installed.
``--parquet-only`` runs just the six Parquet rows. Contenders, on the same records:
DuckDB's SQL over the JSONL (``read_json``), over genailog-written Parquet, over
DuckDB-written Parquet (``COPY ... TO``) and over pyarrow-written Parquet (its defaults,
as pandas writes: one row group); genailog summarize over the JSONL cold (a fresh
``GENAILOG_CACHE_DIR`` each run: the first command over an artifact), warm (a cache
filled before the rounds) and without the cache, over the three Parquet files;
``genailog validate`` over the JSONL; ``--naive`` adds a ``json.loads`` loop. Ratios are
genailog / DuckDB on the same file. ``--big N`` also runs N records (the JSONL repeated)
to check that memory does not grow with the input. Data lives in bench/data/
(git-ignored) and is written by bench/make_data.py when missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
PYTHON = sys.executable
GENAILOG = str(Path(PYTHON).with_name("genailog"))

_PRICES = """
from genailog.pricing import default_prices
"""


def price_rows(models: list[str]) -> list[tuple[str | float | None, ...]]:
    """The rows of DuckDB's price table: genailog's rates of each model it prices."""
    from genailog.pricing import default_prices

    table = default_prices()
    rows: list[tuple[str | float | None, ...]] = []
    for m in models:
        p = table.lookup(m)
        if p is not None:
            rows.append((m, p.input, p.output, p.cache_read, p.cache_write, p.reasoning))
    return rows

# DuckDB's process imports only duckdb: the price rows (genailog's table, so that both
# sides price alike) are computed here and passed as a literal. Until session 4 the child
# imported polars and genailog.pricing for them, about 0.1-0.2 s and 26 MB that a DuckDB
# user does not pay (bench/README.md, "Session 4").
_DUCKDB = """
import sys
import duckdb
src, reader = sys.argv[1], sys.argv[2]
con = duckdb.connect()
scan = f"{reader}('{src}')"
con.execute("CREATE TABLE prices (model VARCHAR, pi DOUBLE, po DOUBLE, pr DOUBLE, "
            "pw DOUBLE, pz DOUBLE)")
con.executemany("INSERT INTO prices VALUES (?, ?, ?, ?, ?, ?)", %(prices)s)
q = f'''
WITH r AS (SELECT l.*, p.* EXCLUDE (model),
  COALESCE(l.cost_usd,
    (input_tokens - COALESCE(cached_input_tokens,0) - COALESCE(cache_write_tokens,0)) * pi
    + COALESCE(cached_input_tokens,0) * COALESCE(pr, pi)
    + COALESCE(cache_write_tokens,0) * COALESCE(pw, pi)
    + (output_tokens - CASE WHEN pz IS NULL THEN 0 ELSE COALESCE(reasoning_tokens,0) END) * po
    + CASE WHEN pz IS NULL THEN 0 ELSE COALESCE(reasoning_tokens,0) * pz END) AS cost
  FROM {scan} l LEFT JOIN prices p ON l.model = p.model)
SELECT model, count(*), sum((status = 'error')::INT), sum(input_tokens), sum(output_tokens),
  sum(cached_input_tokens), sum(cost), count(cost),
  quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.9),
  quantile_cont(latency_ms, 0.95), quantile_cont(latency_ms, 0.99), max(latency_ms),
  quantile_cont(ttft_ms, 0.5), quantile_cont(ttft_ms, 0.95), quantile_cont(ttft_ms, 0.99),
  avg(hallucination_flag::INT), avg(refusal::INT), avg(feedback_rating),
  min(timestamp), max(timestamp)
FROM r GROUP BY GROUPING SETS ((model), ())'''
print(len(con.execute(q).fetchall()))
"""

_NAIVE = (
    _PRICES
    + """
import json, sys
import numpy as np
table = default_prices()
groups = {}
with open(sys.argv[1], 'rb') as f:
    for line in f:
        r = json.loads(line)
        for key in (r['model'], None):
            g = groups.setdefault(key, {'n': 0, 'err': 0, 'in': 0, 'out': 0, 'cost': 0.0,
                                        'lat': [], 'ttft': []})
            g['n'] += 1
            g['err'] += r.get('status') == 'error'
            g['in'] += r.get('input_tokens') or 0
            g['out'] += r.get('output_tokens') or 0
            cost = r.get('cost_usd')
            p = table.lookup(r['model'])
            if cost is None and p is not None and r.get('input_tokens') is not None:
                c = r.get('cached_input_tokens') or 0
                cost = (r['input_tokens'] - c) * p.input + c * (p.cache_read or p.input) \
                    + (r.get('output_tokens') or 0) * p.output
            g['cost'] += cost or 0.0
            if r.get('latency_ms') is not None:
                g['lat'].append(r['latency_ms'])
            if r.get('ttft_ms') is not None:
                g['ttft'].append(r['ttft_ms'])
for g in groups.values():
    g['p'] = np.percentile(g['lat'], [50, 90, 95, 99]) if g['lat'] else None
print(len(groups))
"""
)

_LAZY = """
import sys, polars as pl
from genailog.api import summarize
from genailog.schema.columns import CANONICAL_DTYPES
NEEDED = ['timestamp', 'model', 'status', 'error_type', 'input_tokens', 'output_tokens',
          'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens', 'retries',
          'cost_usd', 'latency_ms', 'ttft_ms', 'hallucination_flag', 'refusal',
          'feedback_rating']
src = sys.argv[1]
if src.endswith('.parquet'):
    lf = pl.scan_parquet(src).select(NEEDED)
else:
    schema = {n: CANONICAL_DTYPES[n] for n in NEEDED} | {'timestamp': pl.String}
    lf = pl.scan_ndjson(src, schema=schema).with_columns(
        pl.col('timestamp').str.to_datetime(time_zone='UTC', time_unit='us'))
lf = lf.with_columns(pl.lit(None, dtype) .alias(n) for n, dtype in CANONICAL_DTYPES.items()
                     if n not in NEEDED)
summarize(lf, by=['model'])
"""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: without PYTHONDONTWRITEBYTECODE (set in some shells
    here), so genailog's modules run from their bytecode as in an installed package
    instead of being compiled again in every run (10-15 ms per changed module)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **(extra or {})}


def measure(
    argv: list[str], env: dict[str, str] | None = None, cap_mb: float = 0
) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS in MB, CPU seconds (user + sys) and stdout of one child
    process.

    With ``cap_mb``, the child is killed if its RSS passes the cap (the machine is shared),
    and the figures are reported as a lower bound.
    """
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "%e %M %U %S", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(env),
    )
    capped = _watch(proc, cap_mb) if cap_mb else False
    out, err = proc.communicate()
    if capped:
        return float("nan"), cap_mb, float("nan"), "capped"
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{err[-2000:]}")
    wall, kb, user, system = err.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, float(user) + float(system), out


def _watch(proc: subprocess.Popen[str], cap_mb: float) -> bool:
    """Poll the RSS of the child's process tree; kill it (by pid) past ``cap_mb``."""
    while proc.poll() is None:
        time.sleep(0.2)
        rss = 0
        for pid in _tree(proc.pid):
            try:
                rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * 4096
            except (OSError, IndexError, ValueError):
                continue
        if rss / 2**20 > cap_mb:
            for pid in reversed(_tree(proc.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return True
    return False


def _tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        kids = children.read_text().split()
    except OSError:
        kids = []
    return [pid, *(p for kid in kids for p in _tree(int(kid)))]


def ensure_data(n: int) -> tuple[Path, Path]:
    """The n-record JSONL (bench/make_data.py) and the same records as Parquet."""
    # Own file names: other benches share bench/data and rewrite their own files.
    stem = DATA / f"summarize-{n}"
    jsonl, parquet = stem.with_suffix(".jsonl"), stem.with_suffix(".parquet")
    if not jsonl.exists():
        subprocess.run(
            [PYTHON, str(ROOT / "bench" / "make_data.py"), str(n), str(jsonl)], check=True
        )
    if not parquet.exists():  # converted from the JSONL itself, so the records are the same
        tmp = parquet.with_suffix(".parquet.tmp")
        convert = (
            "import sys; from genailog.ingest import read_logs; "
            "read_logs([sys.argv[1]]).frame.sink_parquet(sys.argv[2])"
        )
        subprocess.run([PYTHON, "-c", convert, str(jsonl), str(tmp)], check=True)
        tmp.rename(parquet)
    return jsonl, parquet


def _models(parquet: Path) -> list[str]:
    import polars as pl

    return pl.scan_parquet(parquet).select(pl.col("model").unique()).collect()["model"].to_list()


def duckdb_parquet(parquet: Path) -> Path:
    """The same records as Parquet written by DuckDB (``COPY ... TO``), next to ours."""
    target = parquet.with_name(parquet.stem + "-duckdb.parquet")
    if not target.exists():
        import duckdb

        tmp = target.with_suffix(".parquet.tmp")
        duckdb.connect().execute(
            f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{tmp}' (FORMAT parquet)")
        tmp.rename(target)
    return target


def pyarrow_parquet(parquet: Path) -> Path:
    """The same records as Parquet written by pyarrow with its defaults (what pandas'
    ``to_parquet`` writes): 1M rows make one row group."""
    target = parquet.with_name(parquet.stem + "-pyarrow.parquet")
    if not target.exists():
        import pyarrow.parquet as pq

        tmp = target.with_suffix(".parquet.tmp")
        pq.write_table(pq.read_table(parquet), tmp)
        tmp.rename(target)
    return target


#: (name, argv, environment, the DuckDB row it is compared with, "" for DuckDB's own).
Contender = tuple[str, list[str], dict[str, str], str]
FRESH = "<fresh>"  # an environment value replaced by a new empty folder for each run


def contenders(jsonl: Path, parquet: Path, models: list[str], naive: bool,
               warm_cache: str) -> list[Contender]:
    duck_parquet, arrow_parquet = duckdb_parquet(parquet), pyarrow_parquet(parquet)

    def cli(path: Path) -> list[str]:
        return [GENAILOG, "summarize", str(path), "--by", "model", "--format", "json"]

    prices = repr(price_rows(models))

    def duck(path: Path, reader: str) -> list[str]:
        return [PYTHON, "-c", _DUCKDB % {"prices": prices}, str(path), reader]

    jsonl_duck = "DuckDB, JSONL"
    ours, theirs = "DuckDB, Parquet written by genailog", "DuckDB, Parquet written by DuckDB"
    arrow = "DuckDB, Parquet written by pyarrow"
    rows: list[Contender] = [
        (jsonl_duck, duck(jsonl, "read_json"), {}, ""),
        (ours, duck(parquet, "read_parquet"), {}, ""),
        (theirs, duck(duck_parquet, "read_parquet"), {}, ""),
        (arrow, duck(arrow_parquet, "read_parquet"), {}, ""),
        ("genailog summarize, JSONL, cold (fresh cache folder)", cli(jsonl),
         {"GENAILOG_CACHE_DIR": FRESH}, jsonl_duck),
        ("genailog summarize, JSONL, warm cache", cli(jsonl),
         {"GENAILOG_CACHE_DIR": warm_cache}, jsonl_duck),
        ("genailog summarize, JSONL, no cache", cli(jsonl), {"GENAILOG_NO_CACHE": "1"},
         jsonl_duck),
        ("genailog summarize, Parquet written by genailog", cli(parquet), {}, ours),
        ("genailog summarize, Parquet written by DuckDB", cli(duck_parquet), {}, theirs),
        ("genailog summarize, Parquet written by pyarrow", cli(arrow_parquet), {}, arrow),
        ("genailog validate, JSONL", [GENAILOG, "validate", str(jsonl), "--format", "json"],
         {"GENAILOG_CACHE_DIR": FRESH}, jsonl_duck),
    ]
    if naive:
        rows.append(("json.loads loop, JSONL", [PYTHON, "-c", _NAIVE, str(jsonl)], {},
                     jsonl_duck))
    return rows


Runs = dict[str, list[tuple[float, float, float, float]]]


def run_alternating(rows: list[Contender], rounds: int) -> Runs:
    """Every contender once per round, each in its own process: (wall s, peak MB, CPU s,
    1-minute load average before the run) per run. Each round starts one contender later
    than the round before (round 2 runs the second row first, the first row last), so no
    contender always runs right after the same one."""
    seen: Runs = {name: [] for name, *_ in rows}
    for round_ in range(rounds):
        start = round_ % len(rows)
        for name, argv, env, _ in rows[start:] + rows[:start]:
            fresh = tempfile.mkdtemp(prefix="genailog-bench-")
            load = os.getloadavg()[0]
            try:
                wall, mb, cpu, _ = measure(argv, {k: fresh if v == FRESH else v
                                                  for k, v in env.items()})
            finally:
                shutil.rmtree(fresh, ignore_errors=True)
            seen[name].append((wall, mb, cpu, load))
            print(f"round {round_ + 1}: {name}: {wall:.2f} s, CPU {cpu:.2f} s, {mb:.0f} MB, "
                  f"load {load:.1f}", file=sys.stderr)
    return seen


def median_interval(values: list[float], level: float = 0.95,
                    resamples: int = 4000) -> tuple[float, float]:
    """A percentile-bootstrap interval for the median of ``values`` (the rounds resampled
    with replacement; seeded, so a table is reproducible from its rounds)."""
    draw = random.Random(0)
    medians = sorted(statistics.median(draw.choices(values, k=len(values)))
                     for _ in range(resamples))
    tail = int(resamples * (1 - level) / 2)
    return medians[tail], medians[resamples - 1 - tail]


def print_table(rows: list[Contender], seen: Runs, n: int) -> None:
    def median(name: str, index: int) -> float:
        return statistics.median(run[index] for run in seen[name])

    print("| contender | wall s (median) | CPU s | peak MB | / DuckDB time | / DuckDB CPU | "
          "/ DuckDB memory | time ratio per round | round ratio: median [95% CI] | "
          "records/s | load 1-min per round |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |")
    for name, _, _, against in rows:
        wall, mb, cpu = median(name, 0), median(name, 1), median(name, 2)
        base = against or name
        loads = ", ".join(f"{run[3]:.1f}" for run in seen[name])
        ratios = [ours[0] / theirs[0]
                  for ours, theirs in zip(seen[name], seen[base], strict=True)]
        low, high = median_interval(ratios)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {mb:.0f} | {wall / median(base, 0):.2f}x | "
              f"{cpu / median(base, 2):.2f}x | {mb / median(base, 1):.2f}x | "
              f"{', '.join(f'{r:.2f}' for r in ratios)} | "
              f"{statistics.median(ratios):.2f} [{low:.2f}, {high:.2f}] | "
              f"{n / wall / 1000:.0f}k | {loads} |")


def big_check(jsonl: Path, parquet: Path, n: int, big: int, cap_mb: float) -> None:
    """Repeat the records to ``big`` and see whether peak memory grows with the input."""
    big_jsonl = DATA / f"summarize-{big}-repeated.jsonl"
    big_parquet = DATA / f"summarize-{big}-repeated.parquet"
    if not big_jsonl.exists():
        with big_jsonl.open("wb") as out:
            for _ in range(big // n):
                with jsonl.open("rb") as src:
                    while chunk := src.read(1 << 24):
                        out.write(chunk)
    if not big_parquet.exists():
        import polars as pl

        pl.concat([pl.scan_parquet(parquet)] * (big // n)).sink_parquet(big_parquet)
    no_cache = {"GENAILOG_NO_CACHE": "1"}
    for label, path in (("JSONL", big_jsonl), ("Parquet", big_parquet)):
        cli = [GENAILOG, "summarize", str(path), "--by", "model", "--format", "json"]
        for name, argv, env in (
            ("genailog summarize (no cache)", cli, no_cache),
            ("polars lazy scan + genailog aggregation", [PYTHON, "-c", _LAZY, str(path)], {}),
        ):
            wall, mb, _, stdout = measure(argv, env, cap_mb=cap_mb)
            if stdout == "capped":
                print(f"{big:,} records ({label}), {name}: killed at the {cap_mb:.0f} MB RSS cap")
            else:
                print(f"{big:,} records ({label}), {name}: {wall:.1f} s, peak {mb:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds over every contender")
    parser.add_argument("--naive", action="store_true", help="add the json.loads loop (slow)")
    parser.add_argument("--cap-mb", type=float, default=6000, help="RSS cap for --big runs")
    parser.add_argument("--only-big", action="store_true", help="skip the 1M comparison")
    parser.add_argument("--big", type=int, default=0, help="also check N records (e.g. 10000000)")
    parser.add_argument("--parquet-only", action="store_true",
                        help="only the Parquet rows (DuckDB's and genailog's, three files)")
    args = parser.parse_args()
    jsonl, parquet = ensure_data(args.n)
    if args.only_big:
        big_check(jsonl, parquet, args.n, args.big, args.cap_mb)
        return 0
    print(f"{args.n:,} records: {jsonl.stat().st_size / 1e6:,.0f} MB JSONL, "
          f"{parquet.stat().st_size / 1e6:,.0f} MB Parquet\n")
    warm = tempfile.mkdtemp(prefix="genailog-bench-warm-")
    try:
        rows = contenders(jsonl, parquet, _models(parquet), args.naive, warm)
        if args.parquet_only:
            rows = [row for row in rows if "Parquet" in row[0]]
        for name, argv, env, _ in rows:
            if "warm cache" in name:  # fills the warm row's cache
                measure(argv, env)
            elif "Parquet" in name:  # untimed: the file in the page cache, bytecode written
                measure(argv, env)
        seen = run_alternating(rows, args.repeat)
    finally:
        shutil.rmtree(warm, ignore_errors=True)
    print_table(rows, seen, args.n)
    if args.big:
        big_check(jsonl, parquet, args.n, args.big, args.cap_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
