"""Shared Typer options, defined once and reused by every command."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

Paths = Annotated[
    list[str],
    typer.Argument(
        help="Log files, directories (searched recursively), globs, or - for stdin; also "
        "s3://, az://, gs:// prefixes, objects and globs (docs/scale.md).",
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
Seed = Annotated[int, typer.Option("--seed", min=0, max=2**31 - 1,
                                   help="Random seed (0 to 2**31-1), for reproducible "
                                   "results.")]
Prices = Annotated[
    Path | None,
    typer.Option("--prices", help="Price file in LiteLLM's "
                 "model_prices_and_context_window.json format (USD per token)."),
]
OutPath = Annotated[Path, typer.Option("--out", help="Output file.")]
PartialOut = Annotated[
    Path | None,
    typer.Option("--partial-out", help="Write this input's mergeable partial result to this "
                 "JSON file instead of the result; `genailog merge` finishes parts.",
                 show_default=False),
]
Engine = Annotated[
    str | None,
    typer.Option("--engine", help="Compute per file on a Dask cluster and merge (same "
                 "answer): dask for a local cluster, dask://HOST:PORT for a running "
                 "scheduler. Needs pip install 'genailog[dask]' (docs/scale.md).",
                 show_default=False),
]


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


Outputs = Annotated[
    list[Path] | None,
    typer.Option("--output", help="Also write the result to this file, format from the "
                 "extension: .json (the --format json result plus genailog_version and "
                 "$schema), .md, .csv (tabular results), .xml (JUnit). Repeatable.",
                 show_default=False),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing on stdout (files from --output "
                       "and the exit code still say it all).")
]
GitHub = Annotated[
    bool, typer.Option("--github", help="GitHub Actions mode (on by itself when "
                       "GITHUB_ACTIONS=true): the markdown is appended to "
                       "$GITHUB_STEP_SUMMARY and failures become ::error annotations.")
]
AllowEmpty = Annotated[
    bool, typer.Option("--allow-empty", help="Let a gate pass when there is nothing to judge "
                       "(no records, a null metric, a group under --min-records); by default "
                       "that fails, so a broken logging pipeline cannot turn CI green.")
]
MinRecords = Annotated[
    int, typer.Option("--min-records", help="Groups with fewer records are not judged; a "
                      "gate over such a group fails (unless --allow-empty).")
]


#: Commands that take --output/--quiet/--github, and the formats their --output writes.
OUTPUT_FORMATS: dict[str, frozenset[str]] = {
    "validate": frozenset({"json", "markdown", "junit"}),
    "summarize": frozenset({"json", "markdown", "csv", "junit"}),
    "diff-prompts": frozenset({"json", "markdown", "csv", "junit"}),
    "drift": frozenset({"json", "markdown", "csv", "junit"}),
    # merge finishes summarize, diff-prompts or drift partials and renders like them
    "merge": frozenset({"json", "markdown", "csv", "junit"}),
    "traces": frozenset({"json", "markdown", "junit"}),
    "export-dataset": frozenset({"json", "markdown"}),
    "redact": frozenset({"json", "markdown"}),
    "convert": frozenset({"json", "markdown"}),
    "sample": frozenset({"json", "markdown"}),
    "inspect": frozenset({"json", "markdown"}),
    "retrieval": frozenset({"json", "markdown"}),
}


@functools.cache
def _signature(func: Any) -> Any:
    """``func``'s signature with its annotations evaluated: asked twice per wrapper (what it
    takes, then what it shows), evaluated once (about 0.3 ms each, 28 per ``--help``)."""
    import inspect

    return inspect.signature(func, eval_str=True)


def keyword_options(func: Any, options: Sequence[tuple[str, Any, Any]]) -> list[Any]:
    """``inspect.Parameter``s for ``(name, Annotated option, default)`` that ``func`` does
    not take yet: the options a wrapper adds (see :func:`show_options`)."""
    import inspect

    taken = _signature(func).parameters
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                              annotation=kind)
            for name, kind, default in options if name not in taken]


def show_options(wrapper: Any, func: Any, added: Sequence[Any]) -> Any:
    """``wrapper`` of ``func`` as Typer should see it: ``func``'s options, then ``added``."""
    signature = _signature(func)
    params = [*signature.parameters.values(), *added]
    wrapper.__signature__ = signature.replace(parameters=params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def with_output_options(name: str, func: Any) -> Any:
    """``func`` with ``--output``, ``--quiet`` and ``--github`` added; they are checked
    before the command runs and read by ``genailog.cli.render.emit``."""
    formats = OUTPUT_FORMATS.get(name)
    if formats is None:
        return func
    added = keyword_options(func, (("outputs", Outputs, None), ("quiet", Quiet, False),
                                   ("github", GitHub, False)))

    @functools.wraps(func)
    def wrapper(*args: Any, outputs: list[Path] | None = None, quiet: bool = False,
                github: bool = False, **kwargs: Any) -> Any:
        from genailog.cli.render import (
            OutputRequest,
            check_outputs,
            github_mode,
            reset_request,
            set_request,
        )
        from genailog.config import config_default

        outputs = config_default(name, "output", outputs or [], [])
        check_outputs(name, outputs, formats)
        token = set_request(OutputRequest(name, list(outputs), quiet,
                                          github_mode(github)))
        try:
            return func(*args, **kwargs)
        finally:
            reset_request(token)

    return show_options(wrapper, func, added)
