"""The units of a distributed run: one per input file that survives partition pruning,
each with the hive partition values its records get.

The listing and the pruning are the ingest layer's (:mod:`genailog.ingest.partitions`),
done once on the client, so a worker opens only its own file and fills in the partition
columns exactly as one whole read would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from genailog.errors import UsageError
from genailog.ingest import partitions
from genailog.ingest.partitions import Prune
from genailog.ingest.reader import as_paths
from genailog.ingest.sources import discover


@dataclass(frozen=True)
class Unit:
    """One file's work: where it is, and the partition values of its records."""

    path: str
    values: dict[str, Any]
    dtypes: dict[str, pl.DataType]


@dataclass(frozen=True)
class Plan:
    """The units in read order, and what pruning skipped (the read report's ``partitions``)."""

    units: list[Unit]
    partitions: dict[str, Any]
    #: What pruning skipped, as one read says it (None: nothing skipped).
    skipped: str | None = None


def plan(paths: str | Path | Sequence[str | Path], prune: Prune | None = None) -> Plan:
    """The files of ``paths`` in the order one read takes them, pruned by ``prune``."""
    listed = as_paths(paths)
    if any(str(p) == "-" for p in listed):
        raise UsageError("--engine reads files, not standard input: name the files")
    sources, values, dtypes, report = partitions.prune(discover(listed), prune)
    units = [Unit(s.name, v, dtypes) for s, v in zip(sources, values, strict=True)]
    return Plan(units, report.to_dict(), report.message())
