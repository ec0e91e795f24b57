"""Format adapters: detect a log file's format from its content and map it to canonical records.

One module per source format. Each yields ``(file, line, record)`` where ``record`` is a
canonical record dict (typed later by :func:`genailog.ingest.frame.canonical_frame`), or
an :class:`~genailog.errors.InvalidRecordError` for a line it could not read. Detection
looks only at the first ~64 KiB, so it works on documents cut anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from genailog.errors import InvalidRecordError, UnknownFormatError, UsageError
from genailog.ingest.formats import langfuse, litellm, llm, mlflow, openinference, otlp
from genailog.ingest.formats._common import Item, Record

FORMATS: tuple[str, ...] = ("genailog", "otlp", "openinference", "litellm", "langfuse",
                            "mlflow", "llm")

Loader = Callable[[list[tuple[str, bytes]]], Iterator[Item]]


def _per_file(load: Callable[[str, bytes], Iterator[Item]]) -> Loader:
    def load_all(files: list[tuple[str, bytes]]) -> Iterator[Item]:
        for name, data in files:
            yield from load(name, data)
    return load_all


LOADERS: dict[str, Loader] = {
    "otlp": otlp.load_many,
    "openinference": openinference.load_many,
    "litellm": _per_file(litellm.load_records),
    "langfuse": _per_file(langfuse.load_records),
    "mlflow": _per_file(mlflow.load_records),
    "llm": _per_file(llm.load_records),
}

_OPENINFERENCE_MARKS = (b'"openinference.span.kind"', b'"llm.model_name"', b'"llm.token_count.',
                        b'"openinference.instrumentation')
_MLFLOW_MARKS = re.compile(rb'"(mlflow\.spanType|trace_location|request_metadata|'
                           rb'trace_metadata|mlflow\.traceRequestId)"')


def _first_object(text: str) -> dict[str, Any] | None:
    """The first JSON object of JSON lines, or of a JSON list, if it fits in the head."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        stripped = stripped[1:].lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _has(obj: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(key in obj for key in keys)


def _from_object(obj: dict[str, Any], head: bytes) -> str | None:
    """The format of a parsed first record, judged by its keys."""
    if "resourceSpans" in obj or "resourceLogs" in obj:
        return _otlp_kind(head)
    if "standard_logging_object" in obj or sum(k in obj for k in litellm.SIGNATURE) >= 2:
        return "litellm"
    if _has(obj, langfuse.SIGNATURE):
        return "langfuse"
    if sum(k in obj for k in llm.SIGNATURE) >= 2:
        return "llm"
    if "info" in obj and "data" in obj:
        return "mlflow"
    if "timestamp" in obj and "model" in obj:
        return "genailog"
    return None


def _otlp_kind(head: bytes) -> str:
    if b'"resourceSpans"' in head and any(m in head for m in _OPENINFERENCE_MARKS):
        return "openinference"
    return "otlp"


def _from_head(head: bytes) -> str | None:
    """The format judged from marker keys, for documents too long to parse from the head."""
    if b'"resourceSpans"' in head or b'"resourceLogs"' in head:
        return _otlp_kind(head)
    if _MLFLOW_MARKS.search(head):
        return "mlflow"
    if b'"datetime_utc"' in head and b'"duration_ms"' in head:
        return "llm"
    if b'"litellm_call_id"' in head:
        return "litellm"
    if b'"provided_model_name"' in head or b'"usage_details"' in head:
        return "langfuse"
    if head.lstrip()[:1] == b"{" and b'"timestamp"' in head and b'"model"' in head:
        return "genailog"  # a canonical first record longer than the head
    return None


def _csv_header(text: str) -> str | None:
    header = text.split("\n", 1)[0]
    columns = {c.strip().strip('"') for c in header.split(",")}
    if "type" in columns and ({"provided_model_name", "usage_details"} & columns):
        return "langfuse"
    return None


def detect_format(path: str, head: bytes) -> str:
    """The format of a file from its first bytes (decompressed); one of :data:`FORMATS`."""
    text = head.decode("utf-8-sig", errors="replace")
    if text.lstrip()[:1] in ("{", "["):
        # keys of a parsed first record decide; raw markers only when it is cut off,
        # since a prompt may quote another format's key names
        obj = _first_object(text)
        found = _from_object(obj, head) if obj is not None else _from_head(head)
    else:
        found = _csv_header(text)
    if found is None:
        raise UnknownFormatError(
            f"{path}: not a log format genailog knows; known formats: {', '.join(FORMATS)} "
            "(JSON lines or documents), langfuse CSV, and canonical Parquet; "
            "pass --input-format to choose one")
    return found


def _loader(fmt: str) -> Loader:
    if fmt not in LOADERS:
        raise UsageError(f"no adapter for format {fmt!r}; adapters: {', '.join(LOADERS)}")
    return LOADERS[fmt]


def load_many(files: list[tuple[str, bytes]], fmt: str,
              errors: list[InvalidRecordError] | None = None,
              ) -> Iterator[tuple[str, int, Record]]:
    """Canonical records of all ``files`` of one non-canonical format, read together (OTLP
    logs join their traces). A line that cannot be read raises
    :class:`InvalidRecordError`, or is appended to ``errors`` when a list is given."""
    for file, line, item in _loader(fmt)(files):
        if isinstance(item, InvalidRecordError):
            if errors is None:
                raise item
            errors.append(item)
        else:
            yield file, line, item


def load_records(path: str, data: bytes, fmt: str) -> Iterator[tuple[int, Record]]:
    """(line, canonical record) of one file of a non-canonical format."""
    for _, line, record in load_many([(path, data)], fmt):
        yield line, record
