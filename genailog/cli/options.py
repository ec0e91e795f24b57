"""Shared Typer options, defined once and reused by every command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

Paths = Annotated[
    list[str],
    typer.Argument(
        help="Log files, directories (searched recursively), globs, or - for stdin.",
        show_default=False,
    ),
]
OnInvalid = Annotated[
    str,
    typer.Option(
        "--on-invalid",
        help="What to do with a malformed or invalid record: fail, skip, or quarantine=PATH.",
    ),
]
InputFormat = Annotated[
    str,
    typer.Option(
        "--input-format",
        help="Log format of the inputs: auto (detect from content), genailog, otlp, "
        "openinference, litellm, langfuse, mlflow or llm.",
    ),
]
Where = Annotated[
    str | None,
    typer.Option("--where", help="SQL predicate over record fields, e.g. \"model = 'gpt-4.1'\"."),
]
Since = Annotated[
    str | None, typer.Option("--since", help="Keep records at or after this date/datetime.")
]
Until = Annotated[
    str | None, typer.Option("--until", help="Keep records before this date/datetime.")
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed, for reproducible results.")]
OutPath = Annotated[Path, typer.Option("--out", help="Output file.")]


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


Format = Annotated[
    ReportFormat, typer.Option("--format", help="Output format: table, json or markdown.")
]


def split_names(items: list[str] | None) -> list[str]:
    """Names from repeatable, comma-separated options (``--by a,b --by c``)."""
    return [name.strip() for item in items or [] for name in item.split(",") if name.strip()]
