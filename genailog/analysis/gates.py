"""CI gates: ``--fail-if`` expressions over a summary's metric names.

A gate such as ``latency_ms_p95 > 2000`` is parsed by :mod:`genailog.query.expression`
(the grammar of ``--where``, never ``eval`` or a SQL engine) and checked against every
group row and the total row; it trips for each row where the expression is true. A null
metric (nothing logged) makes the comparison null, which does not trip. Unknown names are
reported before any data is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from genailog.query.expression import Expression, check_names, compile_expression, parse

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


def parse_gates(
    expressions: Sequence[str], keys: Sequence[str], metrics: Sequence[str]
) -> list[Expression]:
    """Parse every gate; a syntax error or an unknown name raises, listing the valid names."""
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
) -> list[GateResult]:
    """Check each gate on every group and the total row."""
    if not expressions:
        return []
    parsed = parse_gates(expressions, keys, list(total))
    rows = [
        *({**g, "_label": group_label(g, keys)} for g in groups),
        {**total, **dict.fromkeys(keys), "_label": TOTAL_LABEL},
    ]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    results = []
    for expression, tree in zip(expressions, parsed, strict=True):
        expr = compile_expression(tree, dict(frame.schema))
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
