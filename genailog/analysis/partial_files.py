"""Partial result files of every kind, read and merged: what ``genailog merge`` does.

A file says its kind in ``format`` (``genailog.summary-partial``, ``genailog.diff-prompts-
partial``, ``genailog.drift-partial``); all files of one merge must be of one kind and
computed with the same options. Parts are merged in the order given (a glob's sorted
order is the read order of a partitioned folder).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genailog.analysis import diff_partial, partials
from genailog.analysis.drift import partial as drift_partial
from genailog.errors import InputError, UsageError

Partial = partials.SummaryPartial | diff_partial.DiffPartial | drift_partial.DriftPartial

#: kind (the command whose result it finishes) by the files' ``format``
KINDS = {partials.FORMAT: "summarize", diff_partial.FORMAT: "diff-prompts",
         drift_partial.FORMAT: "drift"}


def expand(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given; a directory stands for its ``*.json`` files, sorted."""
    out: list[Path] = []
    for item in map(Path, paths):
        out += sorted(item.glob("*.json")) if item.is_dir() else [item]
    if not out:
        raise UsageError("no partial files to merge (a directory given holds no *.json)")
    return out


def _load(path: Path) -> tuple[str, Any]:
    try:
        data = json.loads(path.read_bytes(), parse_constant=partials.no_constant)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not a partial result: invalid JSON ({exc})") from None
    kind = KINDS.get(str(data.get("format"))) if isinstance(data, dict) else None
    if kind is None:
        raise InputError(f"{path}: not a genailog partial result (its \"format\" is none of "
                         f"{', '.join(KINDS)}); write one with summarize --partial-out")
    return kind, data


def _parse(kind: str, data: Any, path: Path) -> Partial:
    if kind == "summarize":
        try:
            return partials.SummaryPartial.from_dict(data)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    if kind == "diff-prompts":
        return diff_partial.DiffPartial.from_dict(data, str(path))
    return drift_partial.DriftPartial.from_dict(data, str(path))


def merge_files(paths: Sequence[str | Path]) -> tuple[str, Partial]:
    """The kind of the files and their merged partial (call ``.finalize()`` on it)."""
    loaded = [(_load(p), p) for p in expand(paths)]
    kinds = {kind for (kind, _), _ in loaded}
    if len(kinds) > 1:
        raise UsageError(f"partials of different commands cannot merge: {', '.join(sorted(kinds))}")
    kind = kinds.pop()
    parts: list[Any] = [_parse(kind, data, path) for (_, data), path in loaded]
    if kind == "summarize":
        return kind, partials.merge(*parts)
    if kind == "diff-prompts":
        return kind, diff_partial.merge(parts)
    return kind, drift_partial.merge(parts)
