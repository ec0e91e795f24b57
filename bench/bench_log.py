"""Benchmark: genailog.log's cost on the request path, and its writer's throughput,
against plain ``logging`` writing the seed's record (``logging.info(json.dumps(record))``).

Usage: python bench/bench_log.py [--calls 50000] [--records 200000] [--repeat 3]

Each contender runs in its own process, the contenders alternating, ``--repeat`` rounds;
the figures are medians over rounds. Measured:

* latency added on the request path, per call (p50, p99, max of ``perf_counter_ns``
  around the logging call), for:
  - ``seed``: ``logging.info(json.dumps(record))`` to a FileHandler (the seed's way);
  - ``logger``: ``Logger.log(record)`` (queue only; encoding and writing in the thread);
  - ``logger+redact``: the same with ``redact=True`` (redaction in the writer's thread);
  - ``client``: an instrumented real ``openai.OpenAI`` client whose HTTP method is
    replaced by a stub returning a prepared ``ChatCompletion``, timed with and without
    ``instrument``: the difference is what genailog adds to a call;
  each twice: ``tight`` (calls back to back, the worst case for the writer thread's
  competition for the GIL) and ``paced`` (one call every 500 us, 2,000 calls/s).
* writer throughput: records/s from the first ``log`` to the file closed (every record on
  disk), with and without redaction, against ``logging.info(json.dumps(record))``:
  ``logger`` with a queue that holds the burst, ``logger-block`` with the default
  10,000-record queue and ``on_full="block"`` (the caller and the writer then take turns).
* ``import genailog.log`` time (a new interpreter, minus a bare interpreter's start).

The records are the seed's plus model, tokens and a 300-character prompt and response.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PROMPT = ("Summarise the following support ticket for the on-call engineer, keep the "
          "customer's words where they matter and list the steps already tried. ") * 2
RESPONSE = ("The customer reports that exports time out after the 2.3 upgrade; restarting "
            "the worker did not help and the error repeats every hour on the hour. ") * 2


def seed_record(i: int) -> dict[str, Any]:
    return {"timestamp": time.time(), "model": "gpt-4o-mini", "prompt": PROMPT[:300],
            "response": RESPONSE[:300], "latency": 0.8, "input_tokens": 412,
            "output_tokens": 96, "user_id": f"u{i % 100}", "session_id": f"s{i % 1000}"}


def _percentiles(ns: list[int]) -> dict[str, float]:
    ordered = sorted(ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000  # noqa: E731
    return {"p50_us": pick(0.50), "p99_us": pick(0.99), "max_us": ordered[-1] / 1000}


def _pace(mode: str, start: float, i: int) -> None:
    if mode == "paced":
        target = start + i * 0.0005
        while time.perf_counter() < target:
            pass


def run_latency(kind: str, mode: str, calls: int, folder: str) -> dict[str, Any]:
    import logging

    path = Path(folder) / f"{kind}.jsonl"
    if kind == "seed":
        logger = logging.getLogger("seed")
        logger.setLevel(logging.INFO)
        logger.addHandler(logging.FileHandler(path))
        logger.propagate = False
        call = lambda r: logger.info(json.dumps(r))  # noqa: E731
    else:
        from genailog.log import Logger

        glog = Logger(path, redact=kind == "logger+redact", queue_size=1_000_000)
        call = glog.log
    records = [seed_record(i) for i in range(calls)]
    times = []
    start = time.perf_counter()
    for i, record in enumerate(records):
        _pace(mode, start, i)
        t0 = time.perf_counter_ns()
        call(record)
        times.append(time.perf_counter_ns() - t0)
    return _percentiles(times[calls // 10:])  # the first 10% warm up


def _stub_client(instrumented: bool, folder: str) -> Any:
    import openai
    from openai.types.chat import ChatCompletion

    from genailog.log import Logger, instrument

    answer = ChatCompletion.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": RESPONSE[:300]}}],
        "usage": {"prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508,
                  "prompt_tokens_details": {"cached_tokens": 128}}})
    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")
    client.chat.completions.create = lambda **kwargs: answer  # type: ignore[method-assign]
    if instrumented:
        instrument(client, Logger(Path(folder) / "client.jsonl", queue_size=1_000_000))
    return client


def run_client(mode: str, calls: int, folder: str) -> dict[str, Any]:
    out = {}
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    for instrumented in (False, True):
        client = _stub_client(instrumented, folder)
        times = []
        start = time.perf_counter()
        for i in range(calls):
            _pace(mode, start, i)
            t0 = time.perf_counter_ns()
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            times.append(time.perf_counter_ns() - t0)
        out["instrumented" if instrumented else "bare"] = _percentiles(times[calls // 10:])
    return {f"{k}_added": out["instrumented"][k] - out["bare"][k] for k in out["bare"]} | {
        "bare": out["bare"], "instrumented": out["instrumented"]}


def run_throughput(kind: str, records: int, folder: str) -> dict[str, Any]:
    import logging

    path = Path(folder) / f"throughput-{kind}.jsonl"
    if kind == "logger+redact":  # about 100x slower: a slice keeps the run short
        records = max(1, records // 20)
    batch = [seed_record(i) for i in range(records)]
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "seed":
        logger = logging.getLogger("seed-throughput")
        handler = logging.FileHandler(path)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        for record in batch:
            logger.info(json.dumps(record))
        handler.close()
    else:
        from genailog.log import Logger

        # "logger": a queue that holds the whole burst; "logger-block": the default
        # 10,000-record queue, the caller waiting for room whenever it is full.
        queue = 10_000 if kind == "logger-block" else records
        with Logger(path, redact=kind == "logger+redact", queue_size=queue,
                    on_full="block") as glog:
            for record in batch:
                glog.log(record)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    lines = sum(1 for _ in path.open())
    assert lines == records, (kind, lines)
    # Per CPU-second too (all threads): on a shared machine the wall figure mostly
    # measures how much of a core the process was given.
    return {"seconds": round(seconds, 3), "records_per_s": round(records / seconds),
            "records_per_cpu_s": round(records / cpu)}


def run_import() -> dict[str, Any]:
    def wall(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        return time.perf_counter() - t0

    bare = statistics.median(wall("pass") for _ in range(5))
    with_log = statistics.median(wall("import genailog.log") for _ in range(5))
    return {"import_ms": round((with_log - bare) * 1000, 1)}


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=False,
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"{args} failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        what, *rest = args.child
        with tempfile.TemporaryDirectory() as folder:
            if what == "latency":
                result = run_latency(rest[0], rest[1], args.calls, folder)
            elif what == "client":
                result = run_client(rest[0], args.calls, folder)
            else:
                result = run_throughput(rest[0], args.records, folder)
        print(json.dumps(result))
        return
    print("load average at start", os.getloadavg(), flush=True)
    rounds: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.repeat):
        for mode in ("tight", "paced"):
            for kind in ("seed", "logger", "logger+redact"):
                rounds.setdefault(f"latency {kind} {mode}", []).append(
                    _child(["latency", kind, mode]))
            rounds.setdefault(f"client {mode}", []).append(_child(["client", mode]))
        for kind in ("seed", "logger", "logger-block", "logger+redact"):
            rounds.setdefault(f"throughput {kind}", []).append(_child(["throughput", kind]))
    for name, runs in rounds.items():
        keys = [k for k in runs[0] if isinstance(runs[0][k], int | float)]
        print(name, {k: round(statistics.median(r[k] for r in runs), 2) for k in keys},
              flush=True)
    print("import genailog.log", run_import())
    print("load average at end", os.getloadavg())


if __name__ == "__main__":
    main()
