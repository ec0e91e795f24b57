"""CI gates: ``--fail-if`` SQL predicates over a summary's metric names.

A gate such as ``latency_ms_p95 > 2000`` is parsed by polars' SQL parser (never ``eval``)
and checked against every group row and the total row; it trips for each row where the
predicate is true. A null metric (nothing logged) makes the comparison null, which does
not trip. Unknown names are reported before any data is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from genailog.errors import ExpressionError

TOTAL_LABEL = "total"


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


def _parse(expression: str) -> pl.Expr:
    try:
        return pl.sql_expr(expression)
    except Exception as exc:  # polars raises several types for parse errors
        raise ExpressionError(
            f"--fail-if {expression!r} is not a valid SQL predicate: {exc}"
        ) from None


def check_gate_expressions(
    expressions: Sequence[str], keys: Sequence[str], metrics: Sequence[str]
) -> list[pl.Expr]:
    """Parse every gate; an unknown name raises, listing the valid metric names."""
    parsed = []
    for expression in expressions:
        expr = _parse(expression)
        unknown = sorted(set(expr.meta.root_names()) - set(metrics) - set(keys))
        if unknown:
            raise ExpressionError(
                f"--fail-if {expression!r} names unknown metric(s) {', '.join(unknown)}; "
                f"valid metrics: {', '.join(metrics)}"
                + (f"; group fields: {', '.join(keys)}" if keys else "")
            )
        parsed.append(expr)
    return parsed


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
) -> list[GateResult]:
    """Check each gate on every group and the total row."""
    if not expressions:
        return []
    parsed = check_gate_expressions(expressions, keys, list(total))
    rows = [
        *({**g, "_label": group_label(g, keys)} for g in groups),
        {**total, **dict.fromkeys(keys), "_label": TOTAL_LABEL},
    ]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    results = []
    for expression, expr in zip(expressions, parsed, strict=True):
        tripped = frame.filter(expr.fill_null(False))
        failed = [
            {
                "group": {k: r[k] for k in keys} if r["_label"] != TOTAL_LABEL else None,
                "label": r["_label"],
            }
            for r in tripped.to_dicts()
        ]
        results.append(GateResult(expression, failed))
    return results
