"""A summary against a reference: the library behind ``genailog summarize --reference``.

The current logs (a PR's artifact) are summarized as ``summarize`` does; the reference
(main's artifact, as logs or as a summary JSON written earlier by ``summarize --format
json``) is summarized the same way, or taken as written. The two are joined group by group
(on the ``--by`` fields), each numeric metric gets its delta (current minus reference) and
relative delta, and gates may name the reference's value of any metric as
``reference.METRIC``: ``cost_per_request > 1.1 * reference.cost_per_request``.

Gates go through :func:`genailog.analysis.gates.evaluate_gates` on the joined rows, so
they fail closed the same way: a group the reference lacks has a null ``reference.*`` and
a gate naming it fails there, saying why. Time windows are refused: windows of two
artifacts do not line up. Pure apart from reading a summary JSON file
(:func:`load_reference`); no printing, no exit codes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from genailog.analysis.gates import (
    GatePolicy,
    GateResult,
    check_gate_expressions,
    evaluate_gates,
    group_label,
)
from genailog.analysis.summarize import METRICS, SummaryResult, summarize
from genailog.errors import InputError, UsageError

if TYPE_CHECKING:
    from genailog.ingest import Logs

#: How a gate names the reference's value of a metric: ``reference.cost_per_request``.
PREFIX = "reference."
#: A summary JSON larger than this is not a summary (it would be logs).
MAX_SUMMARY_BYTES = 64 * 1024 * 1024
_SUMMARY_KEYS = frozenset({"by", "window", "groups", "total"})


@dataclass
class ReferenceSummary:
    """The current summary, the reference's, their deltas per group, and the gates."""

    current: SummaryResult
    reference: dict[str, Any]
    source: str  # "logs" or "summary"
    groups: list[dict[str, Any]]
    total: dict[str, Any]
    only_reference: list[str]
    gates: list[GateResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(not gate.passed for gate in self.gates)

    def to_dict(self) -> dict[str, Any]:
        """``summarize --format json`` with the gates judged against the reference and a
        ``reference`` object: the deltas per group and in total."""
        return {
            **self.current.to_dict(),
            "gates": [gate.to_dict() for gate in self.gates],
            "passed": not self.failed,
            "reference": {
                "source": self.source,
                "records": self.reference["total"].get("requests"),
                "span": _span(self.reference),
                "skipped_records": self.reference.get("skipped_records", 0),
                "prices": self.reference.get("prices"),
                "groups": self.groups,
                "total": self.total,
                "only_reference": self.only_reference,
            },
        }


def _span(summary: Mapping[str, Any]) -> dict[str, Any]:
    total = summary["total"]
    return {"start": total.get("first_timestamp"), "end": total.get("last_timestamp"),
            "seconds": total.get("span_seconds")}


# --- reading a summary JSON ----------------------------------------------------------


def load_reference(paths: Sequence[str | Path]) -> dict[str, Any] | None:
    """The summary when ``paths`` is one summary JSON (an object with by, window, groups
    and total, as ``summarize --format json`` writes it), else None: they are logs."""
    if len(paths) != 1:
        return None
    path = Path(paths[0])
    if path.suffix.lower() != ".json" or not path.is_file() \
            or path.stat().st_size > MAX_SUMMARY_BYTES:
        return None
    with path.open("rb") as handle:
        if not handle.read(4096).lstrip().startswith(b"{"):
            return None  # an array of records
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None  # the log readers say what is wrong with it
    return check_summary(data, str(path)) if _SUMMARY_KEYS <= set(data) else None


def check_summary(data: Any, where: str = "the reference summary") -> dict[str, Any]:
    """``data`` if it has a summary's shape, else :class:`InputError`."""
    if not isinstance(data, dict) or not _SUMMARY_KEYS <= set(data):
        raise InputError(f"{where}: not the JSON of genailog summarize (it needs "
                         f"{', '.join(sorted(_SUMMARY_KEYS))}); write one with "
                         "genailog summarize MAIN_LOGS --format json > main-summary.json")
    if not isinstance(data["groups"], list) or not isinstance(data["total"], dict) \
            or not all(isinstance(g, dict) for g in data["groups"]):
        raise InputError(f"{where}: groups must be a list of objects and total an object")
    return data


# --- joining ----------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def deltas(current: Mapping[str, Any], reference: Mapping[str, Any] | None
           ) -> dict[str, dict[str, Any]]:
    """Per numeric metric: current, reference, delta (current - reference) and delta_pct
    (percent of the reference; null when the reference is 0 or missing)."""
    out = {}
    for name in METRICS:
        now, then = current.get(name), None if reference is None else reference.get(name)
        a, b = _number(now), _number(then)
        if (a is None and now is not None) or (b is None and then is not None):
            continue  # not a number (timestamps)
        delta = None if a is None or b is None else a - b
        pct = None if delta is None or not b else delta / abs(b) * 100.0
        out[name] = {"current": now, "reference": then, "delta": delta, "delta_pct": pct}
    return out


def _key(row: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in keys)


def _joined(row: Mapping[str, Any], reference: Mapping[str, Any] | None) -> dict[str, Any]:
    """A row for the gates: the current metrics and ``reference.METRIC`` beside them."""
    return {**row, **{PREFIX + m: None if reference is None else reference.get(m)
                      for m in METRICS}}


def _check_alike(current: SummaryResult, reference: Mapping[str, Any]) -> None:
    theirs = list(reference["by"] or [])
    if theirs != current.by:
        raise UsageError(f"the reference summary is grouped by {', '.join(theirs) or 'nothing'}"
                         f", this one by {', '.join(current.by) or 'nothing'}; use the same "
                         "--by for both")
    if reference.get("window"):
        raise UsageError("the reference summary has time windows (--window); summarize "
                         "the reference without --window")


def compare_summaries(current: SummaryResult, reference: Mapping[str, Any], *,
                      fail_if: Sequence[str] = (), policy: GatePolicy | None = None,
                      source: str = "summary") -> ReferenceSummary:
    """Join ``current`` with ``reference`` (a summary's ``to_dict()``), group by group,
    and judge ``fail_if`` on the joined rows."""
    reference = check_summary(dict(reference))
    _check_alike(current, reference)
    keys = current.keys
    theirs = {_key(g, keys): g for g in reference["groups"]}
    groups = []
    for row in current.groups:
        match = theirs.get(_key(row, keys))
        groups.append({"group": {k: row[k] for k in keys}, "label": group_label(row, keys),
                       "in_reference": match is not None, "metrics": deltas(row, match)})
    ours = {_key(g, keys) for g in current.groups}
    only = [group_label(g, keys) for g in reference["groups"] if _key(g, keys) not in ours]
    gates = evaluate_gates(
        fail_if, [_joined(g, theirs.get(_key(g, keys))) for g in current.groups],
        _joined(current.total, reference["total"]), keys,
        policy or GatePolicy())
    return ReferenceSummary(current, dict(reference), source, groups,
                            deltas(current.total, reference["total"]), only, gates)


def check_one_stdin(paths: Sequence[str | Path], reference: Sequence[str | Path]) -> None:
    """Standard input can be read once: as the current logs or as the reference."""
    if "-" in [str(p) for p in paths] and "-" in [str(p) for p in reference]:
        raise UsageError("PATHS and --reference both name - (standard input), which can be "
                         "read once; give one of them as files")


def check_reference_options(*, by: Sequence[str] = (), window: str | None = None,
                            fail_if: Sequence[str] = ()) -> None:
    """What can be refused before any log is read."""
    if window is not None:
        raise UsageError("--window with --reference: the windows of two artifacts do not "
                         "line up; compare them per group with --by instead")
    metrics = [*METRICS, *(PREFIX + m for m in METRICS)]
    check_gate_expressions(fail_if, list(by), metrics)


def summarize_against(
    logs: Logs | pl.LazyFrame | pl.DataFrame,
    reference: Logs | pl.LazyFrame | pl.DataFrame | Mapping[str, Any],
    *,
    fail_if: Sequence[str] = (),
    allow_empty: bool = False,
    min_records: int = 0,
    **options: Any,
) -> ReferenceSummary:
    """Summarize ``logs`` and ``reference`` (logs, or a summary dict as read by
    :func:`load_reference`) with the same ``options`` (those of
    :func:`genailog.analysis.summarize.summarize`; ``where``, ``since``, ``until`` and
    ``prices`` apply to both sides, ``top`` and ``safety`` to the current one only), join
    them and judge ``fail_if``, whose names may be ``reference.METRIC``."""
    check_reference_options(by=options.get("by", ()), window=options.get("window"),
                            fail_if=fail_if)
    policy = GatePolicy(allow_empty=allow_empty, min_records=min_records)
    current = summarize(logs, **options)
    if isinstance(reference, Mapping):
        return compare_summaries(current, reference, fail_if=fail_if, policy=policy)
    shared = {k: v for k, v in options.items() if k not in ("top", "safety")}
    theirs = summarize(reference, **shared).to_dict()
    return compare_summaries(current, theirs, fail_if=fail_if, policy=policy, source="logs")
