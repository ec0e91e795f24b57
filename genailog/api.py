"""The public functions: each takes logs already read (``read_logs``'s :class:`Logs`, or a
frame) or paths (one ``str``/``Path`` or a sequence of them), reads the paths when given
them, and calls the pure library function of its command.

This is the facade layer: above analysis and dataset, below the CLI (the layer contract in
pyproject.toml names it). ``genailog.validate("sample_logs/")`` reads one directory, never
the characters of a string.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from genailog.ingest import Logs, read_logs
from genailog.ingest.parquet import read_ahead
from genailog.ingest.partitions import Prune
from genailog.ingest.reader import as_paths
from genailog.query.prune import partition_prune

if TYPE_CHECKING:
    from genailog.analysis.compare import DiffOptions, DiffResult
    from genailog.analysis.drift import DriftOptions, DriftResult
    from genailog.analysis.retrieval import RetrievalOptions, RetrievalResult
    from genailog.analysis.summarize import SummaryResult
    from genailog.dataset.export import ExportOptions, ExportResult
    from genailog.ingest.validate import ValidationResult

Paths = str | Path | Sequence[str | Path]
LogsLike = Logs | pl.LazyFrame | pl.DataFrame | str | Path | Sequence[str | Path]


def _read(source: LogsLike, on_invalid: str, input_format: str, prune: Prune | None = None
          ) -> tuple[pl.LazyFrame, dict[str, Any] | None]:
    """A frame and its read report (None for a frame given as it is)."""
    logs = _logs(source, on_invalid, input_format, prune)
    if isinstance(logs, Logs):
        return logs.frame, logs.report.to_dict()
    return logs.lazy(), None


def _logs(source: LogsLike, on_invalid: str, input_format: str, prune: Prune | None = None,
          columns: Collection[str] | None = None) -> Logs | pl.LazyFrame | pl.DataFrame:
    """``source`` as it is when already read, else read (partitioned files that the
    command's filters exclude skipped unopened: ``prune``; only ``columns`` typed when
    the command says which it reads)."""
    if isinstance(source, Logs | pl.LazyFrame | pl.DataFrame):
        return source
    return read_logs(as_paths(source), on_invalid=on_invalid, input_format=input_format,
                     prune=prune, columns=columns)


def validate(source: Paths | Logs, **options: Any) -> ValidationResult:
    """Every record of ``source`` judged against the schema (see
    :func:`genailog.ingest.validate.validate` for the options). Given :class:`Logs`, the
    verdicts of the read that made them (read them with ``on_invalid="skip"`` to keep the
    invalid records listed)."""
    from genailog.ingest.validate import ValidationResult
    from genailog.ingest.validate import validate as validate_paths

    if isinstance(source, Logs):
        report = source.report
        return ValidationResult(records=report.records + len(report.invalid),
                                invalid_records=list(report.invalid),
                                max_errors=options.get("max_errors"),
                                files=[f.path for f in report.files])
    return validate_paths(as_paths(source), **options)


def summarize(logs: LogsLike, **options: Any) -> SummaryResult:
    """Cost, latency, tokens and quality per group (options of
    :func:`genailog.analysis.summarize.summarize`)."""
    on_invalid = options.pop("on_invalid", "fail")
    input_format = options.pop("input_format", "auto")
    if not isinstance(logs, Logs | pl.LazyFrame | pl.DataFrame):
        read_ahead(as_paths(logs), input_format)  # while the analysis loads
    from genailog.analysis.summarize import check_options, columns_needed
    from genailog.analysis.summarize import summarize as summarize_logs

    if isinstance(logs, Logs | pl.LazyFrame | pl.DataFrame):
        return summarize_logs(logs, **options)
    check_options(**{k: options[k] for k in ("by", "window", "where", "fail_if", "top")
                     if k in options})  # a bad option is refused before any log is read
    prune = partition_prune(options.get("where"), options.get("since"), options.get("until"))
    needed = columns_needed(**{k: options[k] for k in (
        "by", "where", "prices", "sample_unit", "safety", "quantiles") if k in options})
    return summarize_logs(_logs(logs, on_invalid, input_format, prune, needed), **options)


def diff_prompts(logs: LogsLike, baseline: str | None = None, candidate: str | None = None,
                 options: DiffOptions | None = None, *, reference: LogsLike | None = None,
                 on_invalid: str = "fail", input_format: str = "auto") -> DiffResult:
    """Is ``candidate`` worse than ``baseline``? (see :mod:`genailog.analysis.compare`).

    With ``reference`` (a second set of logs, e.g. main's), ``logs`` are compared with it;
    ``baseline`` and ``candidate`` then optionally pick a version within each side."""
    from genailog.analysis.compare import check_sides
    from genailog.analysis.compare import diff_prompts as compare

    check_sides(baseline, candidate, reference=reference is not None)
    prune = None if options is None else partition_prune(options.where, options.since,
                                                         options.until)
    frame, report = _read(logs, on_invalid, input_format, prune)
    if reference is None:
        return compare(frame, baseline, candidate, options, report=report)
    # the filters apply to both sides, so the reference's partitions are skipped alike
    main, main_report = _read(reference, on_invalid, input_format, prune)
    return compare(frame, baseline, candidate, options, report=report, reference=main,
                   reference_report=main_report)


def detect_drift(logs: LogsLike, *, reference: LogsLike | None = None,
                 options: DriftOptions | None = None, on_invalid: str = "fail",
                 input_format: str = "auto", **filters: Any) -> DriftResult:
    """What changed across time windows (see :mod:`genailog.analysis.drift`)."""
    from genailog.analysis.drift import DriftOptions
    from genailog.analysis.drift import detect_drift as drift
    from genailog.analysis.drift.detect import check_options

    options = options or DriftOptions()
    check_options(options, filters.get("where"))  # refused before any log is read
    prune = partition_prune(filters.get("where"), filters.get("since"), filters.get("until"))
    return drift(_logs(logs, on_invalid, input_format, prune), options=options,
                 reference=None if reference is None else _logs(reference, on_invalid,
                                                                input_format), **filters)



def analyze_retrieval(logs: LogsLike, options: RetrievalOptions | None = None, *,
                      on_invalid: str = "fail", input_format: str = "auto"
                      ) -> RetrievalResult:
    """Retrievers, documents that go with bad answers, ranking metrics and groundedness
    (see :mod:`genailog.analysis.retrieval`)."""
    from genailog.analysis.retrieval import analyze_retrieval as analyze

    frame, report = _read(logs, on_invalid, input_format)
    result = analyze(frame, options)
    result.skipped_records = report["skipped"] if report is not None else 0
    return result


def export_dataset(source: Paths | Logs, options: ExportOptions) -> ExportResult:
    """Logs become a dataset (see :mod:`genailog.dataset.export`); given :class:`Logs`,
    they are exported as read, without reading the files again."""
    from genailog.dataset.export import export_dataset as export_paths
    from genailog.dataset.export import export_logs

    if isinstance(source, Logs):
        return export_logs(source, options)
    return export_paths(as_paths(source), options)
