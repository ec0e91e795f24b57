"""Canonical column names and the polars dtype each one is read as.

Types come from the record schema, never from inference. Fields whose JSON values are
heterogeneous (free objects, lists mixing ids and objects) are kept as JSON text in a
String column and listed in :data:`JSON_TEXT_COLUMNS`, so writers can turn them back
into JSON values unchanged.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP_DTYPE = pl.Datetime("us", "UTC")

_STRING_FIELDS = (
    "model", "provider", "operation", "prompt", "system_prompt", "response",
    "feedback_comment", "status", "error_type", "error_message", "finish_reason",
    "request_id", "trace_id", "span_id", "parent_span_id", "session_id", "user_id",
    "prompt_id", "prompt_version", "app", "environment", "stage",
)  # fmt: skip
_INT_FIELDS = (
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "retries",
)  # fmt: skip
_FLOAT_FIELDS = ("cost_usd", "latency_ms", "ttft_ms", "feedback_rating", "sample_rate")
_BOOL_FIELDS = ("hallucination_flag", "refusal")

#: Columns holding JSON text: objects and mixed lists, carried through as logged.
JSON_TEXT_COLUMNS: frozenset[str] = frozenset(
    {"retrieval_docs", "eval_scores", "moderation_flags", "metadata"}
)

MESSAGE_DTYPE = pl.Struct({"role": pl.String, "content": pl.String})

CANONICAL_DTYPES: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP_DTYPE,
    **{name: pl.String() for name in _STRING_FIELDS},
    **{name: pl.Int64() for name in _INT_FIELDS},
    **{name: pl.Float64() for name in _FLOAT_FIELDS},
    **{name: pl.Boolean() for name in _BOOL_FIELDS},
    "messages": pl.List(MESSAGE_DTYPE),
    "embedding": pl.List(pl.Float64),
    "tags": pl.List(pl.String),
    **{name: pl.String() for name in sorted(JSON_TEXT_COLUMNS)},
}

#: Columns of one JSON scalar each (text, numbers, flags, the timestamp): what a reader can
#: type straight from a line's text, without the nested fields (genailog/_scan.c).
SCALAR_COLUMNS: frozenset[str] = frozenset(
    name for name, dtype in CANONICAL_DTYPES.items()
    if name not in JSON_TEXT_COLUMNS and not isinstance(dtype, pl.List))

REQUIRED_FIELDS: tuple[str, ...] = ("timestamp", "model")

NUMERIC_FIELDS: tuple[str, ...] = _INT_FIELDS + _FLOAT_FIELDS
BOOLEAN_FIELDS: tuple[str, ...] = _BOOL_FIELDS


def canonical_dtype(name: str) -> pl.DataType | None:
    """The dtype of a canonical column, or None for a user's own field."""
    return CANONICAL_DTYPES.get(name)
