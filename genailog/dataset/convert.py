"""``convert``: read logs of any known format and store them once as canonical JSONL or Parquet.

Reading goes through :func:`genailog.ingest.read_logs` (detection, adapters, the
``--on-invalid`` policy); writing reuses the dataset writers, so canonical JSONL written
here reads back to the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genailog.errors import UsageError

OUTPUT_FORMATS: tuple[str, ...] = ("jsonl", "parquet")


@dataclass(frozen=True)
class ConvertResult:
    """What was written, and what was read to write it."""

    out: str
    format: str
    records: int
    input_formats: dict[str, int]
    read: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out, "format": self.format, "records": self.records,
            "input_formats": dict(sorted(self.input_formats.items())),
            "skipped": self.read["skipped"], "read": self.read,
        }


def output_format_for(out: Path, fmt: str | None) -> str:
    """The output format: as given, else from the file suffix, else JSONL."""
    if fmt is None:
        fmt = "parquet" if out.suffix.lower() == ".parquet" else "jsonl"
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"--file-format takes {' or '.join(OUTPUT_FORMATS)}, not {fmt!r}")
    return fmt


def convert(
    paths: Sequence[str | Path],
    out: str | Path,
    format: str | None = None,  # noqa: A002 - the CLI's --format
    *,
    on_invalid: str = "fail",
    input_format: str = "auto",
    overwrite: bool = False,
) -> ConvertResult:
    """Read ``paths`` and write their records in canonical form to ``out``."""
    from genailog.dataset.export import json_columns_of
    from genailog.dataset.writers import write_jsonl, write_parquet
    from genailog.ingest import read_logs
    from genailog.outputs import check_target

    target = Path(out)
    fmt = output_format_for(target, format)
    check_target(target, overwrite=overwrite)  # before reading: fail fast, not after the work
    logs = read_logs(paths, on_invalid=on_invalid, input_format=input_format)
    frame = logs.frame.collect()
    if fmt == "parquet":
        records = write_parquet(frame, target, overwrite=overwrite)
    else:
        records = write_jsonl(frame, target, json_columns_of(frame, logs.report),
                              overwrite=overwrite)
    formats: dict[str, int] = {}
    for file in logs.report.files:
        formats[file.format] = formats.get(file.format, 0) + file.records
    return ConvertResult(str(target), fmt, records, formats, logs.report.to_dict())
