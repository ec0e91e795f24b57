"""Deciding each input's format from its name and first bytes (the registry decides)."""

from __future__ import annotations

from genailog.ingest.context import ReadContext
from genailog.ingest.sources import BOM, Source

__all__ = ["detect"]


def detect(source: Source, head: bytes, input_format: str = "auto",
           ctx: ReadContext | None = None) -> str:
    """``parquet``, ``genailog`` or the name of a format adapter."""
    if source.kind == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if input_format != "auto":
        return input_format
    if not head.removeprefix(BOM).strip():
        return "genailog"  # an empty file: zero records, judged by the caller
    # the registry's 14 adapter modules load only when a file is not Parquet
    from genailog.ingest.formats import detect_format

    return detect_format(source.name, head, ctx)
