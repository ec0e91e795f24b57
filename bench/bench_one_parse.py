"""Issue 14: where a cold JSONL read can go, measured against DuckDB on the same file.

Usage: python bench/bench_one_parse.py [--n 1000000] [--rounds 2] [--only "NAME|NAME"]
                                      [--baseline DIR]
       python bench/bench_one_parse.py --budget [--n 1000000]

Every contender runs in its own child process, in rounds that alternate the contenders;
wall time and peak RSS come from ``/usr/bin/time`` and the 1-minute load average is
recorded before each run (the machine is shared). Contenders:

* ``genailog summarize``, cold (a fresh cache folder each run) and ``genailog validate``;
* DuckDB's ``read_json`` + the same summary (bench_summarize.py's SQL);
* the parts a one-parse reader is made of, each over the whole file on two processes
  (32 MB ranges): the compiled twin's decode alone (what validating every field costs),
  the twin's decode and the checks of the parse-level list (the fast reader's verdicts,
  without typing), the twin then polars' NDJSON parse of every column (today's cold path
  without writing Parquet), a msgspec Struct of the ten fields summarize needs with
  every other field skipped (the issue's lower bound; it judges nothing), and polars'
  ``scan_ndjson`` with a ten-column schema (all threads).

``--budget`` instead times, in this process and on one core, each stage of a cold read of
one 16 MB chunk of the file (what each worker task holds): CPU seconds per 100,000
records, best of 9, the garbage collector off as in the reader; the last rows are
summarize's one-pass read (session 5: the scanner types only the 18 columns it uses).
The C scanner's rows and the whole-chunk rows with and without it show what the scanner
replaced (the twin's decode and the checks) on clean lines. It shows where a cold read
and ``validate`` spend their time, stage by stage, against DuckDB's whole run.

``--baseline DIR`` adds the two genailog commands run from another checkout (before and
after a change, alternating). Prints one Markdown table: median wall and peak RSS per
contender, and ratios to DuckDB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_summarize import (  # noqa: E402
    _DUCKDB,
    GENAILOG,
    PYTHON,
    _models,
    ensure_data,
    measure,
    price_rows,
)

_RANGES = """
import sys, os
from concurrent.futures import ProcessPoolExecutor
from genailog.ingest.sources import newline_cuts, read_range
PATH = sys.argv[1]

def ranges():
    return newline_cuts(PATH, os.path.getsize(PATH), 32 << 20)

def data(start, end):
    with open(PATH, 'rb') as handle:
        return read_range(handle, start, end)

def run(work):
    with ProcessPoolExecutor(2) as pool:
        total = sum(pool.map(work, *zip(*ranges())))
    print(total)
"""

_TWIN = _RANGES + """
import gc, io
import polars as pl
from genailog.ingest.jsonl import LOAD_SCHEMA, _decode_batch
PARSE = %(parse)s

def work(start, end):
    chunk = data(start, end)
    gc.disable()
    records, _ = _decode_batch(chunk, chunk.count(b'\\n'), (), lines=True)
    if PARSE:
        return pl.read_ndjson(io.BytesIO(chunk), schema=LOAD_SCHEMA).height
    return len(records)

if __name__ == '__main__':
    os.environ['POLARS_MAX_THREADS'] = '1'
    run(work)
"""

#: The fast reader's verdicts on a range, without typing: the records it accepts.
_CHECK_RANGE = _RANGES + """
from genailog.ingest.jsonl import ChunkReader
from genailog.ingest.sources import Chunk

def work(start, end):
    chunk = data(start, end)
    out = ChunkReader(PATH, build_frames=False).read(Chunk(chunk, 1, chunk.count(b'\\n'), True))
    return out.checked - len(out.invalid)
"""

_CHECKED = _CHECK_RANGE + """
if __name__ == '__main__':
    run(work)
"""

_HYBRID = _CHECK_RANGE + """
import duckdb, polars as pl
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS

def duck_type(name, dtype):
    if name in JSON_TEXT_COLUMNS or name == 'messages':
        return 'JSON'
    return {pl.String: 'VARCHAR', pl.Int64: 'BIGINT', pl.Float64: 'DOUBLE',
            pl.Boolean: 'BOOLEAN'}.get(dtype.base_type(), 'VARCHAR') if not isinstance(
            dtype, pl.List) else ('DOUBLE[]' if name == 'embedding' else 'VARCHAR[]')

if __name__ == '__main__':
    columns = {n: duck_type(n, d) for n, d in CANONICAL_DTYPES.items()}
    columns['timestamp'] = 'VARCHAR'
    columns['tenant'] = 'VARCHAR'
    with ProcessPoolExecutor(2) as pool:
        checked = [pool.submit(work, *r) for r in ranges()]
        con = duckdb.connect()
        table = con.sql(f"SELECT * FROM read_json('{PATH}', format='newline_delimited', "
                            f"columns={columns!r})").pl()
        frame = table
        print(frame.height, sum(f.result() for f in checked))
"""

_NEEDED = _RANGES + """
import msgspec

class Needed(msgspec.Struct):
    timestamp: str
    model: str
    status: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None

DECODER = msgspec.json.Decoder(Needed)

def work(start, end):
    return len(DECODER.decode_lines(data(start, end)))

if __name__ == '__main__':
    run(work)
"""

_SCAN = """
import sys, polars as pl
from genailog.schema.columns import CANONICAL_DTYPES
names = ['model', 'status', 'input_tokens', 'output_tokens', 'cached_input_tokens',
         'cache_write_tokens', 'cost_usd', 'latency_ms', 'ttft_ms']
schema = {'timestamp': pl.String, **{n: CANONICAL_DTYPES[n] for n in names}}
print(pl.scan_ndjson(sys.argv[1], schema=schema).select(pl.len()).collect().item())
"""


def contenders(jsonl: Path, models: list[str], baseline: str = "",
               ) -> dict[str, tuple[list[str], dict[str, str]]]:
    path = str(jsonl)
    script = {"twin decode only": _TWIN % {"parse": False},
              "twin decode + parse-level checks": _CHECKED,
              "twin decode + polars parse (all columns)": _TWIN % {"parse": True},
              "msgspec, 10 fields, rest skipped": _NEEDED,
              "checks on 2 processes + DuckDB typing all columns (prototype)": _HYBRID,
              "polars scan_ndjson, 10 columns": _SCAN}
    found: dict[str, tuple[list[str], dict[str, str]]] = {
        "genailog summarize, cold": (
            [GENAILOG, "summarize", path, "--by", "model", "--format", "json"], {}),
        "genailog validate": ([GENAILOG, "validate", path, "--format", "json"], {}),
        "DuckDB read_json + summary": (
            [PYTHON, "-c", _DUCKDB % {"prices": repr(price_rows(models))}, path, "read_json"],
            {}),
    }
    for name, code in script.items():
        found[name] = ([PYTHON, "-c", code, path], {})
    if baseline:  # the same commands from another checkout (e.g. `git worktree add`)
        # PYTHONSAFEPATH: `-m` would otherwise put the working directory (a checkout) first
        old = {"PYTHONPATH": baseline, "PYTHONSAFEPATH": "1"}
        found["genailog summarize, cold (baseline)"] = (
            [PYTHON, "-m", "genailog", *found["genailog summarize, cold"][0][1:]], old)
        found["genailog validate (baseline)"] = (
            [PYTHON, "-m", "genailog", *found["genailog validate"][0][1:]], old)
    return found


def budget(jsonl: Path, chunk_bytes: int = 16 << 20) -> None:
    """CPU seconds per 100,000 records of each stage of a cold read of one chunk."""
    import gc
    import io
    import time

    import msgspec
    import polars as pl

    from genailog.ingest import breaches
    from genailog.ingest.jsonl import LOAD_SCHEMA, ChunkReader, parse_timestamps
    from genailog.ingest.sources import Chunk
    from genailog.schema.duplicates import quoted_colons
    from genailog.schema.fastcheck import RFC3339_RUST, closed_record

    with jsonl.open("rb") as handle:
        data = handle.read(chunk_bytes)
    data = data[:data.rindex(b"\n") + 1]
    lines = data.count(b"\n")
    gc.disable()
    from genailog.ingest import scanner

    compiled = scanner.SCANNER

    def without_scanner(stage: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            scanner.SCANNER = None
            try:
                return stage()
            finally:
                scanner.SCANNER = compiled
        return run

    extras = ChunkReader("budget", build_frames=False)  # learns the user fields (twin road)
    without_scanner(lambda: extras.read(Chunk(data, 1, lines, True)))()
    decoder = closed_record(extras.extras)
    records = decoder.decode_lines(data)
    names = (*breaches._TOKENS, "metadata", *breaches._NESTED,
             *(f"x{i}" for i in range(len(extras.extras))))
    columns = breaches._columns(records, names)
    stamps = pl.Series([r.timestamp for r in records], dtype=pl.String)
    frame = pl.read_ndjson(io.BytesIO(data), schema=LOAD_SCHEMA)
    part = Path(tempfile.mkdtemp(prefix="genailog-budget-")) / "part.parquet"
    from genailog.analysis.summarize import columns_needed
    from genailog.ingest.reader import projection

    needed = projection(columns_needed(by=["model"])) or ()
    wanted = bytes(compiled.field_names().index(c) for c in needed) if compiled else b""
    narrow = frame.select(needed)
    stages: dict[str, Callable[[], object]] = {
        "the C scanner's verdicts (genailog/_scan.c, every field validated)":
            (lambda: compiled.scan(data, False)) if compiled is not None else (lambda: None),
        "the twin's decode (msgspec, every field validated)": lambda: decoder.decode_lines(data),
        "parse-level checks, all (breaches)": lambda: breaches.breaches(
            records, extras.extras, data),
        "  of which: members held, counted on the decoded records": lambda: (
            breaches._held_total(records, columns, {})),
        "  of which: members written, counted on the bytes": lambda: quoted_colons(data),
        "  of which: the columns the checks read": lambda: breaches._columns(records, names),
        "timestamps: RFC 3339 pattern and parse (polars)": lambda: pl.select(
            pl.when(pl.lit(stamps).str.contains(RFC3339_RUST))
            .then(parse_timestamps(pl.lit(stamps)))),
        "polars read_ndjson, every column": lambda: pl.read_ndjson(io.BytesIO(data),
                                                                   schema=LOAD_SCHEMA),
        "the cache's Parquet part (lz4)": lambda: frame.write_parquet(
            part, compression="lz4", statistics=False),
        "generic msgspec decode (no schema)": lambda: msgspec.json.Decoder().decode_lines(data),
        "whole chunk, validate (ChunkReader, no frame)": lambda: ChunkReader(
            "budget", build_frames=False).read(Chunk(data, 1, lines, True)),
        "whole chunk, cold read (ChunkReader, typed frame)": lambda: ChunkReader(
            "budget").read(Chunk(data, 1, lines, True)),
        "whole chunk, validate, without the scanner": without_scanner(lambda: ChunkReader(
            "budget", build_frames=False).read(Chunk(data, 1, lines, True))),
        "whole chunk, cold read, without the scanner": without_scanner(lambda: ChunkReader(
            "budget").read(Chunk(data, 1, lines, True))),
        "the C scanner's verdicts and summarize's 18 columns typed (one pass)":
            (lambda: compiled.scan_columns(data, wanted)) if compiled is not None else (
                lambda: None),
        "  and the cache's part of those columns (Arrow IPC, uncompressed)": lambda: (
            narrow.write_ipc(part, compression="uncompressed")),
        "whole chunk, cold summarize's read (ChunkReader, 18 columns)": lambda: ChunkReader(
            "budget", columns=needed).read(Chunk(data, 1, lines, True)),
    }
    print(f"| stage ({lines:,} records, {len(data) / 2**20:.0f} MB, one core) | "
          "CPU s per 100k records |")
    print("| --- | ---: |")
    for name, stage in stages.items():
        best = float("inf")
        for _ in range(9):
            started = time.process_time()
            stage()
            best = min(best, time.process_time() - started)
        print(f"| {name} | {best * 100_000 / lines:.3f} |", flush=True)
    shutil.rmtree(part.parent, ignore_errors=True)


def load() -> float:
    return os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="", help="contender names separated by |")
    parser.add_argument("--baseline", default="", help="a checkout of the code to compare "
                        "genailog's commands with (run with PYTHONPATH set to it)")
    parser.add_argument("--budget", action="store_true", help="time each stage of a cold "
                        "read of one chunk instead (CPU seconds per 100k records)")
    args = parser.parse_args()
    jsonl, parquet = ensure_data(args.n)
    if args.budget:
        budget(jsonl)
        return 0
    runs = contenders(jsonl, _models(parquet), args.baseline)
    if args.only:
        keep = {*args.only.split("|"), "DuckDB read_json + summary"}
        runs = {k: v for k, v in runs.items() if k in keep}
    seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name, (argv, env) in runs.items():
            before = load()
            cache = tempfile.mkdtemp(prefix="genailog-bench-")
            try:
                wall, mb, cpu, _ = measure(argv, {**env, "GENAILOG_CACHE_DIR": cache})
            finally:
                shutil.rmtree(cache, ignore_errors=True)
            seen[name].append((wall, mb, before))
            print(f"round {round_ + 1}: {name}: {wall:.2f} s, CPU {cpu:.2f} s, {mb:.0f} MB, "
                  f"load {before:.1f}", file=sys.stderr)
    duck = statistics.median(w for w, _, _ in seen["DuckDB read_json + summary"])
    duck_mb = statistics.median(m for _, m, _ in seen["DuckDB read_json + summary"])
    print(f"| contender ({args.n:,} records) | wall s (median) | peak MB | / DuckDB time | "
          "/ DuckDB memory | records/s | load 1-min |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, rows in seen.items():
        wall = statistics.median(w for w, _, _ in rows)
        mb = statistics.median(m for _, m, _ in rows)
        loads = ", ".join(f"{x:.1f}" for _, _, x in rows)
        print(f"| {name} | {wall:.2f} | {mb:.0f} | {wall / duck:.2f}x | {mb / duck_mb:.2f}x "
              f"| {args.n / wall / 1000:.0f}k | {loads} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
