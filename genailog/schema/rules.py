"""Rules every command applies to a record in the same way: one home for each.

The error rule: a call failed when its ``status`` is ``error``; a record without a status
failed when it names an ``error_type``; otherwise it succeeded. ``summarize``'s
``error_rate``, ``diff-prompts``' ``error_rate`` metric, drift and the report all use this
expression, so the figure means one thing everywhere (docs/schema.md, ``status``).
"""

from __future__ import annotations

import polars as pl


def is_error() -> pl.Expr:
    """True for a failed call, False otherwise (never null)."""
    status = pl.col("status")
    return (pl.when(status.is_not_null()).then(status == "error")
            .otherwise(pl.col("error_type").is_not_null()))
