"""Benchmark the format adapters: ``read_logs`` on LiteLLM and OTLP files, against DuckDB
and a naive Python loop computing the same totals.

Usage: python bench/bench_formats.py [--records N] [--runs R]

Builds N-record files in bench/data/formats/ by repeating the real fixtures
(tests/fixtures/formats/logs/): LiteLLM payload lines, and OTLP traces with 100 spans per
export request line. Times, best of R, for the same files in the same run:
- genailog: ``read_logs(...).frame`` collected, then the token sum;
- the adapter alone (``formats.load_many``), to show its share of that time;
- DuckDB (LiteLLM only): ``read_json_auto`` with the same sum;
- naive: ``json.loads`` per line and a Python loop summing the same field.
Prints records/s and the ratios, and checks the three agree on the totals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "formats" / "logs"
DATA = ROOT / "bench" / "data" / "formats"
sys.path.insert(0, str(ROOT))

from genailog.ingest import read_logs  # noqa: E402
from genailog.ingest.formats import load_many  # noqa: E402


def _litellm(records: int) -> Path:
    lines = (FIXTURES / "litellm.jsonl").read_text().splitlines()
    path = DATA / f"litellm_{records}.jsonl"
    with path.open("w") as out:
        for i in range(records):
            out.write(lines[i % len(lines)] + "\n")
    return path


def _otlp(records: int) -> Path:
    request = json.loads((FIXTURES / "otel_genai.traces.json").read_text())
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    path = DATA / f"otlp_{records}.traces.json"
    with path.open("w") as out:
        for start in range(0, records, 100):
            batch = [dict(spans[i % len(spans)], spanId=f"{i:016x}")
                     for i in range(start, min(start + 100, records))]
            request["resourceSpans"][0]["scopeSpans"][0]["spans"] = batch
            out.write(json.dumps(request) + "\n")
    return path


def _genailog(path: Path) -> tuple[int, int]:
    frame = read_logs([str(path)]).frame.collect()
    return frame.height, int(frame["input_tokens"].sum())


def _adapter_only(fmt: str) -> Callable[[Path], tuple[int, int]]:
    """The adapter's share: load_many alone, before validation and typing."""
    def run(path: Path) -> tuple[int, int]:
        records = [r for _, _, r in load_many([(str(path), path.read_bytes())], fmt)]
        return len(records), sum(r.get("input_tokens", 0) for r in records)
    return run


def _duckdb_litellm(path: Path) -> tuple[int, int]:
    import duckdb

    rows = duckdb.sql(f"select count(*), sum(prompt_tokens) from read_json_auto('{path}')"
                      ).fetchall()
    return int(rows[0][0]), int(rows[0][1])


def _naive_litellm(path: Path) -> tuple[int, int]:
    count = tokens = 0
    with path.open("rb") as handle:
        for line in handle:
            payload = json.loads(line)
            count += 1
            tokens += int(payload.get("prompt_tokens") or 0)
    return count, tokens


def _naive_otlp(path: Path) -> tuple[int, int]:
    count = tokens = 0
    with path.open("rb") as handle:
        for line in handle:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        attrs = {a["key"]: a["value"] for a in span["attributes"]}
                        count += 1
                        tokens += int(attrs.get("gen_ai.usage.input_tokens", {}).get(
                            "intValue", 0))
    return count, tokens


def _best(run: Callable[[Path], tuple[int, int]], path: Path, runs: int
          ) -> tuple[float, tuple[int, int]]:
    times, result = [], (0, 0)
    for _ in range(runs):
        start = time.perf_counter()
        result = run(path)
        times.append(time.perf_counter() - start)
    return min(times), result


def _report(name: str, path: Path, runs: int, others: dict[str, Any]) -> None:
    ours, totals = _best(_genailog, path, runs)
    mb = path.stat().st_size / 1e6
    print(f"{name}: {totals[0]} records, {mb:.1f} MB; genailog {ours:.2f} s "
          f"({totals[0] / ours:,.0f} records/s)")
    for label, run in others.items():
        theirs, their_totals = _best(run, path, runs)
        assert their_totals == totals, (label, their_totals, totals)
        print(f"  {label}: {theirs:.2f} s; genailog / {label} = {ours / theirs:.2f}x time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    _report("litellm", _litellm(opts.records), opts.runs,
            {"adapter alone": _adapter_only("litellm"), "duckdb": _duckdb_litellm,
             "naive": _naive_litellm})
    _report("otlp", _otlp(opts.records), opts.runs,
            {"adapter alone": _adapter_only("otlp"), "naive": _naive_otlp})


if __name__ == "__main__":
    main()
