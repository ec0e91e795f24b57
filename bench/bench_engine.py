"""Benchmark ``--engine dask``: wall time against the number of workers and partitions.

Usage: python bench/bench_engine.py [--records 240000] [--partitions 6,24,96]
                                    [--workers 1,2,3] [--repeats 2]

Data: ``genailog sample``'s generator, split into N hive partitions (``part=K/``, one
JSONL file each, in time order), generated into bench/data/engine-* when missing.
Contenders, each a child process, alternating round-robin within every repeat:

* ``single``: ``genailog summarize DIR --by model`` on one machine (the default path);
* ``dask-W``: the same with ``--engine dask`` on a local cluster of W worker processes
  (W >= cores oversubscribes: the machine's cores are printed).

Reported: median wall seconds (cluster start included, which is what a user waits for),
the cluster start alone, and whether every answer equals the single-machine one. The load
average is printed before and after: the figures mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
PYTHON = sys.executable

_START_ONLY = """
import logging, sys, time
if __name__ == "__main__":
    t = time.perf_counter()
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=int(sys.argv[1]), threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      silence_logs=logging.ERROR) as c, Client(c) as client:
        client.run(lambda: __import__("genailog.engine.tasks"))  # workers ready to work
        print(time.perf_counter() - t)
"""


def make_data(records: int, partitions: int) -> Path:
    """``records`` generated records in ``partitions`` folders of equal time spans."""
    from genailog.sample import generate_sample

    out = DATA / f"engine-{records}-p{partitions}"
    if (out / "done").exists():
        return out
    encoder = msgspec.json.Encoder()
    handles = {}
    try:
        for i, record in enumerate(generate_sample(records, 11, days=28)):
            k = i * partitions // records
            if k not in handles:
                path = out / f"part={k:03d}" / "part-0.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                handles[k] = path.open("wb")
            handles[k].write(encoder.encode(record) + b"\n")
    finally:
        for handle in handles.values():
            handle.close()
    (out / "done").write_text("")
    return out


def run(contender: str, data: Path) -> tuple[float, dict[str, object]]:
    args = [PYTHON, "-m", "genailog", "summarize", str(data), "--by", "model", "--format",
            "json"]
    if contender != "single":
        args += ["--engine", "dask"]
    env = dict(os.environ)
    if contender != "single":
        env["GENAILOG_ENGINE_WORKERS"] = contender.removeprefix("dask-")
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{contender} failed ({done.returncode}): {done.stderr[-500:]}")
    data_out = json.loads(done.stdout)
    return seconds, {"total": data_out["total"], "groups": data_out["groups"]}


def start_only(workers: int) -> float:
    done = subprocess.run([PYTHON, "-c", _START_ONLY, str(workers)], capture_output=True,
                          text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=240_000)
    parser.add_argument("--partitions", default="6,24,96")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    partitions = [int(p) for p in args.partitions.split(",")]
    contenders = ["single", *(f"dask-{w}" for w in args.workers.split(","))]
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()}")
    for workers in args.workers.split(","):
        starts = [start_only(int(workers)) for _ in range(args.repeats)]
        print(f"cluster start, {workers} worker(s): {statistics.median(starts):.2f} s")
    print(f"{'partitions':>10} " + " ".join(f"{c:>9}" for c in contenders) + "  same answer")
    for count in partitions:
        data = make_data(args.records, count)
        times: dict[str, list[float]] = {c: [] for c in contenders}
        answers: dict[str, dict[str, object]] = {}
        for _ in range(args.repeats):
            for contender in contenders:  # alternating, each in its own process
                seconds, answer = run(contender, data)
                times[contender].append(seconds)
                answers[contender] = answer
        same = all(_close(answers["single"], answers[c]) for c in contenders)
        print(f"{count:>10} " + " ".join(f"{statistics.median(times[c]):>8.2f}s"
                                         for c in contenders) + f"  {same}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
