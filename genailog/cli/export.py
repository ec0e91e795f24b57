"""``genailog export-dataset`` and ``genailog redact``: parse options, call the library, render.

``--format table|json`` is what the command prints, as in every command (``json`` prints
exactly ``result.to_dict()``); the dataset's own format is ``--dataset-format``. Until the
next release ``--format`` also takes a dataset format, and ``--report-format`` the report
format, each with a deprecation message.

A SIGTERM (``kill``, a CI timeout) unwinds like Ctrl-C, so the temporary output files are
removed and the worker processes stopped on that exit path too.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer

from genailog.cli.options import (
    InputFormat,
    OnInvalid,
    OutPath,
    Paths,
    Seed,
    Since,
    Until,
    Where,
    split_names,
)


class DatasetFormat(StrEnum):
    jsonl = "jsonl"
    openai_chat = "openai-chat"
    openai_evals = "openai-evals"
    promptfoo = "promptfoo"
    csv = "csv"
    parquet = "parquet"


class ReportStyle(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class DedupMode(StrEnum):
    exact = "exact"
    near = "near"


Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", metavar="[table|json|markdown]",
                 help="How to print what was written: table (default), json or markdown."),
]
#: Deprecated: --format is the report format in every command (issue 12).
ReportFormatOpt = Annotated[
    ReportStyle | None,
    typer.Option("--report-format", hidden=True,
                 help="Deprecated: use --format table|json."),
]


def _warn(text: str) -> None:
    from genailog.cli.render import esc, stderr

    stderr.print(f"[yellow]deprecated:[/] {esc(text)}")


def _report_style(fmt: str | None, old: ReportStyle | None) -> tuple[ReportStyle, str | None]:
    """The report style, and a dataset format given the deprecated way (--format jsonl)."""
    from genailog.errors import UsageError

    if old is not None:
        _warn(f"--report-format is now --format {old.value}; --report-format will be "
              "removed in the next release")
    if fmt is None:
        return old or ReportStyle.table, None
    if fmt in ReportStyle.__members__.values():
        return ReportStyle(fmt), None
    if fmt in DatasetFormat.__members__.values():
        _warn(f"--format {fmt} for the dataset format is now --dataset-format {fmt}; "
              "--format will take only table or json in the next release")
        return old or ReportStyle.table, fmt
    raise UsageError(f"--format takes table, json or markdown, not {fmt!r} (the dataset "
                     "format is "
                     "--dataset-format)")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that cleanup runs as for Ctrl-C."""


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
RedactFields = Annotated[
    str | None,
    typer.Option("--redact-fields", help="Comma-separated fields to redact besides the defaults."),
]
KeepFields = Annotated[
    str | None,
    typer.Option("--keep-fields", help="Comma-separated fields never to redact."),
]


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(split_names([text] if text else None))


def _command_line() -> tuple[str, ...]:
    return ("genailog", *sys.argv[1:])


def export_command(
    paths: Paths,
    out: OutPath,
    dataset_format: Annotated[
        DatasetFormat | None,
        typer.Option("--dataset-format", help="Dataset format. Default: from --out's "
                     "extension (.csv, .parquet, .yaml = promptfoo), else jsonl."),
    ] = None,
    where: Where = None,
    since: Since = None,
    until: Until = None,
    fields: Annotated[
        str | None,
        typer.Option("--fields", help="Comma-separated fields to keep (jsonl, csv, parquet) "
                     "or to add as vars (promptfoo)."),
    ] = None,
    sample: Annotated[
        str | None, typer.Option("--sample", help="Keep N records (500) or a fraction (0.1).")
    ] = None,
    stratify_by: Annotated[
        str | None, typer.Option("--stratify-by", help="Keep this field's mix when sampling "
                                 "and splitting.")
    ] = None,
    dedup: Annotated[
        DedupMode | None, typer.Option("--dedup", help="Remove exact or near duplicates.")
    ] = None,
    near_threshold: Annotated[
        float, typer.Option("--near-threshold", help="TF-IDF cosine for --dedup near.")
    ] = 0.9,
    redact: Annotated[
        bool, typer.Option("--redact", help="Replace PII and secrets with typed placeholders.")
    ] = False,
    redact_fields: RedactFields = None,
    keep_fields: KeepFields = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Write parts, e.g. train=0.8,test=0.2.")
    ] = None,
    group_by: Annotated[
        str, typer.Option("--group-by", help="Records sharing this field stay in one part.")
    ] = "session_id",
    seed: Seed = 0,
    overwrite: Overwrite = False,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
    report: FormatOpt = None,
    report_format: ReportFormatOpt = None,
    bad_answers: Annotated[
        str, typer.Option("--bad-answers", help="promptfoo: a logged answer judged bad "
                          "(hallucination_flag, or feedback_rating <= --bad-rating) is never "
                          "the expected output: omit its assertion, or not-similar to "
                          "assert the new answer is unlike it.")
    ] = "omit",
    bad_rating: Annotated[
        float, typer.Option("--bad-rating", help="A feedback_rating at or below this marks "
                            "the answer bad (2 for 1-5 stars, 0 for thumbs 0/1).")
    ] = 2.0,
) -> None:
    """Export logs as an evaluation or fine-tuning dataset, with a manifest beside it.

    jsonl keeps genailog JSONL records as logged; other inputs and --fields give canonical ones.

    Example: genailog export-dataset logs/ --out bad.jsonl --dataset-format openai-chat
    --where "feedback_rating <= 2" --dedup exact --redact --split train=0.8,test=0.2
    """
    from genailog.cli.render import Renderers, emit
    from genailog.dataset.export import ExportOptions, export_dataset
    from genailog.dataset.split import parse_sample, parse_split
    from genailog.errors import UsageError

    style, old_dataset_format = _report_style(report, report_format)
    if old_dataset_format and dataset_format and old_dataset_format != dataset_format.value:
        raise UsageError(f"--format {old_dataset_format} and --dataset-format "
                         f"{dataset_format.value} disagree")
    chosen = dataset_format.value if dataset_format else old_dataset_format
    options = ExportOptions(
        out=out, format=chosen, where=where,
        since=since, until=until,
        fields=_names(fields), sample=parse_sample(sample) if sample else None,
        stratify_by=stratify_by, dedup=dedup.value if dedup else None,
        near_threshold=near_threshold, redact=redact, redact_fields=_names(redact_fields),
        keep_fields=_names(keep_fields), split=parse_split(split) if split else None,
        group_by=group_by, seed=seed, overwrite=overwrite, on_invalid=on_invalid,
        input_format=input_format, command_line=_command_line(),
        bad_answers=bad_answers, bad_rating=bad_rating,
    )
    with _sigterm_unwinds():
        result = export_dataset(paths, options)
    data = result.to_dict()
    emit("export-dataset", data, Renderers(lambda: _print_lines(export_lines(data)),
                                           export_markdown), style.value)


def export_lines(data: dict[str, Any]) -> list[str]:
    """What an export wrote and why the counts add up, as plain lines (terminal and
    markdown say the same)."""
    lines = []
    for output in data["outputs"]:
        part = f" ({output['split']})" if output["split"] else ""
        lines.append(f"wrote {_records(output['records'])} to {output['path']}{part}")
    counts = dict(data["counts"])
    read = counts.pop("read")
    steps = " + ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    lines.append(f"records: {read} read = {steps}")
    lines += _redaction_lines(data["redaction"])
    if data["skipped_invalid"]:
        lines.append(f"skipped {_records(data['skipped_invalid'], 'invalid record')}")
    lines.append(f"manifest: {data['manifest']}")
    return lines


def export_markdown(data: dict[str, Any]) -> str:
    from genailog.render.markdown import table

    rows = [[o["path"], o["split"] or "-", f"{o['records']:,}"] for o in data["outputs"]]
    lines = ["## genailog export-dataset", "", *table(["file", "split", "records"], rows,
                                                      numeric=[2]), ""]
    lines += [f"- {_md(line)}" for line in export_lines(data)[len(rows):]]
    return "\n".join(lines) + "\n"


def _print_lines(lines: list[str]) -> None:
    from genailog.cli.render import esc, stdout

    for line in lines:
        stdout.print(esc(line))


def _records(count: int, noun: str = "record") -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _redaction_lines(redaction: dict[str, Any]) -> list[str]:
    if not redaction["enabled"]:
        return []
    found = {k: v for k, v in redaction["counts"].items() if v}
    listed = ", ".join(f"{k}={v}" for k, v in found.items()) or "nothing found"
    return [f"redacted {_records(redaction['records_changed'])}: {listed}"]


def redact_command(
    paths: Paths,
    out: OutPath,
    redact_fields: RedactFields = None,
    keep_fields: KeepFields = None,
    overwrite: Overwrite = False,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
    report: FormatOpt = None,
    report_format: ReportFormatOpt = None,
) -> None:
    """Redact PII and secrets in logs, keeping their form where possible.

    genailog JSONL stays as logged, Parquet stays Parquet, other formats become JSONL.

    Example: genailog redact logs/ --out logs.redacted.jsonl --keep-fields feedback_comment
    """
    from genailog.cli.render import Renderers, emit
    from genailog.dataset.export import redact_logs
    from genailog.errors import UsageError

    style, dataset_format = _report_style(report, report_format)
    if dataset_format:
        raise UsageError("redact keeps the input's format; --format takes table, json or "
                         "markdown")
    with _sigterm_unwinds():
        result = redact_logs(paths, out, redact_fields=_names(redact_fields),
                             keep_fields=_names(keep_fields), overwrite=overwrite,
                             on_invalid=on_invalid, input_format=input_format)
    data = result.to_dict()
    lines = [f"wrote {_records(result.records)} to {result.output.path}",
             *_redaction_lines(result.redaction.to_dict())]
    emit("redact", data, Renderers(lambda: _print_lines(lines), lambda _: "## genailog redact"
                                   "\n\n" + "".join(f"- {_md(line)}\n" for line in lines)),
         style.value)


def _md(text: str) -> str:
    from genailog.textsafe import markdown

    return markdown(text)
