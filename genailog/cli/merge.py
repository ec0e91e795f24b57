"""``genailog merge``: partial result files in, the command's result out, rendered as
that command renders it (summarize, diff-prompts or drift), with its exit codes."""

from __future__ import annotations

from typing import Annotated

import typer

from genailog.cli.options import AllowEmpty, MinRecords
from genailog.cli.summarize import SummaryFormat
from genailog.errors import UsageError


def merge_command(
    parts: Annotated[list[str], typer.Argument(
        help="Partial result files (or directories of *.json), all of one command, in "
        "read order.", show_default=False)],
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="Output format (csv: "
                                               "summaries only).")] = SummaryFormat.table,
    fail_if: Annotated[list[str] | None, typer.Option(
        "--fail-if", help="Summaries: exit 1 when this condition holds for any group or "
        "the total, as summarize --fail-if. Repeatable.")] = None,
    top: Annotated[int | None, typer.Option(
        "--top", help="Summaries: keep the N costliest groups, as summarize --top.")] = None,
    allow_empty: AllowEmpty = False,
    min_records: MinRecords = 0,
    fail_on_insufficient: Annotated[bool, typer.Option(
        "--fail-on-insufficient", help="diff-prompts: exit 1 when a metric has too little "
        "data to judge.")] = False,
) -> None:
    """Merge partial results (--partial-out of summarize, diff-prompts or drift) into one.

    Example: genailog merge parts/*.json --fail-if "error_rate > 0.05"
    """
    from genailog.analysis.diff_partial import DiffPartial
    from genailog.analysis.partial_files import merge_files
    from genailog.analysis.partials import SummaryPartial

    kind, merged = merge_files(parts)
    _say_how(kind, merged.parts if not isinstance(merged, SummaryPartial) else None)
    if kind != "summarize" and (fail_if or top is not None or min_records):
        raise UsageError(f"--fail-if, --top and --min-records apply to summaries; these "
                         f"are {kind} partials")
    if kind != "summarize" and fmt is SummaryFormat.csv:
        raise UsageError(f"--format csv applies to summaries; these are {kind} partials")
    if isinstance(merged, SummaryPartial):
        from genailog.cli.summarize import show_summary

        show_summary(merged.finalize(fail_if=fail_if or [], top=top, allow_empty=allow_empty,
                                     min_records=min_records), fmt.value)
    elif isinstance(merged, DiffPartial):
        from genailog.cli.diff_prompts import show_diff

        show_diff(merged.finalize(), fmt.value, fail_on_insufficient)
    else:
        from genailog.cli.drift import show_drift

        show_drift(merged.finalize(), fmt.value, allow_empty)


def _say_how(kind: str, parts: int | None) -> None:
    """One note on stderr: what merged exactly and what ran again on the merged data."""
    from genailog.ingest import progress

    if kind == "summarize":
        progress.notice("merged: counts, sums and percentile inputs add exactly "
                        "(docs/scale.md)")
    else:
        progress.notice(f"merged {parts} part(s): counts add exactly; rank tests, bootstrap "
                        f"intervals{', drift methods' if kind == 'drift' else ''} ran again "
                        "on the merged data (JSON: merge; docs/scale.md)")
