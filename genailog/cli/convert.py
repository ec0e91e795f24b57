"""``genailog convert``: store logs of any known format once, in canonical JSONL or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genailog.cli.options import InputFormat, OnInvalid, Paths, ReportFormat


def convert_command(
    paths: Paths,
    out: Annotated[Path, typer.Option("--out", help="Output file (.jsonl or .parquet).")],
    file_format: Annotated[
        str | None,
        typer.Option("--file-format", help="jsonl or parquet (default: from --out's suffix, "
                     "else jsonl)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists.")
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="[table|json|markdown]",
                     help="How to print what was written: table (default), json or markdown."),
    ] = None,
    old_report: Annotated[
        ReportFormat | None,
        typer.Option("--report-format", hidden=True, help="Deprecated: use --format."),
    ] = None,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
) -> None:
    """Convert logs (any format genailog reads: docs/formats.md) to canonical JSONL or
    Parquet.

    Example: genailog convert traces.json genai.log --out calls.parquet
    """
    from genailog.cli.render import Renderers, emit, esc, stdout
    from genailog.dataset.convert import convert
    from genailog.render.markdown import table

    report, file_format = _report_and_file_format(fmt, old_report, file_format)
    result = convert(paths, out, file_format, on_invalid=on_invalid,
                     input_format=input_format, overwrite=overwrite)
    counts = sorted(result.input_formats.items())

    def show() -> None:
        stdout.print(f"wrote {result.records} records to {esc(result.out)} ({result.format});"
                     f" skipped {result.read['skipped']} invalid")
        for name, count in counts:
            stdout.print(f"  {esc(name)}: {count}")

    emit("convert", result.to_dict(), Renderers(show, lambda _: "\n".join(
        table(["input format", "records"], counts, numeric=[1])) + "\n"), report.value)


def _report_and_file_format(fmt: str | None, old: ReportFormat | None,
                            file_format: str | None) -> tuple[ReportFormat, str | None]:
    """--format is the report format in every command; the file format is --file-format.
    The old spellings (--report-format, --format jsonl|parquet) work for one release."""
    from genailog.cli.render import esc, stderr
    from genailog.dataset.convert import OUTPUT_FORMATS
    from genailog.errors import UsageError

    if old is not None:
        stderr.print(f"[yellow]deprecated:[/] --report-format is now --format {old.value}")
    if fmt is None:
        return old or ReportFormat.table, file_format
    if fmt in ReportFormat.__members__.values():
        return ReportFormat(fmt), file_format
    if fmt in OUTPUT_FORMATS and file_format is None:
        stderr.print(f"[yellow]deprecated:[/] {esc(f'--format {fmt} is now --file-format {fmt}')}")
        return old or ReportFormat.table, fmt
    raise UsageError(f"--format takes table, json or markdown, not {fmt!r} (the file format "
                     "is --file-format)")
