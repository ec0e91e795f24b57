"""The canonical record: its JSON Schema, its column names and polars dtypes.

The names below are loaded on first use: importing a submodule that needs only the
standard library (``genailog.schema.limits``, which the C scanner's callers use in
processes that never load polars) must not import polars through this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genailog.schema.columns import (
        CANONICAL_DTYPES,
        JSON_TEXT_COLUMNS,
        REQUIRED_FIELDS,
        canonical_dtype,
    )
    from genailog.schema.files import load_output_schema, load_record_schema

_HOMES = {
    "CANONICAL_DTYPES": "columns",
    "JSON_TEXT_COLUMNS": "columns",
    "REQUIRED_FIELDS": "columns",
    "canonical_dtype": "columns",
    "load_output_schema": "files",
    "load_record_schema": "files",
}

__all__ = [
    "CANONICAL_DTYPES",
    "JSON_TEXT_COLUMNS",
    "REQUIRED_FIELDS",
    "canonical_dtype",
    "load_output_schema",
    "load_record_schema",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"genailog.schema.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
