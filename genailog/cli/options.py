"""Shared Typer options, defined once and reused by every command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

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
        help="Reader for the inputs: auto (detect from content), genailog, otlp, "
        "openinference, litellm, langfuse, mlflow, llm, json or genailog-spans "
        "(docs/formats.md).",
    ),
]
Where = Annotated[
    str | None,
    typer.Option("--where", help="Condition over record fields (docs/expressions.md), "
                 "e.g. \"model = 'gpt-4.1' AND latency_ms > 1000\"."),
]
Since = Annotated[
    str | None, typer.Option("--since", help="Keep records at or after this date/datetime.")
]
Until = Annotated[
    str | None, typer.Option("--until", help="Keep records before this date/datetime.")
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed, for reproducible results.")]
Prices = Annotated[
    Path | None,
    typer.Option("--prices", help="Price file in LiteLLM's "
                 "model_prices_and_context_window.json format (USD per token)."),
]
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


FieldMap = Annotated[
    list[str] | None,
    typer.Option("--map", help="Read a canonical field from your own field: FIELD=PATH with a "
                 "dotted path, e.g. --map input_tokens=meta.tok_in (repeatable).",
                 show_default=False),
]
DefaultModel = Annotated[
    str | None,
    typer.Option("--model", help="The model of records that name none (e.g. logs written "
                 "by the logging tutorial).", show_default=False),
]
TimeZone = Annotated[
    str | None,
    typer.Option("--timezone", help="Time zone of times written without an offset "
                 "(logging's %(asctime)s); default UTC.", show_default=False),
]


def read_options(field_map: list[str] | None, model: str | None, timezone: str | None) -> Any:
    """The ReadOptions for ``--map``/``--model``/``--timezone``, completed by the config
    file's ``[tool.genailog]`` ``map``, ``model`` and ``timezone`` (the command line wins)."""
    from genailog.config import load_config
    from genailog.ingest.context import ReadOptions, parse_map, parse_zone

    config = load_config()
    mapping = {**parse_map(config.get_list("map")), **parse_map(field_map)}
    zone = timezone or config.get_str("timezone") or "UTC"
    parse_zone(zone)
    return ReadOptions(mapping, model or config.get_str("model"), zone)
