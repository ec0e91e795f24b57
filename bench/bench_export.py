"""Benchmark: ``export-dataset --redact`` on 1M records, against the naive approach and DuckDB.

Usage: python bench/bench_export.py [--records 1000000] [--pii-every 20] [--cache]

Every run parses the JSONL (``GENAILOG_NO_CACHE=1``) unless ``--cache`` lets genailog's
columnar cache of large files serve the reads after the first one.

The input is the shared generated sample (bench/make_data.py) with PII and secrets
injected into the prompt and response of every ``--pii-every``-th record (5% by default).
Timed, on the same file in the same run:

* genailog export-dataset --redact end to end (read, redact, write canonical JSONL,
  hashes, manifest), and the export stage alone on logs already read, with and without
  --redact, in records/s;
* the naive approach: the same exact detectors run on every text cell in Python, with no
  vectorized prefilter (measured on a slice, extrapolated);
* DuckDB: read_json_auto + regexp_replace of emails/cards/phones + COPY to JSON, a
  reference for raw speed that does no checksums, numbering, secrets or metadata.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
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


def timed(label: str, func: object, records: int) -> float:
    started = time.perf_counter()
    func()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:8.2f} s  {records / seconds:>12,.0f} records/s")
    return seconds


def bench_genailog(path: Path, out: Path, records: int) -> float:
    """End to end: read_logs, export with --redact, manifest."""
    from genailog.dataset.export import ExportOptions, export_dataset

    options = ExportOptions(out=out, redact=True, overwrite=True)
    return timed("genailog export-dataset --redact (end to end)",
                 lambda: export_dataset([str(path)], options), records)


def bench_stage(path: Path, out: Path, records: int) -> tuple[float, float]:
    """The export stage alone, on logs already read: without and with --redact."""
    from genailog.dataset.export import ExportOptions, export_frame
    from genailog.ingest import read_logs

    loaded: list[tuple[object, object]] = []

    def load() -> None:
        logs = read_logs([str(path)])
        loaded.append((logs.frame.collect(), logs.report))

    timed("  of which read_logs + collect (ingest)", load, records)
    frame, report = loaded[0]
    seconds = []
    result: list[object] = []
    for redact in (False, True):
        options = ExportOptions(out=out, redact=redact, overwrite=True)
        label = "export stage (read excluded)" + (" --redact" if redact else "")
        seconds.append(timed(label, lambda o=options: result.append(
            export_frame(frame, report, o)), records))  # type: ignore[arg-type]
    counts = result[-1].redaction.counts  # type: ignore[attr-defined]
    print("  redaction counts:", {k: v for k, v in counts.items() if v})
    return seconds[0], seconds[1]


def bench_naive(path: Path, records: int, slice_rows: int = 100_000) -> float:
    """Every text cell through the exact detectors in Python, no prefilter."""
    from genailog.dataset.redact import RecordRedactor
    from genailog.ingest import read_logs

    frame = read_logs([path]).frame.head(slice_rows).select(
        "prompt", "system_prompt", "response").collect()
    counts: Counter[str] = Counter()

    def run() -> None:
        for row in frame.iter_rows():
            redactor = RecordRedactor(counts)
            for cell in row:
                if cell is not None:
                    redactor.text(cell)

    seconds = timed(f"naive Python, {slice_rows:,} records", run, slice_rows)
    return seconds * records / slice_rows


def bench_duckdb(path: Path, out: Path, records: int) -> float:
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
    return timed("duckdb regexp_replace (3 patterns, no checks)",
                 lambda: duckdb.connect().execute(sql), records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--pii-every", type=int, default=20)
    parser.add_argument("--cache", action="store_true", help="allow genailog's read cache")
    args = parser.parse_args()
    if not args.cache:
        os.environ["GENAILOG_NO_CACHE"] = "1"
    path = pii_file(args.records, args.pii_every)
    print(f"input: {path.name}, {path.stat().st_size / 1e6:.0f} MB, {args.records:,} records, "
          f"PII in every {args.pii_every}th record; read cache "
          f"{'allowed' if args.cache else 'off (every run parses the JSONL)'}")
    warm(path)
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        out = Path(tmp)
        end_to_end = bench_genailog(path, out / "e2e.jsonl", args.records)
        plain, redacted = bench_stage(path, out / "stage.jsonl", args.records)
        naive = bench_naive(path, args.records)
        duck = bench_duckdb(path, out / "duck.json", args.records)
    print(f"redaction adds {redacted - plain:.2f} s to the export stage "
          f"({(redacted - plain) / args.records * 1e6:.2f} us/record)")
    print(f"naive Python redaction alone, extrapolated to {args.records:,}: {naive:.1f} s; "
          f"it is {naive / redacted:.1f}x the whole redacted export stage")
    print(f"duckdb / genailog time ratio: end to end {duck / end_to_end:.2f}, "
          f"export stage {duck / redacted:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
