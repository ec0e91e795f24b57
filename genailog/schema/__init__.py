"""The canonical record: its JSON Schema, its column names and polars dtypes."""

from genailog.schema.columns import (
    CANONICAL_DTYPES,
    JSON_TEXT_COLUMNS,
    REQUIRED_FIELDS,
    canonical_dtype,
)
from genailog.schema.files import load_output_schema, load_record_schema

__all__ = [
    "CANONICAL_DTYPES",
    "JSON_TEXT_COLUMNS",
    "REQUIRED_FIELDS",
    "canonical_dtype",
    "load_output_schema",
    "load_record_schema",
]
