"""``genailog convert``: store logs of any known format once, in canonical JSONL or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genailog.cli.options import InputFormat, OnInvalid, Paths, ReportFormat


def convert_command(
    paths: Paths,
    out: Annotated[Path, typer.Option("--out", help="Output file (.jsonl or .parquet).")],
    output_format: Annotated[
        str | None,
        typer.Option("--format", help="jsonl or parquet (default: from --out's suffix, "
                     "else jsonl)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists.")
    ] = False,
    report: Annotated[
        ReportFormat, typer.Option("--report-format", help="How to print what was written: "
                                   "table, json or markdown.")
    ] = ReportFormat.table,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
) -> None:
    """Convert logs (OTLP, OpenInference, LiteLLM, Langfuse, MLflow, llm, canonical) to
    canonical JSONL or Parquet.

    Example: genailog convert traces.json litellm.jsonl --out calls.parquet
    """
    from genailog.cli.render import esc, print_json, stdout
    from genailog.ingest.convert import convert

    result = convert(paths, out, output_format, on_invalid=on_invalid,
                     input_format=input_format, overwrite=overwrite)
    if report is ReportFormat.json:
        print_json(result.to_dict())
        return
    counts = sorted(result.input_formats.items())
    if report is ReportFormat.markdown:
        rows = [f"| {name} | {count} |" for name, count in counts]
        stdout.out("\n".join(["| input format | records |", "| --- | ---: |", *rows]))
        return
    stdout.print(f"wrote {result.records} records to {esc(result.out)} ({result.format}); "
                 f"skipped {result.read['skipped']} invalid")
    for name, count in counts:
        stdout.print(f"  {name}: {count}")
