"""``--engine`` for summarize, diff-prompts and drift: check what a distributed run can
do, run it (:mod:`genailog.engine`), finalize the merged partial.

The commands call these instead of their single-machine library call and render the
result exactly as they render their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genailog.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from genailog.analysis.compare import DiffOptions, DiffResult
    from genailog.analysis.drift import DriftOptions, DriftResult
    from genailog.analysis.summarize import SummaryResult


def _announce(engine: str) -> Any:
    from genailog.engine import parse_engine
    from genailog.ingest import progress

    spec = parse_engine(engine)  # refused before any file is listed
    where = f"the scheduler at {spec.address}" if spec.address else "a local cluster"
    progress.notice(f"engine: {spec.name} on {where}; one task per file, merged here")
    return spec


def summarize_on_engine(engine: str, paths: list[str], *, safety: bool, fail_if: list[str],
                        top: int | None, allow_empty: bool, min_records: int,
                        on_invalid: str, input_format: str, **options: Any
                        ) -> SummaryResult:
    from genailog.analysis.summarize import check_options
    from genailog.engine import run_summary

    if safety:
        raise UsageError("--safety is not part of a partial result; run it without --engine")
    check_options(by=options["by"], window=options["window"], where=options["where"],
                  fail_if=fail_if, top=top)
    part = run_summary(paths, _announce(engine), on_invalid=on_invalid,
                       input_format=input_format, **options)
    return part.finalize(fail_if=fail_if, top=top, allow_empty=allow_empty,
                         min_records=min_records)


def diff_on_engine(engine: str, paths: list[str], baseline: str | None,
                   candidate: str | None, options: DiffOptions, *,
                   reference: list[str] | None, on_invalid: str, input_format: str
                   ) -> DiffResult:
    from genailog.engine import run_diff

    if reference:
        raise UsageError("--engine compares two versions of one set of logs; run "
                         "--reference without --engine")
    assert baseline is not None and candidate is not None  # check_sides ran
    part = run_diff(paths, _announce(engine), baseline, candidate, options,
                    on_invalid=on_invalid, input_format=input_format)
    return part.finalize()


def drift_on_engine(engine: str, paths: list[str], options: DriftOptions, *,
                    reference: list[str] | None, where: str | None, since: str | None,
                    until: str | None, on_invalid: str, input_format: str) -> DriftResult:
    from genailog.analysis.drift.detect import check_options
    from genailog.engine import run_drift

    check_options(options, where)
    part = run_drift(paths, _announce(engine), options, reference=reference, where=where,
                     since=since, until=until, on_invalid=on_invalid,
                     input_format=input_format)
    return part.finalize()


def _write(path: Path, text: str) -> None:
    from genailog.outputs import atomic_writer

    with atomic_writer(path) as handle:
        handle.write(text)


def write_diff_partial(path: Path, paths: list[str], baseline: str | None,
                       candidate: str | None, options: DiffOptions, *,
                       reference: list[str] | None, on_invalid: str, input_format: str,
                       engine: str | None = None) -> None:
    """``diff-prompts --partial-out``: this input's partial, for ``genailog merge`` (with
    ``--engine``, computed per file on the cluster and merged)."""
    from genailog.analysis.diff_partial import diff_partial
    from genailog.engine import run_diff
    from genailog.ingest import read_logs

    if reference:
        raise UsageError("--partial-out compares two versions of one set of logs; run "
                         "--reference without it")
    assert baseline is not None and candidate is not None  # check_sides ran
    if engine is not None:
        part = run_diff(paths, _announce(engine), baseline, candidate, options,
                        on_invalid=on_invalid, input_format=input_format)
    else:
        logs = read_logs(paths, on_invalid=on_invalid, input_format=input_format)
        part = diff_partial(logs.frame, baseline, candidate, options,
                            report=logs.report.to_dict())
    _write(path, part.to_json())


def write_drift_partial(path: Path, paths: list[str], options: DriftOptions, *,
                        reference: list[str] | None, where: str | None, since: str | None,
                        until: str | None, on_invalid: str, input_format: str,
                        engine: str | None = None) -> None:
    """``drift --partial-out``: this input's partial (with ``--reference``, the reference
    logs' part first, marked as such), for ``genailog merge`` (with ``--engine``, computed
    per file on the cluster and merged)."""
    from genailog.analysis.drift.partial import drift_partial, merge
    from genailog.engine import run_drift
    from genailog.ingest import read_logs

    if engine is not None:
        _write(path, run_drift(paths, _announce(engine), options, reference=reference,
                               where=where, since=since, until=until, on_invalid=on_invalid,
                               input_format=input_format).to_json())
        return
    logs = read_logs(paths, on_invalid=on_invalid, input_format=input_format)
    part = drift_partial(logs, options=options, where=where, since=since, until=until)
    if reference:
        ref = read_logs(reference, on_invalid=on_invalid, input_format=input_format)
        part = merge([drift_partial(ref, options=options, where=where, role="reference"),
                      part])
    _write(path, part.to_json())
