"""What a worker does with one unit: read its file, add its partition columns, compute
the command's partial. Top-level functions, so the engine can send them to workers.

``require_calls=False``: a file holding no LLM call (a span file beside the call logs) is
no error on its own; the run checks the whole input once the parts are back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from genailog.analysis.compare import DiffOptions
from genailog.analysis.diff_partial import DiffPartial, diff_partial
from genailog.analysis.drift import DriftOptions
from genailog.analysis.drift.partial import DriftPartial, Role, drift_partial
from genailog.analysis.partials import SummaryPartial, summary_partial
from genailog.engine.plan import Unit
from genailog.ingest import Logs, read_logs
from genailog.ingest.context import ReadOptions
from genailog.ingest.partitions import with_values


@dataclass(frozen=True)
class ReadSettings:
    """How every worker reads: the command's --on-invalid, --input-format and read options."""

    on_invalid: str = "fail"
    input_format: str = "auto"
    options: ReadOptions | None = None


def read_unit(unit: Unit, read: ReadSettings, fields: frozenset[str] = frozenset()) -> Logs:
    """One file read, with its partition columns, and ``fields`` (the fields the command
    names: --where, --by, the version field, ...) as null columns where this file has
    none, as they are in the rows of such a file in one read of every file."""
    logs = read_logs([unit.path], on_invalid=read.on_invalid, input_format=read.input_format,
                     options=read.options, require_calls=False)
    frame = with_values(logs.frame, unit.values, unit.dtypes)
    present = set(frame.collect_schema().names())
    logs.frame = frame.with_columns(pl.lit(None).alias(name)
                                    for name in sorted(fields - present))
    return logs


def _report(logs: Logs) -> dict[str, Any]:
    report = logs.report.to_dict()
    report["partitions"] = {}  # the run's listing says what was pruned, once
    return report


@dataclass(frozen=True)
class SummaryTask:
    read: ReadSettings
    options: dict[str, Any]
    fields: frozenset[str] = frozenset()

    def __call__(self, unit: Unit) -> tuple[SummaryPartial, int]:
        logs = read_unit(unit, self.read, self.fields)
        return summary_partial(logs, **self.options), logs.report.records


@dataclass(frozen=True)
class DiffTask:
    read: ReadSettings
    baseline: str
    candidate: str
    options: DiffOptions
    fields: frozenset[str] = frozenset()

    def __call__(self, unit: Unit) -> tuple[DiffPartial, int]:
        logs = read_unit(unit, self.read, self.fields)
        part = diff_partial(logs.frame, self.baseline, self.candidate, self.options,
                            report=_report(logs))
        return part, logs.report.records


@dataclass(frozen=True)
class DriftTask:
    read: ReadSettings
    options: DriftOptions
    filters: dict[str, Any]
    role: Role = "logs"
    fields: frozenset[str] = frozenset()

    def __call__(self, unit: Unit) -> tuple[DriftPartial, int]:
        logs = read_unit(unit, self.read, self.fields)
        part = drift_partial(logs, options=self.options, role=self.role, **self.filters)
        for report in (*part.inputs, *part.reference_inputs):
            report["partitions"] = {}
        return part, logs.report.records
