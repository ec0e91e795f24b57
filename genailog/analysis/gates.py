"""CI gates: ``--fail-if`` expressions over a summary's metric names.

A gate such as ``latency_ms_p95 > 2000`` is parsed by :mod:`genailog.query.expression`
(the grammar of ``--where``, never ``eval`` or a SQL engine) and checked against every
group row and the total row; it trips for each row where the expression is true.

Gates fail closed: a broken logging pipeline must not turn CI green. Under a
:class:`GatePolicy` a gate also fails on a row that cannot be judged: no records at all,
fewer than ``min_records`` records, or a metric the gate names that is null there (nothing
logged). ``allow_empty`` turns those three back into passes, after a successful read only
(unreadable input is exit 3 before any gate runs). Each failed row says why in ``reason``.
Unknown names are reported before any data is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from genailog.query.expression import Expression

TOTAL_LABEL = "total"
#: The ``reason`` of a row where the gate's condition held.
CONDITION_TRUE = "condition true"


@dataclass(frozen=True)
class GatePolicy:
    """How a gate treats rows it cannot judge (see the module docstring).

    ``count`` names the metric holding a row's record count (``requests`` in a summary)."""

    allow_empty: bool = False
    min_records: int = 0
    count: str = "requests"


@dataclass
class GateResult:
    """One ``--fail-if`` predicate and the rows (groups or total) it tripped on."""

    expression: str
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression, "passed": self.passed, "failed": self.failed}


def parse_gates(
    expressions: Sequence[str], keys: Sequence[str], metrics: Sequence[str]
) -> list[Expression]:
    """Parse every gate; a syntax error or an unknown name raises, listing the valid names."""
    # imported where a gate is parsed: most runs have none (4 ms of every start)
    from genailog.query.expression import check_names, parse

    listing = f"valid metrics: {', '.join(metrics)}" + (
        f"; group fields: {', '.join(keys)}" if keys else "")
    parsed = []
    for text in expressions:
        expression = parse(text, "--fail-if")
        check_names(expression, [*metrics, *keys], "metric", listing)
        parsed.append(expression)
    return parsed


def check_gate_expressions(
    expressions: Sequence[str], keys: Sequence[str], metrics: Sequence[str]
) -> list[pl.Expr]:
    """Parse every gate and compile it over metrics and keys of types not yet known."""
    if not expressions:
        return []
    from genailog.query.expression import compile_expression

    schema = dict.fromkeys([*metrics, *keys])
    return [compile_expression(e, schema) for e in parse_gates(expressions, keys, metrics)]


def group_label(row: dict[str, Any], keys: Sequence[str]) -> str:
    """``model=gpt-4.1, window=...``, or ``total`` for the total row."""
    if not keys:
        return TOTAL_LABEL
    return ", ".join(f"{key}={row[key]}" for key in keys)


def evaluate_gates(
    expressions: Sequence[str],
    groups: list[dict[str, Any]],
    total: dict[str, Any],
    keys: Sequence[str],
    policy: GatePolicy | None = None,
) -> list[GateResult]:
    """Check each gate on every group and the total row.

    With a ``policy`` (summarize passes one) rows that cannot be judged fail too; without
    one a null comparison simply does not trip (rows of unlike metrics, as in traces)."""
    if not expressions:
        return []
    from genailog.query.expression import compile_expression

    parsed = parse_gates(expressions, keys, list(total))
    rows = [
        *({**g, "_label": group_label(g, keys)} for g in groups),
        {**total, **dict.fromkeys(keys), "_label": TOTAL_LABEL},
    ]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    results = []
    for expression, tree in zip(expressions, parsed, strict=True):
        tripped = frame.with_columns(
            compile_expression(tree, dict(frame.schema)).alias("_tripped")).to_dicts()
        names = list(dict.fromkeys(name for name, _ in tree.names if name not in keys))
        failed = []
        for row in tripped:
            reason = _reason(row, names, policy)
            if reason is not None:
                failed.append({
                    "group": {k: row[k] for k in keys} if row["_label"] != TOTAL_LABEL
                    else None,
                    "label": row["_label"], "reason": reason})
        results.append(GateResult(expression, failed))
    return results


def _reason(row: dict[str, Any], names: list[str], policy: GatePolicy | None) -> str | None:
    """Why the gate fails on ``row``, or None when it passes there."""
    if policy is not None and not policy.allow_empty:
        unjudged = unjudged_reason(row.get(policy.count), policy.min_records)
        if unjudged is not None:
            return unjudged
        null = [name for name in names if row.get(name) is None]
        if null:
            return f"{', '.join(null)} is null (nothing logged to judge)"
    return CONDITION_TRUE if row["_tripped"] else None


def unjudged_reason(records: int | float | None, min_records: int) -> str | None:
    """Why a row of ``records`` records cannot be judged, or None when it can."""
    if not records:
        return "no records to judge"
    if records < min_records:
        return f"{records:,.0f} records < --min-records {min_records:,}"
    return None
