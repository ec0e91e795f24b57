"""``inspect``: what genailog makes of some log files, before any analysis.

Per file: the shape detected and why, the mapping used (source field -> canonical field),
records read, invalid records and other lines; over all records: the coverage of each
canonical field, with what a missing field costs ("timestamp 0%: drift and windows
unavailable"). It reads like every command (same detection, adapters and options) but
never fails on what it finds: explaining the input is its job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from genailog.errors import InputError
from genailog.ingest.context import ReadOptions
from genailog.ingest.reader import read_logs

#: The fields whose coverage is reported, in order, with what their absence means.
COVERED: tuple[tuple[str, str], ...] = (
    ("timestamp", "drift, --window and --since/--until are unavailable"),
    ("model", "calls count under (unknown) and are unpriced; name it with --model"),
    ("input_tokens", "input cost unknown"),
    ("output_tokens", "output cost unknown"),
    ("cached_input_tokens", "cost assumes no cache hits"),
    ("latency_ms", "no latency percentiles"),
    ("status", "a call with no status and no error counts as a success"),
    ("prompt", "no prompt text for drift or datasets"),
    ("response", "no response text for datasets"),
    ("cost_usd", "cost computed from tokens and prices"),
    ("prompt_version", "diff-prompts has no prompt versions to compare"),
)


@dataclass
class FileInspection:
    path: str
    format: str
    why: str
    records: int
    invalid: int
    other_lines: int
    mapping: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "why": self.why,
                "records": self.records, "invalid": self.invalid,
                "other_lines": self.other_lines, "mapping": self.mapping}


@dataclass
class InspectResult:
    files: list[FileInspection]
    records: int
    coverage: dict[str, float | None]
    consequences: list[str]
    notes: list[str]
    unreadable: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "records": self.records,
                "coverage": self.coverage, "consequences": self.consequences,
                "notes": self.notes,
                "unreadable": [{"path": p, "reason": r} for p, r in self.unreadable]}


def _why(fmt: str) -> str:
    from genailog.ingest.formats import BY_NAME

    entry = BY_NAME.get(fmt)
    return entry.summary if entry is not None else fmt


def inspect_logs(paths: str | Path | Sequence[str | Path], *, input_format: str = "auto",
                 options: ReadOptions | None = None) -> InspectResult:
    """Read ``paths`` leniently (invalid records set aside, empty results allowed) and say
    what was found."""
    try:
        logs = read_logs(paths, on_invalid="skip", input_format=input_format,
                         options=options, require_calls=False)
    except InputError as exc:
        raise InputError(f"{exc}") from None
    report = logs.report
    files = []
    for f in report.files:
        notes = f.notes
        mapping: dict[str, str] = {}
        if notes is not None:
            for (source, canonical), _ in notes.mapping.most_common():
                mapping.setdefault(canonical, source)
        why = _why(f.format)
        if notes is not None and notes.shapes:
            why = "; ".join(f"{n} record(s): {shape}" for shape, n in notes.shapes.most_common())
        files.append(FileInspection(f.path, f.format, why, f.records, f.invalid,
                                    f.other_lines, dict(sorted(mapping.items()))))
    coverage = _coverage(logs.frame)
    consequences = [f"{name} {_percent(share)}: {meaning}" for name, meaning in COVERED
                    if (share := coverage.get(name)) is not None and share < 1.0
                    and name != "cost_usd"]
    return InspectResult(files, report.records, coverage, consequences, report.notes,
                         report.unreadable)


def _coverage(frame: pl.LazyFrame) -> dict[str, float | None]:
    names = [name for name, _ in COVERED]
    stats = frame.select(pl.len().alias("__n"),
                         *[pl.col(n).is_not_null().sum().alias(n) for n in names]).collect()
    total = int(stats["__n"][0])
    return {n: (int(stats[n][0]) / total if total else None) for n in names}


def _percent(share: float) -> str:
    return f"{share:.0%}" if share in (0.0, 1.0) or 0.01 <= share <= 0.99 else f"{share:.2%}"
