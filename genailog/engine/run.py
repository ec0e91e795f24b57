"""The three distributed runs: plan the units, map the command's task over them on the
engine, check the input held LLM calls, merge the partials in read order.

Each returns the merged partial; the caller finalizes it (``.finalize()``), exactly as a
``genailog merge`` of partial files does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from genailog.analysis import diff_partial as diff_parts
from genailog.analysis import partials as summary_parts
from genailog.analysis.compare import DiffOptions
from genailog.analysis.diff_partial import DiffPartial
from genailog.analysis.drift import DriftOptions
from genailog.analysis.drift import partial as drift_parts
from genailog.analysis.drift.partial import DriftPartial
from genailog.analysis.partials import SummaryPartial
from genailog.engine.plan import Plan, plan
from genailog.engine.runner import EngineSpec, map_units
from genailog.engine.tasks import DiffTask, DriftTask, ReadSettings, SummaryTask
from genailog.errors import InputError
from genailog.ingest import progress
from genailog.ingest.context import current_options
from genailog.query.prune import partition_prune

Paths = str | Path | Sequence[str | Path]
P = TypeVar("P")


def _settings(on_invalid: str, input_format: str) -> ReadSettings:
    return ReadSettings(on_invalid, input_format, current_options())


def _parts(results: list[tuple[P, int]], listing: Plan) -> list[P]:
    """The partials, once the whole input is known to hold LLM calls (and what pruning
    skipped said, as one read says it)."""
    if listing.skipped:
        progress.notice(listing.skipped)
    if listing.units and not sum(records for _, records in results):
        raise InputError(f"no LLM call found in {len(listing.units)} file(s); see "
                         "`genailog inspect` for what they hold")
    return [part for part, _ in results]


def named_fields(where: str | None, *names: str | None) -> frozenset[str]:
    """The record fields a command names: those of ``where`` and ``names`` (``FIELD`` or
    ``FIELD:type``), less derived and nested names a read never lacks."""
    from genailog.query.expression import parse

    found = {name for name, _ in parse(where, "--where").names} if where else set()
    found |= {n.partition(":")[0] for n in names if n}
    return frozenset(n for n in found if n and "." not in n)


def _with_listing(inputs: list[dict[str, Any]], listing: Plan) -> None:
    if inputs:
        inputs[0]["partitions"] = listing.partitions


def run_summary(paths: Paths, engine: EngineSpec, *, on_invalid: str = "fail",
                input_format: str = "auto", workers: int | None = None,
                **options: Any) -> SummaryPartial:
    """``summarize``'s partial of ``paths``, computed per file on the engine and merged;
    ``options`` are :func:`genailog.analysis.partials.summary_partial`'s."""
    listing = plan(paths, partition_prune(options.get("where"), options.get("since"),
                                          options.get("until")))
    fields = named_fields(options.get("where"), *options.get("by") or ())
    task = SummaryTask(_settings(on_invalid, input_format), options, fields)
    return summary_parts.merge(*_parts(map_units(task, listing.units, engine, workers),
                                       listing))


def run_diff(paths: Paths, engine: EngineSpec, baseline: str, candidate: str,
             options: DiffOptions, *, on_invalid: str = "fail", input_format: str = "auto",
             workers: int | None = None) -> DiffPartial:
    """``diff-prompts``'s partial of ``paths``, computed per file on the engine, merged."""
    listing = plan(paths, partition_prune(options.where, options.since, options.until))
    fields = named_fields(options.where, options.version_field, options.pair_on,
                          *options.metrics or ())
    task = DiffTask(_settings(on_invalid, input_format), baseline, candidate, options, fields)
    merged = diff_parts.merge(_parts(map_units(task, listing.units, engine, workers),
                                     listing))
    _with_listing(merged.inputs, listing)
    return merged


def run_drift(paths: Paths, engine: EngineSpec, options: DriftOptions, *,
              reference: Paths | None = None, where: str | None = None,
              since: str | None = None, until: str | None = None, on_invalid: str = "fail",
              input_format: str = "auto", workers: int | None = None) -> DriftPartial:
    """``drift``'s partial of ``paths`` (and of separate ``reference`` logs), computed per
    file on the engine and merged."""
    settings = _settings(on_invalid, input_format)
    filters = {"where": where, "since": since, "until": until}
    listing = plan(paths, partition_prune(where, since, until))
    fields = named_fields(where, *(f for f in options.features if f.partition(":")[2]))
    tasks: list[tuple[DriftTask, Any]] = [(DriftTask(settings, options, filters, "logs",
                                                     fields), u) for u in listing.units]
    ref_listing = None
    if reference is not None:
        ref_listing = plan(reference, partition_prune(where))
        tasks = [(DriftTask(settings, options, filters, "reference", fields), u)
                 for u in ref_listing.units] + tasks
    results = map_units(_run_task, tasks, engine, workers)
    n_ref = len(ref_listing.units) if ref_listing else 0
    parts = _parts(results[n_ref:], listing)
    if ref_listing is not None:
        parts = _parts(results[:n_ref], ref_listing) + parts
    merged = drift_parts.merge(parts)
    _with_listing(merged.inputs, listing)
    if ref_listing is not None:
        _with_listing(merged.reference_inputs, ref_listing)
    return merged


def _run_task(item: tuple[DriftTask, Any]) -> tuple[DriftPartial, int]:
    task, unit = item
    return task(unit)
