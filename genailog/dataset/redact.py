"""Redaction of whole frames: the vectorized path of the export.

The engine (detectors, checksums, placeholders, :class:`RecordRedactor`) lives in
:mod:`genailog.redaction`, below every layer that redacts. Here its triggers are evaluated
in polars (Rust, vectorized) over whole columns, and only the cells they flag go through
the exact Python detectors, each cell running only the detectors its triggers call for.

Nothing here reads files, downloads models or prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from genailog.errors import UsageError
from genailog.redaction import (
    DEFAULT_FIELDS,
    KINDS,
    PREFILTER,
    TRIGGERS,
    Detector,
    RecordRedactor,
    detectors_for,
)

__all__ = ["DEFAULT_FIELDS", "KINDS", "PREFILTER", "FrameRedaction", "RecordRedactor",
           "detectors_for", "redact_frame", "resolve_fields", "trigger_codes"]

def resolve_fields(
    schema: pl.Schema,
    user_fields: Iterable[str],
    add: Sequence[str] = (),
    keep: Sequence[str] = (),
) -> list[str]:
    """The columns to redact: defaults and the user's own text fields, widened by ``add``
    (--redact-fields) and narrowed by ``keep`` (--keep-fields).

    The order is the order of placeholder numbering within a record: the schema's fields
    (defaults, then added ones), then user fields by name, as records written as logged
    number them whatever order their keys come in."""
    unknown = sorted((set(add) | set(keep)) - set(schema.names()))
    if unknown:
        raise UsageError(f"unknown field(s) for redaction: {', '.join(unknown)}")
    texts = (pl.String(), pl.List(pl.String()))
    users = set(user_fields)
    mine = {f for f in users if schema.get(f) in texts} | (set(add) & users)
    chosen = [*DEFAULT_FIELDS, *(f for f in add if f not in users), *sorted(mine)]
    fields = [f for f in dict.fromkeys(chosen) if f not in keep and f in schema]
    bad = [f for f in fields if not _redactable(schema[f])]
    if bad:
        raise UsageError(f"cannot redact non-text field(s): {', '.join(bad)}")
    return fields


def _redactable(dtype: pl.DataType) -> bool:
    return dtype == pl.String or dtype == pl.List(pl.String) or _is_messages(dtype)


def _is_messages(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)


def _cell_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """The text the triggers look at: the cell, or a list's strings joined."""
    col = pl.col(name)
    if _is_messages(dtype):
        return col.list.eval(pl.element().struct.field("content")).list.join("\n")
    if isinstance(dtype, pl.List):
        return col.list.join("\n")
    return col


@dataclass
class FrameRedaction:
    """A redacted frame and what was replaced."""

    frame: pl.DataFrame
    counts: Counter[str]
    records_changed: int
    fields: list[str]


def _detectors_per_row(frame: pl.DataFrame, name: str) -> list[list[Detector]]:
    """For each row of ``frame``, the detectors field ``name`` triggers (evaluated in polars)."""
    texts = frame.select(_cell_text(name, frame.schema[name])).to_series()
    return [detectors_for(code) for code in trigger_codes(texts).tolist()]


_TRIGGER_BITS = 1 << np.arange(len(TRIGGERS), dtype=np.int64)


def trigger_codes(texts: pl.Series) -> np.ndarray:
    """For each text, a bit per trigger it matches (bit i: ``TRIGGERS[i]``), evaluated in
    polars; 0 for null."""
    flags = pl.select(texts.str.contains(trigger).fill_null(False).alias(str(i))
                      for i, (_, trigger) in enumerate(TRIGGERS)).to_numpy().astype(np.int64)
    codes: np.ndarray = flags @ _TRIGGER_BITS
    return codes


def redact_frame(
    frame: pl.DataFrame, fields: Sequence[str], json_fields: Iterable[str]
) -> FrameRedaction:
    """Redact ``fields`` of every record; row order and dtypes are kept.

    Polars finds the rows any trigger matches; only their cells go through Python, and
    each cell runs only the detectors its triggers call for.
    """
    counts: Counter[str] = Counter()
    fields = list(fields)
    if not fields or frame.height == 0:
        return FrameRedaction(frame, counts, 0, fields)
    schema = frame.schema
    candidate = pl.any_horizontal(
        _cell_text(f, schema[f]).str.contains(PREFILTER).fill_null(False) for f in fields)
    mask = frame.select(candidate).to_series().to_numpy()
    hits = np.flatnonzero(mask)
    if len(hits) == 0:
        return FrameRedaction(frame, counts, 0, fields)
    sub = frame[hits]
    wanted = {f: _detectors_per_row(sub, f) for f in fields}
    as_json = set(json_fields)
    columns: dict[str, list[Any]] = {f: [] for f in fields}
    touched: set[str] = set()
    changed = 0
    for i, row in enumerate(sub.select(fields).iter_rows()):
        redactor = RecordRedactor(counts)
        for name, value in zip(fields, row, strict=True):
            redactor.detectors = wanted[name][i]
            done = _redact_value(redactor, value, name in as_json) if redactor.detectors else value
            columns[name].append(done)
            if done is not value:
                touched.add(name)
        changed += bool(redactor.per_kind)
    replaced = {f: v for f, v in columns.items() if f in touched}
    return FrameRedaction(_put_back(frame, mask, hits, replaced), counts, changed, fields)


def _put_back(
    frame: pl.DataFrame, mask: np.ndarray, hits: np.ndarray, columns: dict[str, list[Any]]
) -> pl.DataFrame:
    """Untouched cells first, then the redacted ones, gathered back into row order
    (a gather works for every dtype, where scatter does not for nested ones)."""
    order = np.concatenate([np.flatnonzero(~mask), hits])
    inverse = pl.Series(np.argsort(order, kind="stable"))
    rest = pl.Series(~mask)
    schema = frame.schema
    return frame.with_columns(
        pl.concat([frame[f].filter(rest), pl.Series(f, values, dtype=schema[f], strict=True)])
        .gather(inverse)
        for f, values in columns.items()
    )


def _redact_value(redactor: RecordRedactor, value: Any, is_json: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return redactor.json_text(value) if is_json else redactor.text(value)
    before = redactor.counts.total()
    if value and isinstance(value[0], dict):
        done = [{**m, "content": _redact_value(redactor, m.get("content"), False)} for m in value]
    else:
        done = [_redact_value(redactor, v, False) for v in value]
    return value if redactor.counts.total() == before else done
