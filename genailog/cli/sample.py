"""``genailog sample``: write deterministic, realistic sample logs to a directory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from genailog.cli.options import ReportFormat, Seed


def sample_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (created if missing).")],
    records: Annotated[
        int, typer.Option("--records", min=0, help="Number of records to generate.")
    ] = 3000,
    seed: Seed = 7,
    days: Annotated[int, typer.Option("--days", min=1, help="Days the records span.")] = 14,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day, YYYY-MM-DD or RFC 3339.",
                     show_default="2026-11-02"),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace files that already exist.")
    ] = False,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="How to print what was written.")
    ] = ReportFormat.table,
) -> None:
    """Generate sample logs: weekN.jsonl files plus codeassist.parquet.

    The same --records, --seed, --days and --start always give the same files.

    Example: genailog sample --out sample_logs --records 3000 --seed 7
    """
    from genailog.cli.render import Renderers, emit
    from genailog.render.markdown import table
    from genailog.sample import write_sample

    result = write_sample(out, records, seed, start=_parse_start(start), days=days,
                          overwrite=overwrite)
    rows = [(f.path, f.format, f.records) for f in result.files]
    emit("sample", result.to_dict(), Renderers(
        lambda: _print_table(rows, result.records, result.seed, result.start, result.days),
        lambda _: "\n".join(table(["file", "format", "records"], rows, numeric=[2])) + "\n"),
        output_format.value)


def _parse_start(text: str | None) -> datetime | None:
    from genailog.errors import UsageError
    from genailog.ingest.frame import parse_timestamp

    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise UsageError(f"--start takes YYYY-MM-DD or an RFC 3339 time, not {text!r}") from None


def _print_table(rows: list[tuple[str, str, int]], records: int, seed: int, start: str,
                 days: int) -> None:
    from rich.table import Table

    from genailog.cli.render import esc, stdout

    table = Table(title=f"{records} sample records, seed {seed}, {days} days from {esc(start)}")
    table.add_column("file")
    table.add_column("format")
    table.add_column("records", justify="right")
    for path, kind, count in rows:
        table.add_row(esc(path), kind, str(count))
    stdout.print(table)
