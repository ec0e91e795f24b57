"""What partition pruning saves, locally and from object storage (issue 19).

24 hourly partitions (``date=2026-11-29/hour=HH/part-0.jsonl``, ``--records`` each) are
written to a local folder and uploaded to moto's S3 server on 127.0.0.1. Each contender
runs ``genailog summarize --by model --format json`` in its own process, alternating, and
the wall time is the median of ``--repeat`` runs:

* local, every file / local, ``--since`` one hour (23 of 24 files skipped);
* s3, every object / s3, ``--since`` one hour;
* DuckDB's ``read_json_auto`` over the local folder with ``hive_partitioning`` and the
  same hour in ``WHERE`` (its own partition pruning), for scale.

The answers are checked equal (requests and input tokens of the hour) before timing.
The machine's load average is printed with the figures: other work on it slows every row.

Usage: python bench/bench_storage.py [--records 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HOUR = "2026-11-29T13:00:00Z"
UNTIL = "2026-11-29T14:00:00Z"


def write_partitions(root: Path, records: int) -> None:
    rng = random.Random(19)
    for hour in range(24):
        folder = root / "date=2026-11-29" / f"hour={hour:02d}"
        folder.mkdir(parents=True)
        with open(folder / "part-0.jsonl", "w") as out:
            for i in range(records):
                second = i * 3600 // records
                out.write(json.dumps({
                    "timestamp": f"2026-11-29T{hour:02d}:{second // 60:02d}:{second % 60:02d}Z",
                    "model": rng.choice(("gpt-4.1-mini", "claude-sonnet-4", "gpt-4.1")),
                    "input_tokens": rng.randint(100, 2000), "output_tokens": rng.randint(10, 500),
                    "latency_ms": rng.randint(200, 5000), "prompt": "x" * rng.randint(50, 400),
                }) + "\n")


def start_s3(root: Path) -> tuple[Any, str]:
    import boto3
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app),
                         threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    client.create_bucket(Bucket="bench-logs")
    for path in sorted(root.rglob("*.jsonl")):
        client.upload_file(str(path), "bench-logs", f"prod/{path.relative_to(root)}")
    return server, url


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="genailog-bench-storage-"))
    local = scratch / "logs"
    write_partitions(local, options.records)
    server, url = start_s3(local)
    env = dict(os.environ, GENAILOG_NO_CACHE="1", AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL_S3=url)
    genailog = [sys.executable, "-m", "genailog", "summarize", "--by", "model",
                "--format", "json"]
    hour = ["--since", HOUR, "--until", UNTIL]
    duckdb_sql = (f"SELECT count(*), sum(input_tokens) FROM read_json_auto('{local}/**/*.jsonl',"
                  " hive_partitioning=true) WHERE hour = 13")
    contenders = {
        "local, every file (24)": [*genailog, str(local)],
        "local, --since one hour (1 of 24)": [*genailog, str(local), *hour],
        "s3, every object (24)": [*genailog, "s3://bench-logs/prod/"],
        "s3, --since one hour (1 of 24)": [*genailog, "s3://bench-logs/prod/", *hour],
        "duckdb, hive WHERE hour = 13": [sys.executable, "-c",
                                          f"import duckdb; print(duckdb.sql({duckdb_sql!r})"
                                          ".fetchall())"],
    }
    _, local_hour = run(contenders["local, --since one hour (1 of 24)"], env)
    _, s3_hour = run(contenders["s3, --since one hour (1 of 24)"], env)
    totals = [json.loads(text)["total"] for text in (local_hour, s3_hour)]
    assert totals[0] == totals[1], "s3 and local answers differ"
    times: dict[str, list[float]] = {name: [] for name in contenders}
    loads = [os.getloadavg()[0]]
    for _ in range(options.repeat):
        for name, args in contenders.items():
            times[name].append(run(args, env)[0])
        loads.append(os.getloadavg()[0])
    server.shutdown()
    size = sum(p.stat().st_size for p in local.rglob("*.jsonl")) / 1e6
    print(f"{24 * options.records:,} records in 24 files, {size:.0f} MB of JSONL; "
          f"requests in the hour: {totals[0]['requests']:,}; load average "
          f"{min(loads):.1f}-{max(loads):.1f} (2 cores)")
    print("| contender | median s | runs |")
    print("| --- | --- | --- |")
    for name, runs in times.items():
        print(f"| {name} | {statistics.median(runs):.2f} | "
              f"{', '.join(f'{r:.2f}' for r in runs)} |")


if __name__ == "__main__":
    main()
