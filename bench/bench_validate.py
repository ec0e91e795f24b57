"""Benchmark ``genailog validate`` end to end against plain jsonschema, verdicts compared.

Usage: python bench/bench_validate.py [--records N] [--seed S] [--inject K] [--runs R]
                                      [--check sample|full] [--sample M]

1. Writes N generated records (bench/make_data.py) to bench/data/, then a copy in which
   K lines are replaced by edited records: clearly invalid ones (a string where a number
   belongs, NaN, a truncated line, a non-object, invalid UTF-8, a bad date-time, a missing
   model, a negative count, ...) and tricky valid ones (``430.0`` as an integer, a
   lowercase ``t``/``z`` timestamp, a huge integer, nulls, nested extra fields), plus a
   duplicated key whose last value is invalid.
2. Times ``python -m genailog validate FILE --format json`` in a subprocess, R times
   (wall clock, so start-up, reading and JSON output are included).
3. Compares genailog's verdicts with jsonschema's Draft202012Validator (formats checked,
   NaN and bad UTF-8 rejected as JSON) on: ``--check full`` every line, or ``--check
   sample`` (default) a fixed random sample of M lines plus every injected line plus
   every line genailog flagged. jsonschema's rate is measured on the random sample.

Prints records/s, MB/s, the ratio to jsonschema, and exits 1 if any verdict differs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT / "bench"))

from make_data import write as make_data  # noqa: E402

from genailog.schema.files import load_record_schema  # noqa: E402

TARGET = 500_000

Edit = Callable[[dict[str, Any], bytes], bytes]


def _dump(record: Any) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


def _with(**fields: Any) -> Edit:
    return lambda record, _: _dump({**record, **fields})


def _without(name: str) -> Edit:
    return lambda record, _: _dump({k: v for k, v in record.items() if k != name})


#: (name, expected to be valid?, edit). The expectation is only a label for the report;
#: jsonschema's verdict is what genailog is compared with.
EDITS: tuple[tuple[str, bool, Edit], ...] = (
    ("string for a number", False, _with(input_tokens="430")),
    ("NaN", False, lambda r, _: json.dumps({**r, "latency_ms": float("nan")}).encode()),
    ("truncated", False, lambda _, line: line[: len(line) // 2]),
    ("not an object", False, lambda r, _: _dump([r])),
    ("invalid UTF-8", False, lambda _, line: line.replace(b'"model":"', b'"model":"\xff', 1)),
    ("bad date-time", False, _with(timestamp="2026-11-31T25:00:00Z")),
    ("no model", False, _without("model")),
    ("empty model", False, _with(model="")),
    ("negative count", False, _with(output_tokens=-5)),
    ("bad status", False, _with(status="failed")),
    ("bool for an integer", False, _with(retries=True)),
    ("float version", False, _with(prompt_version=1.5)),
    ("number in retrieval_docs", False, _with(retrieval_docs=[1, 2])),
    ("message without role", False, _with(messages=[{"content": "hi"}])),
    ("string eval score", False, _with(eval_scores={"faithfulness": "high"})),
    ("bad moderation item", False, _with(moderation_flags=[True])),
    ("duplicate key, last invalid", False,
     lambda _, __: b'{"timestamp":"2026-11-02T10:00:00Z","model":"gpt-4.1","model":""}'),
    ("integral float count", True, _with(input_tokens=430.0, retries=0.0)),
    ("lowercase t and z", True, _with(timestamp="2026-11-02t10:00:00.5z")),
    ("offset timestamp", True, _with(timestamp="2026-11-02T10:00:00+05:30")),
    ("huge integer", False, _with(input_tokens=10**30)),  # beyond 64 bits: schema/limits
    ("nulls", True, _with(response=None, cost_usd=None, tags=None, metadata=None)),
    ("nested extras", True, _with(case={"id": [1, {"x": None}]}, tenant=7)),
    ("integer version", True, _with(prompt_version=3)),
)  # fmt: skip


def inject(source: Path, target: Path, k: int, seed: int) -> dict[int, str]:
    """Copy ``source`` to ``target`` with ``k`` lines edited; returns line number -> edit."""
    with source.open("rb") as handle:
        total = sum(1 for _ in handle)
    chosen = sorted(random.Random(seed).sample(range(1, total + 1), min(k, total)))
    edits = {line: EDITS[i % len(EDITS)] for i, line in enumerate(chosen)}
    with source.open("rb") as src, target.open("wb") as out:
        for number, line in enumerate(src, 1):
            if number in edits:
                _, _, edit = edits[number]
                line = edit(json.loads(line), line.rstrip(b"\n")) + b"\n"
            out.write(line)
    return {line: name for line, (name, _, _) in edits.items()}


def time_genailog(
    path: Path, runs: int, max_errors: int
) -> tuple[list[float], list[float], dict[str, Any]]:
    """Wall-clock and CPU (user + system) seconds of each run, and the last JSON result."""
    times, cpu, result = [], [], {}
    command = [sys.executable, "-m", "genailog", "validate", str(path), "--format", "json",
               "--max-errors", str(max_errors)]
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, cwd=ROOT, check=False)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"genailog validate failed ({done.returncode}): {done.stderr!r}")
        result = json.loads(done.stdout)
    return times, cpu, result


class Reference:
    """jsonschema's verdict for one raw line, with NaN and bad UTF-8 rejected as JSON, and
    the parse-level rejections every genailog command applies."""

    def __init__(self) -> None:
        self.validator = Draft202012Validator(
            load_record_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)

    def valid(self, line: bytes) -> bool:
        """jsonschema's verdict plus the documented parse-level list (schema/limits.py)."""
        from genailog.schema import limits

        try:
            value = json.loads(line.decode("utf-8"), parse_constant=_reject)
        except (UnicodeDecodeError, ValueError):
            return False
        return bool(self.validator.is_valid(value)) and not limits.record_problems(
            value) and limits.value_problem(value) is None


def _reject(name: str) -> Any:
    raise ValueError(name)


def compare(path: Path, lines: Iterable[int] | None, flagged: set[int],
            reference: Reference) -> tuple[list[int], int]:
    """Lines where the verdicts differ, and how many lines were compared."""
    wanted = None if lines is None else set(lines)
    differ, compared = [], 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if wanted is not None and number not in wanted:
                continue
            compared += 1
            if reference.valid(line.rstrip(b"\r\n")) != (number not in flagged):
                differ.append(number)
    return differ, compared


def reference_rate(path: Path, sample: list[int], reference: Reference) -> tuple[float, float]:
    """jsonschema records per wall second and per CPU second (parse + validate) over the
    random sample lines."""
    wanted = set(sample)
    with path.open("rb") as handle:
        lines = [line for number, line in enumerate(handle, 1) if number in wanted]
    started, cpu = time.perf_counter(), time.process_time()
    for line in lines:
        reference.valid(line)
    return (len(lines) / (time.perf_counter() - started),
            len(lines) / (time.process_time() - cpu))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load {load}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inject", type=int, default=1_000, help="lines to edit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", choices=("sample", "full"), default="sample")
    parser.add_argument("--sample", type=int, default=50_000, help="random lines to check")
    args = parser.parse_args(argv)
    clean = DATA / f"records-{args.records}-seed{args.seed}.jsonl"
    if not clean.exists():
        make_data(args.records, clean, None, args.seed, 14, jobs=2)
    path = DATA / f"validate-{args.records}-seed{args.seed}-inject{args.inject}.jsonl"
    injected = inject(clean, path, args.inject, args.seed)
    size_mb = path.stat().st_size / 1e6
    print(f"machine: {machine()}")
    print(f"file: {path.name}, {args.records} records, {size_mb:.0f} MB, "
          f"{len(injected)} edited lines")
    times, cpu, result = time_genailog(path, args.runs, max_errors=10 * args.inject + 100)
    best, median = min(times), statistics.median(times)
    rate, cpu_rate = args.records / best, args.records / min(cpu)
    print(f"genailog validate: best {best:.2f} s, median {median:.2f} s of {args.runs} "
          f"(wall): {rate:,.0f} records/s, {size_mb / best:.0f} MB/s (target {TARGET:,} "
          f"records/s: {'met' if rate >= TARGET else 'NOT met'}); CPU (user+sys) best "
          f"{min(cpu):.2f} s: {cpu_rate:,.0f} records per CPU second")
    flagged = {error["line"] for error in result["errors"]}
    reference = Reference()
    sample = sorted(random.Random(args.seed + 1).sample(range(1, args.records + 1),
                                                        min(args.sample, args.records)))
    ref_rate, ref_cpu_rate = reference_rate(path, sample[:20_000], reference)
    print(f"jsonschema (json.loads + Draft202012Validator.is_valid, one process): "
          f"{ref_rate:,.0f} records/s wall, {ref_cpu_rate:,.0f} records per CPU second; "
          f"genailog is {rate / ref_rate:.1f}x faster (wall), "
          f"{cpu_rate / ref_cpu_rate:.1f}x (CPU)")
    lines = None if args.check == "full" else set(sample) | set(injected) | flagged
    differ, compared = compare(path, lines, flagged, reference)
    scope = "every line" if lines is None else (
        f"{len(sample)} random lines + {len(injected)} edited + {len(flagged)} flagged")
    print(f"verdicts vs jsonschema on {compared} lines ({scope}): "
          + ("identical" if not differ else f"{len(differ)} DIFFER, e.g. lines {differ[:10]}"))
    for number in differ[:10]:
        print(f"  line {number}: edit {injected.get(number, '-')!r}, genailog says "
              f"{'invalid' if number in flagged else 'valid'}")
    print(f"invalid records found: {result['invalid']} (edited lines: {len(injected)}, of "
          f"which meant to be invalid: {sum(not _valid_edit(n) for n in injected.values())})")
    return 1 if differ else 0


def _valid_edit(name: str) -> bool:
    return next(valid for edit, valid, _ in EDITS if edit == name)


if __name__ == "__main__":
    sys.exit(main())
