"""What was read, added up over the parts of a partitioned run; the header check every
partial's JSON form goes through.

Each part carries its read report (``ReadReport.to_dict()``); merged, the files are listed
in part order, counts add, notes and unreadable files are kept once each. The merged
report has the keys of a single read's, so results render the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genailog.errors import InputError

_COUNTS = ("records", "skipped", "quarantined", "other_lines")


def merge_inputs(reports: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """One read report for all ``reports``; None when no part carried one."""
    if not reports:
        return None
    out: dict[str, Any] = {"files": [], **dict.fromkeys(_COUNTS, 0),
                           "policy": reports[0].get("policy", "fail"), "unreadable": [],
                           "notes": []}
    partitions: dict[str, Any] = {}
    for report in reports:
        out["files"] += list(report.get("files") or [])
        for key in _COUNTS:
            out[key] += int(report.get(key) or 0)
        out["unreadable"] += [u for u in report.get("unreadable") or []
                              if u not in out["unreadable"]]
        out["notes"] += [n for n in report.get("notes") or [] if n not in out["notes"]]
        partitions = _merge_partitions(partitions, report.get("partitions") or {})
    out["partitions"] = partitions
    return out


def _merge_partitions(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if not a or not b:
        return dict(a or b)
    return {"keys": sorted(set(a.get("keys", [])) | set(b.get("keys", []))),
            "files": int(a.get("files", 0)) + int(b.get("files", 0)),
            "files_skipped": int(a.get("files_skipped", 0)) + int(b.get("files_skipped", 0)),
            "pruned_by": sorted(set(a.get("pruned_by", [])) | set(b.get("pruned_by", [])))}


def check_header(data: Any, format_: str, version: int, what: str) -> None:
    """A partial's JSON names its kind and version; anything else is an InputError."""
    if not isinstance(data, dict) or data.get("format") != format_:
        raise InputError(f"{what}: not a partial of format {format_!r}")
    if data.get("version") != version:
        raise InputError(f"{what}: partial version {data.get('version')!r}; this genailog "
                         f"reads version {version}")


def checked_inputs(reports: Any) -> list[dict[str, Any]]:
    """Read reports from a partial file (untrusted), each of the shape a read writes."""
    if reports is None:
        return []
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise ValueError("inputs must be a list of read reports")
    for report in reports:
        for key in _COUNTS:
            value = report.get(key, 0)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):
                raise ValueError(f"read report {key!r} must be a count")
        for key, kind in (("files", list), ("unreadable", list), ("notes", list),
                          ("partitions", dict)):
            if report.get(key) is not None and not isinstance(report[key], kind):
                raise ValueError(f"read report {key!r} must be a {kind.__name__}")
        if not all(isinstance(n, str) for n in report.get("notes") or []):
            raise ValueError("read report notes must be text")
        _merge_partitions(dict(report.get("partitions") or {}), {"files": 0})
    return reports
