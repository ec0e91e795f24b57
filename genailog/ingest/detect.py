"""Deciding each input's format from its name and first bytes."""

from __future__ import annotations

import json
from typing import Any

from genailog.errors import UnknownFormatError
from genailog.ingest.sources import Source

BOM = b"\xef\xbb\xbf"
INPUT_FORMATS = ("auto", "genailog", "otlp", "openinference", "litellm", "langfuse", "mlflow",
                 "llm")


def _adapters() -> Any:
    try:
        from genailog.ingest import formats
    except ImportError:
        return None
    return formats if hasattr(formats, "detect_format") else None


def detect(source: Source, head: bytes, input_format: str = "auto") -> str:
    """``parquet``, ``genailog`` or the name of a format adapter."""
    if source.kind == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if input_format != "auto":
        return input_format
    if not head.removeprefix(BOM).strip():
        return "genailog"  # an empty log (no calls were made): zero records, not an error
    adapters = _adapters()
    if adapters is not None:
        return str(adapters.detect_format(source.name, head))
    first = head.removeprefix(BOM).lstrip().split(b"\n", 1)[0]
    try:
        value = json.loads(first)
    except ValueError:
        value = None
    if isinstance(value, dict) and "timestamp" in value and "model" in value:
        return "genailog"
    raise UnknownFormatError(
        f"{source.name}: not a log format genailog knows; formats: "
        + ", ".join(INPUT_FORMATS[1:]) + ", parquet")
