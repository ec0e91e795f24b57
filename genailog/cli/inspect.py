"""``genailog inspect``: render an :class:`InspectResult` (what was read, and how)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genailog.cli.options import (
    DefaultModel,
    FieldMap,
    Format,
    InputFormat,
    Paths,
    ReportFormat,
    TimeZone,
    read_options,
)

if TYPE_CHECKING:
    from genailog.ingest.inspect import InspectResult


def inspect_command(
    paths: Paths,
    input_format: InputFormat = "auto",
    field_map: FieldMap = None,
    model: DefaultModel = None,
    timezone: TimeZone = None,
    output: Format = ReportFormat.table,
) -> None:
    """Show how genailog reads some logs: per file the shape detected and why, the field
    mapping used, records, invalid records and other lines; then each canonical field's
    coverage and what a missing one costs.

    Exit codes: 0 read (even with no call found), 2 usage error, 3 unreadable input.

    Example: [bold]genailog inspect genai.log[/]
    """
    from genailog.cli.render import Renderers, emit
    from genailog.ingest.inspect import inspect_logs

    result = inspect_logs(paths, input_format=input_format,
                          options=read_options(field_map, model, timezone))
    emit("inspect", result.to_dict(),
         Renderers(lambda: _render(result), lambda _: _markdown(result)), output.value)


def _render(result: InspectResult) -> None:
    from rich.table import Table

    from genailog.cli.render import esc, stdout

    for f in result.files:
        stdout.print(f"[bold]{esc(f.path)}[/]: {esc(f.format)} - {esc(f.why)}")
        stdout.print(f"  records {f.records:,}, invalid {f.invalid:,}, other lines "
                     f"{f.other_lines:,}")
        for canonical, source in f.mapping.items():
            if source != canonical:
                stdout.print(f"  {esc(source)} -> {esc(canonical)}")
    for path, reason in result.unreadable:
        stdout.print(f"[red]unreadable[/] {esc(path)}: {esc(reason)}")
    table = Table("field", "coverage", title=f"{result.records:,} records", title_justify="left")
    for name, share in result.coverage.items():
        table.add_row(name, "-" if share is None else f"{share:.0%}")
    stdout.print(table)
    for line in result.consequences + result.notes:
        stdout.print(esc(line))


def _markdown(result: InspectResult) -> str:
    from genailog.textsafe import markdown as md

    lines = ["| file | format | records | invalid | other lines |", "|---|---|---:|---:|---:|"]
    lines += [f"| {md(f.path)} | {md(f.format)} | {f.records} | {f.invalid} | {f.other_lines} |"
              for f in result.files]
    lines += ["", "| field | coverage |", "|---|---:|"]
    lines += [f"| {name} | {'-' if share is None else f'{share:.0%}'} |"
              for name, share in result.coverage.items()]
    lines += [""] + [f"- {md(line)}" for line in result.consequences + result.notes]
    return "\n".join(lines)
