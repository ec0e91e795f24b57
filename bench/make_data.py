"""Write N generated sample records to a JSONL file (and optionally a Parquet file), fast.

Usage: python bench/make_data.py N OUT.jsonl [--parquet OUT.parquet] [--seed S] [--days D]
       [--jobs J]

Records come from ``genailog.sample.generate_sample`` and are streamed to disk in
blocks made by ``--jobs`` worker processes, so memory stays flat; the same N, seed and
days always give the same bytes, whatever the number of jobs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from genailog.sample import BLOCK, generate_sample, sample_frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of records")
    parser.add_argument("out", type=Path, help="JSONL file to write")
    parser.add_argument("--parquet", type=Path, help="also write the records to this Parquet file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    write(args.n, args.out, args.parquet, args.seed, args.days, args.jobs)
    elapsed = time.perf_counter() - started
    print(f"wrote {args.n} records to {args.out}" + (f" and {args.parquet}" if args.parquet else "")
          + f" in {elapsed:.1f} s", file=sys.stderr)
    return 0


def write(n: int, out: Path, parquet: Path | None, seed: int, days: int, jobs: int = 2) -> None:
    """Stream ``n`` records to ``out`` (JSONL) and, when given, ``parquet``."""
    import pyarrow.parquet as pq

    tasks = [(n, seed, days, first, parquet is not None) for first in range(0, n, BLOCK)]
    writer: Any = None
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        for lines, table in _blocks(tasks, jobs):
            handle.write(lines)
            if table is not None:
                writer = writer or pq.ParquetWriter(parquet, table.schema)
                writer.write_table(table.cast(writer.schema))
    if writer is not None:
        writer.close()


def _blocks(tasks: list[tuple[int, int, int, int, bool]], jobs: int) -> Iterator[tuple[bytes, Any]]:
    if jobs <= 1:
        yield from map(_block, tasks)
        return
    with multiprocessing.Pool(jobs) as pool:
        yield from pool.imap(_block, tasks)


def _block(task: tuple[int, int, int, int, bool]) -> tuple[bytes, Any]:
    """One block of records as JSONL bytes, and as an Arrow table when asked."""
    n, seed, days, first, with_table = task
    records = list(generate_sample(n, seed, days=days, first=first, stop=first + BLOCK))
    table = sample_frame(records).to_arrow() if with_table else None
    return _ENCODER.encode_lines(records), table


_ENCODER = msgspec.json.Encoder()


if __name__ == "__main__":
    sys.exit(main())
