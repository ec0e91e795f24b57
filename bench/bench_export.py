"""Benchmark: ``export-dataset --redact`` on 1M records, against the naive approach and DuckDB.

Usage: python bench/bench_export.py [--records 1000000] [--pii-every 20] [--repeat 3]

The input is the shared generated sample (bench/make_data.py) with PII and secrets
injected into the prompt and response of every ``--pii-every``-th record (5% by default).
Timed, on the same file in the same run, each the median of ``--repeat`` runs:

* ``genailog export-dataset --redact`` end to end, as a user runs it (a new process: start,
  validate, redact, write, hash input and output, manifest), and the same without
  --redact; then with ``--where`` (a filter: the table path, then a second read of the
  lines), with genailog's read cache off and warm;
* the naive approach: ``json.loads`` of each line and the same exact detectors on every
  text field in Python, with no vectorized prefilter (one process; a slice, extrapolated);
* DuckDB: read_json_auto + regexp_replace of emails/cards/phones + COPY to JSON, a
  reference for raw speed that does no validation, checksums, numbering, secrets or
  metadata.
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
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"

PII = (
    "Contact jane.doe{i}@example.com or +44 20 7946 {i4}.",
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.",
    "My SSN is 123-45-{i4} and my IP 10.0.{i3}.7.",
    "key sk-proj-abc123DEF456ghi789JKL012mno{i} and AKIAIOSFODNN7EXAMPL{i1}",
    "call (415) 555-{i4} tomorrow",
)


def base_file(n: int) -> Path:
    path = DATA / f"records-{n}-seed1.jsonl"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from make_data import write

        write(n, path, None, seed=1, days=14)
    return path


def pii_file(n: int, every: int) -> Path:
    """The base file with one PII sentence added to prompt and response of every nth record."""
    path = DATA / f"export-{n}-pii{every}.jsonl"
    if path.exists():
        return path
    with base_file(n).open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i % every == 0:
                text = PII[(i // every) % len(PII)].format(
                    i=i, i4=f"{i % 10000:04d}", i3=i % 250, i1=i % 10)
                line = line.replace('"prompt":"', f'"prompt":"{text} ', 1)
                line = line.replace('"response":"', f'"response":"Noted: {text} ', 1)
            dst.write(line)
    return path


def warm(path: Path) -> None:
    """Read the file once, so the first timed run does not pay for a cold page cache."""
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass


def median_time(label: str, func: Callable[[], object], records: int, repeat: int,
                out: Path | None = None) -> float:
    """The median time of ``func``; ``out`` is removed before each run (untimed): replacing
    a 1 GB file makes the kernel drop the old one's pages, up to a second of its own."""
    times = []
    for _ in range(repeat):
        if out is not None:
            out.unlink(missing_ok=True)
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    spread = f"{min(times):.2f}-{max(times):.2f}"
    print(f"{label:<52} {seconds:7.2f} s ({spread})  {records / seconds:>10,.0f} records/s",
          flush=True)
    return seconds


def cli(args: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "genailog", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"genailog {' '.join(args)} failed: {done.stderr}")


def bench_naive(path: Path, records: int, slice_rows: int = 50_000) -> float:
    """json.loads of each line and every exact detector on every text field, no prefilter."""
    from genailog.redaction import RecordRedactor

    with path.open("rb") as handle:
        lines = [handle.readline() for _ in range(slice_rows)]
    counts: Counter[str] = Counter()
    fields = ("prompt", "system_prompt", "response", "metadata", "messages")

    def run() -> None:
        for line in lines:
            record = json.loads(line)
            redactor = RecordRedactor(counts)
            for name in fields:
                if record.get(name) is not None:
                    record[name] = redactor.walk(record[name])
            json.dumps(record, ensure_ascii=False)

    seconds = median_time(f"naive Python, {slice_rows:,} records", run, slice_rows, 1)
    return seconds * records / slice_rows


def bench_duckdb(path: Path, out: Path, records: int, repeat: int) -> float:
    import duckdb

    email = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    card = r"\b(?:\d[ -]?){12,18}\d\b"
    phone = r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"

    def scrub(col: str) -> str:
        expr = col
        for pattern, token in ((email, "<EMAIL>"), (card, "<CREDIT_CARD>"), (phone, "<PHONE>")):
            expr = f"regexp_replace({expr}, '{pattern}', '{token}', 'g')"
        return f"{expr} AS {col}"

    sql = (f"COPY (SELECT * REPLACE ({scrub('prompt')}, {scrub('response')}) "
           f"FROM read_json_auto('{path}', maximum_object_size=1048576)) TO '{out}' (FORMAT JSON)")
    return median_time("duckdb regexp_replace (3 patterns, no checks)",
                       lambda: duckdb.connect().execute(sql), records, repeat, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--pii-every", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = pii_file(args.records, args.pii_every)
    n, repeat = args.records, args.repeat
    print(f"input: {path.name}, {path.stat().st_size / 1e6:.0f} MB, {n:,} records, PII in "
          f"every {args.pii_every}th record; {os.cpu_count()} cores; median of {repeat}")
    warm(path)
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        out = Path(tmp)
        base = ["export-dataset", str(path), "--overwrite", "--out"]
        redacted = median_time("genailog export-dataset --redact (CLI, end to end)",
                               lambda: cli([*base, str(out / "r.jsonl"), "--redact"]), n, repeat,
                               out / "r.jsonl")
        manifest = json.loads((out / "r.manifest.json").read_text(encoding="utf-8"))
        redaction = manifest["redaction"]
        print("  redaction counts:", {k: v for k, v in redaction["counts"].items() if v},
              f"records changed {redaction['records_changed']:,}")
        median_time("genailog export-dataset (no redaction)",
                    lambda: cli([*base, str(out / "p.jsonl")]), n, repeat, out / "p.jsonl")
        where = ["--redact", "--where", "latency_ms >= 0"]
        median_time("  --redact --where, read cache off (table + 2nd read)",
                    lambda: cli([*base, str(out / "w.jsonl"), *where],
                                {"GENAILOG_NO_CACHE": "1"}), n, 1, out / "w.jsonl")
        cache = {"GENAILOG_CACHE_DIR": str(out / "cache")}
        cli([*base, str(out / "w.jsonl"), *where], cache)  # fills the cache
        median_time("  --redact --where, read cache warm",
                    lambda: cli([*base, str(out / "w.jsonl"), *where], cache), n, repeat,
                    out / "w.jsonl")
        naive = bench_naive(path, n)
        duck = bench_duckdb(path, out / "duck.json", n, repeat)
    print(f"naive Python extrapolated to {n:,}: {naive:.1f} s, {naive / redacted:.1f}x genailog")
    print(f"duckdb / genailog time: {duck / redacted:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
