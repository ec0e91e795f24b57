"""``genailog validate``: render a :class:`ValidationResult` and map it to an exit code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from genailog.cli.options import InputFormat, Paths

if TYPE_CHECKING:
    from genailog.ingest.validate import ValidationResult


class ValidateFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def validate_command(
    paths: Paths,
    schema: Annotated[
        Path | None,
        typer.Option("--schema", help="Validate against this JSON Schema 2020-12 file "
                     "instead of the bundled record schema."),
    ] = None,
    output: Annotated[
        ValidateFormat, typer.Option("--format", help="table, json or markdown.")
    ] = ValidateFormat.table,
    max_errors: Annotated[
        int, typer.Option("--max-errors", help="List at most N problems (all are counted).")
    ] = 50,
    quarantine: Annotated[
        Path | None,
        typer.Option("--quarantine", help="Write the raw invalid lines to this file."),
    ] = None,
    input_format: InputFormat = "auto",
) -> None:
    """Check every record against the schema, naming file, line and JSON pointer.

    Exit codes: 0 all valid, 1 invalid records found, 2 usage error, 3 unreadable input.

    Example: [bold]genailog validate logs/ --format json[/]
    """
    from genailog.cli.render import Renderers, emit
    from genailog.ingest.validate import validate
    from genailog.render.markdown import validate_markdown

    result = validate(paths, schema=schema, max_errors=max_errors, quarantine=quarantine,
                      input_format=input_format)
    emit("validate", result.to_dict(), Renderers(lambda: _render(result), validate_markdown),
         output.value)
    if not result.valid:
        raise typer.Exit(1)


def _render(result: ValidationResult) -> None:
    from rich.table import Table

    from genailog.cli.render import esc, stderr, stdout

    if result.valid:
        stdout.print(f"[green]valid[/]: {result.records} records in {len(result.files)} "
                     "file(s)")
        return
    table = Table("file:line", "path", "problem", title="Invalid records", title_justify="left")
    for error in result.errors():
        table.add_row(esc(f"{error['file']}:{error['line']}"), esc(error["path"] or "-"),
                      esc(error["message"]))
    stdout.print(table)
    listed = len(result.errors())
    more = result.error_count - listed
    stdout.print(f"[red]invalid[/]: {result.invalid} of {result.records} records"
                 + (f" ({more} more problems not listed; raise --max-errors)" if more else ""))
    if result.invalid:
        stderr.print("Fix the lines above; other commands can read around them with "
                     "--on-invalid skip (or quarantine=PATH), and validate --quarantine PATH "
                     "writes them to a file.", style="dim")
