"""Benchmark ``genailog drift`` and measure its false-alarm rate.

Usage: python bench/bench_drift.py [--n 1000000] [--days 30] [--false-alarms SEEDS]

Timing (each contender a child process on the same Parquet file, in the same run; wall
time and peak RSS from ``/usr/bin/time``):
  * ``genailog drift`` with default features, text drift on (2,000 sampled rows per window);
  * numeric PSI only, genailog against the same PSI in DuckDB SQL (ratio genailog / DuckDB,
    and the largest difference between their scores as a check that both compute the same);
  * prompt text drift on the first few windows, sampled (default) against whole windows
    (the naive approach), to show what sampling buys.
``--false-alarms S`` runs detect_drift in process on S stationary and S changed synthetic
logs (28 daily windows, 800 records a day), and on S stationary weeks of ``genailog
sample`` data, and counts alarms. Data lives in bench/data/
(git-ignored) and is generated when missing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # drift_synthetic: a test-only generator
DATA = ROOT / "bench" / "data"
PYTHON = sys.executable
GENAILOG = str(Path(PYTHON).with_name("genailog"))
NUMERIC = ("latency_ms", "input_tokens", "output_tokens", "cost_usd")

_DUCKDB_PSI = """
import json, sys, duckdb
path, features = sys.argv[1], sys.argv[2].split(",")
con = duckdb.connect()
out = {}
for f in features:
    rows = con.execute(f'''
    WITH t AS (SELECT date_trunc('day', timestamp) AS w, CAST({f} AS DOUBLE) AS x
               FROM read_parquet('{path}') WHERE {f} IS NOT NULL AND isfinite({f})),
    first AS (SELECT min(w) AS w0 FROM t),
    e AS (SELECT list_distinct(quantile_cont(x, [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9])) AS edges
          FROM t, first WHERE w = w0),
    b AS (SELECT w, len(list_filter(e.edges, lambda q: q < x)) AS bin FROM t, e),
    c AS (SELECT w, bin, count(*) AS n FROM b GROUP BY ALL),
    grid AS (SELECT DISTINCT c1.w, c2.bin FROM c c1, c c2),
    p AS (SELECT g.w, g.bin, coalesce(n, 0) / sum(coalesce(n, 0)) OVER (PARTITION BY g.w) AS s
          FROM grid g LEFT JOIN c USING (w, bin)),
    q AS (SELECT w, bin, CASE WHEN s = 0 THEN 1e-4 ELSE s END AS s FROM p),
    r AS (SELECT bin, s AS rs FROM q, first WHERE w = w0)
    SELECT strftime(w, '%Y-%m-%d'), sum((s - rs) * ln(s / rs)) FROM q JOIN r USING (bin), first
    WHERE w <> w0 GROUP BY w ORDER BY w''').fetchall()
    out[f] = {day: psi for day, psi in rows}
print(json.dumps(out))
"""


def _timed(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and stdout of a child process (genailog may exit 1).

    CPU seconds (user + system) go to stderr too: on a shared, loaded machine they say more
    about the work done than wall time does.
    """
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", *args], capture_output=True,
                          text=True, check=False)
    if proc.returncode not in ((0, 1) if args[0] == GENAILOG else (0,)):
        raise SystemExit(f"{args[:2]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    wall, rss, user, system = proc.stderr.strip().splitlines()[-1].split()
    label = " ".join(args[1:4]) if args[0] == GENAILOG else "duckdb"
    print(f"  [{label} ...] cpu {float(user) + float(system):.1f} s", file=sys.stderr)
    return float(wall), int(rss) / 1024, proc.stdout


def _data(n: int, days: int) -> Path:
    path = DATA / f"drift_{n}_{days}d.parquet"
    if not path.exists():
        from drift_synthetic import synthetic_logs

        DATA.mkdir(parents=True, exist_ok=True)
        per_day = -(-n // days)
        synthetic_logs(days=days, per_day=per_day, change_day=days * 2 // 3,
                       seed=1).write_parquet(path)
    return path


def _genailog_psi(out: str) -> dict[str, dict[str, float]]:
    data = json.loads(out)
    return {name: {w["start"][:10]: next(f["score"] for f in w["features"]
                                         if f["feature"] == name)
                   for w in data["windows"]} for name in data["settings"]["methods"]}


def bench_full(path: Path) -> None:
    wall, rss, out = _timed([GENAILOG, "drift", str(path), "--format", "json"])
    summary = json.loads(out)["summary"]
    print(f"genailog drift, defaults, text on: {wall:.1f} s wall, {rss:,.0f} MB peak; "
          f"{summary['drifted']} of {summary['judged']} windows drifted")


def bench_numeric(path: Path) -> None:
    features = ",".join(NUMERIC)
    g_wall, g_rss, g_out = _timed([GENAILOG, "drift", str(path), "--features", features,
                                   "--format", "json"])
    d_wall, d_rss, d_out = _timed([PYTHON, "-c", _DUCKDB_PSI, str(path), features])
    ours, theirs = _genailog_psi(g_out), json.loads(d_out)
    diff = max(abs(ours[f][day] - theirs[f][day]) for f in NUMERIC for day in theirs[f])
    print(f"numeric PSI ({features}): genailog {g_wall:.1f} s / {g_rss:,.0f} MB, "
          f"DuckDB {d_wall:.1f} s / {d_rss:,.0f} MB, ratio {g_wall / d_wall:.2f}; "
          f"max |PSI difference| {diff:.2e}")


def bench_text(path: Path, windows: int = 3) -> None:
    until = ["--until", f"2026-01-{5 + windows + 1:02d}"]
    base = [GENAILOG, "drift", str(path), "--features", "prompt", *until, "--format", "json"]
    s_wall, s_rss, _ = _timed(base)
    f_wall, f_rss, _ = _timed([*base, "--sample-size", "1000000"])
    print(f"prompt text drift, {windows} windows: sampled (2,000/window) {s_wall:.1f} s / "
          f"{s_rss:,.0f} MB, whole windows {f_wall:.1f} s / {f_rss:,.0f} MB, "
          f"ratio {s_wall / f_wall:.2f}")


def false_alarms(seeds: int) -> None:
    """Alarms on stationary logs and on logs changed on day 14, both synthetic, 28 days."""
    from drift_synthetic import synthetic_logs

    from genailog.analysis.drift import detect_drift

    runs_alarmed = windows_alarmed = windows = 0
    missed = pre_alarms = post = 0
    for seed in range(seeds):
        quiet = detect_drift(synthetic_logs(seed=1000 + seed))
        alarmed = sum(w.drifted for w in quiet.windows)
        runs_alarmed += alarmed > 0
        windows_alarmed += alarmed
        windows += len(quiet.windows)
        changed = detect_drift(synthetic_logs(seed=2000 + seed, change_day=14))
        pre_alarms += sum(w.drifted for w in changed.windows[:13])
        post += len(changed.windows[13:])
        missed += sum(not w.drifted or not {"latency_ms", "prompt_length", "prompt"} <= set(
            w.drifted_features) for w in changed.windows[13:])
    print(f"synthetic stationary (28 days x 800): {runs_alarmed} of {seeds} runs alarmed "
          f"(exit 1); {windows_alarmed} of {windows} windows flagged")
    print(f"synthetic changed on day 14: {post - missed} of {post} post-change windows flagged "
          f"with latency_ms, prompt_length and prompt; {pre_alarms} false alarms in "
          f"{13 * seeds} pre-change windows")


def sample_false_alarms(seeds: int) -> None:
    """Alarms on the first, stationary week of ``genailog sample`` data: templated texts,
    sessions and several apps, i.e. less independent records than synthetic_logs."""
    from genailog.analysis.drift import detect_drift
    from genailog.sample import generate_sample, sample_frame

    runs_alarmed = windows_alarmed = windows = 0
    features: dict[str, int] = {}
    for seed in range(seeds):
        result = detect_drift(sample_frame(list(generate_sample(7 * 1500, seed, days=7))))
        alarmed = [w for w in result.windows if w.drifted]
        runs_alarmed += bool(alarmed)
        windows_alarmed += len(alarmed)
        windows += len(result.windows)
        for window in alarmed:
            for name in window.drifted_features:
                features[name] = features.get(name, 0) + 1
    print(f"genailog sample, stationary week (7 days x 1500): {runs_alarmed} of {seeds} runs "
          f"alarmed; {windows_alarmed} of {windows} windows flagged {features or ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--false-alarms", type=int, default=0, metavar="SEEDS")
    args = parser.parse_args(argv)
    if args.false_alarms:
        false_alarms(args.false_alarms)
        sample_false_alarms(args.false_alarms)
        return 0
    path = _data(args.n, args.days)
    print(f"{args.n:,} records, {args.days} daily windows: {path.name}")
    bench_full(path)
    bench_numeric(path)
    bench_text(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
