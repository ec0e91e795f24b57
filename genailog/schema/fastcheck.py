"""A compiled twin of the record schema, for validating millions of lines quickly.

msgspec decodes and type-checks a whole chunk of JSON lines in C. The twin is built to be
*at least as strict* as ``genailog.record.v2.schema.json``: whatever it accepts, jsonschema
accepts too. A line it rejects is re-checked by jsonschema (``schema/diagnose.py``), which
has the last word and writes the message. A test keeps the twin and the schema in step.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from genailog.schema.limits import INT64_MAX, INT64_MIN

# rfc3339-validator's pattern (what jsonschema's "date-time" uses, after upper()), with
# ASCII digits only, no year 0000 and no trailing newline. Day-of-month is checked later.
RFC3339_PATTERN = (
    r"^(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-[0-9]{2}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])\Z"
)

#: The same pattern in the Rust dialect polars uses (no lookaround; ``$`` is end of text).
RFC3339_RUST = (
    r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(?:0[1-9]|1[0-2])-[0-9]{2}[Tt]"
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)

Timestamp = Annotated[str, msgspec.Meta(pattern=RFC3339_PATTERN)]
#: At most 2**63 - 1, the parse-level rule of :mod:`genailog.schema.limits` (msgspec itself
#: would decode any integer).
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
#: A number field: a literal written as an integer is read as one and held to 64 bits here,
#: in C (msgspec would otherwise read 10**20 into a float field without a word, and the
#: parse-level list rejects an integer beyond 64 bits anywhere); any other number is a float.
Number = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)] | float
NonNegative = Count | Annotated[float, msgspec.Meta(ge=0)]


# A field left out is UNSET, not None, here and in the batch records: a reader counts the
# members a record holds to find duplicate keys (schema/duplicates.py).
class Message(msgspec.Struct):
    role: str
    content: str | list[Any] | None | UnsetType = UNSET


class RetrievalDoc(msgspec.Struct):
    id: str | None | UnsetType = UNSET
    score: Number | None | UnsetType = UNSET
    source: str | None | UnsetType = UNSET
    relevant: bool | Number | None | UnsetType = UNSET
    text: str | None | UnsetType = UNSET


class _Fields(msgspec.Struct, kw_only=True, gc=False):
    timestamp: Timestamp
    model: Annotated[str, msgspec.Meta(min_length=1)]
    provider: str | None = None
    operation: str | None = None
    prompt: str | None = None
    system_prompt: str | None = None
    messages: list[Message] | None = None
    response: str | None = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cached_input_tokens: Count | None = None
    cache_write_tokens: Count | None = None
    reasoning_tokens: Count | None = None
    cost_usd: NonNegative | None = None
    latency_ms: NonNegative | None = None
    ttft_ms: NonNegative | None = None
    retrieval_docs: list[str | RetrievalDoc] | None = None
    feedback_rating: Number | None = None
    feedback_comment: str | None = None
    hallucination_flag: bool | None = None
    eval_scores: dict[str, Number] | None = None
    refusal: bool | None = None
    moderation_flags: list[str] | dict[str, bool | Number] | None = None
    status: Literal["ok", "error"] | None = None
    error_type: str | None = None
    error_message: str | None = None
    retries: Count | None = None
    sample_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    finish_reason: str | None = None
    request_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    prompt_id: str | None = None
    prompt_version: str | int | None = None
    app: str | None = None
    environment: str | None = None
    stage: Literal["training", "inference", "deployment"] | None = None
    embedding: list[Number] | None = None
    tags: list[str] | None = None
    metadata: dict[str, msgspec.Raw] | None = None  # any object; values are not inspected


class ClosedRecord(_Fields, forbid_unknown_fields=True):
    """A record with no fields beyond the schema's."""


class OpenRecord(_Fields):
    """A record that may carry the user's own fields."""


class _BatchRecord(ClosedRecord, kw_only=True, gc=False):
    """:class:`ClosedRecord` with the timestamp's pattern left out: the JSONL reader checks
    the pattern (:data:`RFC3339_RUST`) on a whole chunk's timestamps at once, in polars,
    which costs far less than one Python regex call per record."""

    timestamp: str


FIELD_NAMES: frozenset[str] = frozenset(_Fields.__struct_fields__)

raw_batch = msgspec.json.Decoder(list[dict[str, Any]])

_UNKNOWN = re.compile(r"^Object contains unknown field `(.*)` - at `\$\[\d+\]`$", re.DOTALL)


@cache
def _record(extras: tuple[str, ...]) -> type:
    """The batch record with ``extras``; a field left out of a line is UNSET (an explicit
    null is None), so that its members can be counted."""
    optional = [(f.name, f.type | UnsetType, UNSET)
                for f in msgspec.structs.fields(_BatchRecord) if not f.required]
    return msgspec.defstruct(
        "Record", [*optional, *((f"x{i}", Any, UNSET) for i in range(len(extras)))],
        bases=(_BatchRecord,), rename={f"x{i}": name for i, name in enumerate(extras)},
        forbid_unknown_fields=True, gc=False, kw_only=True)


@cache
def closed_batch(extras: tuple[str, ...] = ()) -> msgspec.json.Decoder[list[Any]]:
    """A decoder of a JSON array of records with exactly the schema's fields plus ``extras``
    (decoded as plain values into attributes ``x0``, ``x1``, ...). Timestamps must still be
    checked against :data:`RFC3339_RUST`."""
    return msgspec.json.Decoder(list[_record(extras)])  # type: ignore[misc]


@cache
def closed_record(extras: tuple[str, ...] = ()) -> msgspec.json.Decoder[Any]:
    """The same records one at a time, for ``decode_lines``. That method reads a stream of
    JSON values, not lines: its caller must make sure there is one value per line."""
    return msgspec.json.Decoder(_record(extras))


def unknown_field(error: msgspec.ValidationError) -> str | None:
    """The user field named by an 'unknown field' error, else None."""
    match = _UNKNOWN.match(str(error))
    return match.group(1) if match else None
