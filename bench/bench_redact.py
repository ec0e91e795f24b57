"""Redaction of 1 MB adversarial strings: the pure-Python engine and the export's path.

The inputs are the ones tests/test_redact_scaling.py checks for linear scaling (runs of
PEM headers, JWT and key prefixes, colons, digits, quotes, dates...), each built at
1,000,000 characters. Two paths are timed, best of ``--repeats`` runs each, CPU time:

* engine: ``genailog.redaction.redact_text`` (standard library only; what genailog.log
  uses at write time), where every trigger is a Python regex search;
* export: ``genailog.dataset.redact.redact_frame`` over a one-row frame, where the
  triggers run in polars (Rust regex, linear by construction) and only the detectors
  they call for run in Python.

Target (issue 13): under 1 s per string.

    python bench/bench_redact.py [--size 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_redact_scaling import ADVERSARIAL  # noqa: E402


def best_of(repeats: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    import polars as pl

    from genailog.dataset.redact import redact_frame
    from genailog.redaction import redact_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"| input ({args.size:,} chars) | engine (s) | export path (s) |")
    print("| --- | ---: | ---: |")
    worst = [0.0, 0.0]
    for name, build in ADVERSARIAL.items():
        text = build(args.size)
        frame = pl.DataFrame({"prompt": [text]})
        engine = best_of(args.repeats, lambda t=text: redact_text(t))
        export = best_of(args.repeats, lambda f=frame: redact_frame(f, ["prompt"], ()))
        worst = [max(worst[0], engine), max(worst[1], export)]
        print(f"| {name} | {engine:.2f} | {export:.2f} |", flush=True)
    print(f"| **slowest** | **{worst[0]:.2f}** | **{worst[1]:.2f}** |")


if __name__ == "__main__":
    main()
