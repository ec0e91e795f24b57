"""Benchmark ``genailog retrieval`` against DuckDB and a naive Python loop on the same file.

Usage: python bench/bench_retrieval.py [--records 1000000] [--repeat 3]

Records come from ``genailog sample``'s generator (bench/make_data.py; about 30% are RAG
calls with 1-5 documents, half of them objects with score, source, relevance label and
text), written once to bench/data/ as JSONL. Every contender runs in its own child
process (wall time and peak RSS from ``/usr/bin/time``), alternately, ``--repeat`` times;
medians are printed. Contenders:

- ``genailog retrieval FILE --format json``: the CLI end to end (read, parse the documents,
  retrievers, sources, per-document tests, ranking metrics, groundedness, output);
- ``DuckDB``: SQL over the same JSONL computing only per-document calls and hallucination
  rate and per-source score quartiles (no tests, ranking or groundedness), the floor of
  what a SQL engine needs for the counting part;
- ``naive Python``: ``json.loads`` per line and the same per-document counts in dicts.

It also checks that the per-document call counts of the three are equal.
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

OURS = """
import json, sys
data = json.load(sys.stdin)
print({d["id"]: d["retrieved"] for d in data["documents"]})
"""
DUCKDB = """
import sys, duckdb
con = duckdb.connect()
con.sql(f\"\"\"CREATE TABLE docs AS
  SELECT c.call, c.flag, CASE WHEN json_type(d) = 'VARCHAR' THEN d ->> '$'
                              ELSE d ->> '$.id' END AS id,
         TRY_CAST(d ->> '$.score' AS DOUBLE) AS score, d ->> '$.source' AS source
  FROM (SELECT row_number() OVER () AS call, hallucination_flag AS flag,
               unnest(CAST(retrieval_docs AS JSON[])) AS d
        FROM read_json('{sys.argv[1]}', format = 'newline_delimited',
                       columns = {{'retrieval_docs': 'JSON', 'hallucination_flag': 'BOOLEAN'}})
        WHERE retrieval_docs IS NOT NULL) c\"\"\")
per_doc = con.sql(\"\"\"SELECT id, count(DISTINCT call), avg(flag::INT)
  FROM (SELECT DISTINCT call, id, flag FROM docs WHERE id IS NOT NULL) GROUP BY id\"\"\").fetchall()
con.sql(\"\"\"SELECT source, quantile_cont(score, [0.25, 0.5, 0.75]) FROM docs
  GROUP BY source\"\"\").fetchall()
print({r[0]: r[1] for r in per_doc})
"""
NAIVE = """
import sys, json
calls, bad = {}, {}
for line in open(sys.argv[1]):
    record = json.loads(line)
    docs = record.get("retrieval_docs")
    if docs is None:
        continue
    ids = {d if isinstance(d, str) else d.get("id") for d in docs} - {None}
    for i in ids:
        calls[i] = calls.get(i, 0) + 1
        if record.get("hallucination_flag"):
            bad[i] = bad.get(i, 0) + 1
print(calls)
"""


def run(argv: list[str]) -> tuple[float, float, str]:
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], capture_output=True,
                          text=True, env=os.environ.copy(), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{proc.stderr[-2000:]}")
    wall, kb = proc.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, proc.stdout


def make(records: int) -> Path:
    path = DATA / f"sample_{records}.jsonl"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, str(ROOT / "bench" / "make_data.py"), str(records), str(path)],
                       check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = make(args.records)
    print(f"{args.records:,} records; JSONL {path.stat().st_size / 1e6:.0f} MB")
    contenders = {
        "genailog retrieval (CLI, JSONL)": [GENAILOG, "retrieval", str(path), "--format",
                                            "json"],
        "DuckDB per-document counts + quartiles": [PY, "-c", DUCKDB, str(path)],
        "naive Python per-document counts": [PY, "-c", NAIVE, str(path)],
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    outputs: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, argv in contenders.items():
            wall, mb, out = run(argv)
            times[name].append((wall, mb))
            outputs[name] = out
    ours = eval(subprocess.run([PY, "-c", OURS], input=outputs[  # noqa: S307 - our own output
        "genailog retrieval (CLI, JSONL)"], capture_output=True, text=True, check=True).stdout)
    duck = eval(outputs["DuckDB per-document counts + quartiles"])  # noqa: S307
    naive = eval(outputs["naive Python per-document counts"])  # noqa: S307
    print(f"per-document calls equal to DuckDB's and the naive loop's: "
          f"{ours == duck == naive} ({len(ours):,} documents)")
    for name, values in times.items():
        wall = statistics.median(v[0] for v in values)
        mb = statistics.median(v[1] for v in values)
        print(f"{name:42s} {wall:7.2f} s  {mb:7.0f} MB  (runs: "
              f"{', '.join(f'{v[0]:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
