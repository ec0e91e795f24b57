"""``--where``, ``--since`` and ``--until`` as a rule for skipping partitioned files unopened.

The read (:mod:`genailog.ingest.partitions`) sits below the expression grammar, so the rule
is built here and handed down: a predicate over one row of partition values per file.
Only the top-level ``AND`` terms that name partition keys alone are used; a term that
names any other field, or that does not compile against the keys' types, skips nothing
(the record filter, which runs after the read, still applies it and reports its errors).

Must not: decide anything from record fields (they are not read yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from genailog.errors import GenailogError
from genailog.ingest.partitions import Prune
from genailog.query.filters import parse_time

if TYPE_CHECKING:
    from genailog.query.expression import Node


def partition_prune(where: str | None = None, since: str | datetime | None = None,
                    until: str | datetime | None = None) -> Prune | None:
    """The skipping rule of a command's filters (None when there are none)."""
    if not (where or since is not None or until is not None):
        return None
    start = since if isinstance(since, datetime) or since is None else parse_time(
        since, "--since")
    end = until if isinstance(until, datetime) or until is None else parse_time(
        until, "--until")
    options = tuple(name for name, value in (("--since", since), ("--until", until),
                                             ("--where", where)) if value is not None and
                    value != "")
    return Prune(start, end, partition_predicate(where) if where else None, options)


def _terms(node: Node) -> Iterator[Node]:
    if node.kind == "and" and not node.negated:
        for arg in node.args:
            yield from _terms(arg)
    else:
        yield node


def _names(node: Node) -> set[str]:
    found = {str(node.value)} if node.kind == "field" else set()
    for arg in node.args:
        found |= _names(arg)
    return found


def partition_predicate(where: str) -> Callable[[pl.DataFrame], pl.Series]:
    """A predicate over partition values: False for a file that no record of can match."""
    from genailog.query.expression import Expression, compile_expression, parse

    expression = parse(where, "--where")
    terms = list(_terms(expression.tree))

    def keep(values: pl.DataFrame) -> pl.Series:
        mask = pl.Series("keep", [True] * values.height, dtype=pl.Boolean)
        for term in terms:
            names = _names(term)
            if not names or not names <= set(values.columns):
                continue
            part = Expression(expression.text, term, expression.option,
                              tuple(n for n in expression.names if n[0] in names))
            try:
                condition = compile_expression(
                    part, dict(values.schema), parse_time=lambda t: parse_time(t, "--where"))
                result = values.select(condition.fill_null(False).alias("keep")).to_series()
            except (GenailogError, pl.exceptions.PolarsError):
                continue
            mask = mask & result
        return mask

    return keep
