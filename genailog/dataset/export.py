"""``export_dataset`` and ``redact_logs``: logs become shareable, reproducible datasets.

One pipeline: select (filter, drop records unusable for the format) -> deduplicate ->
sample -> split -> redact -> write, and every record read is accounted for at exactly one
step::

    read = invalid + filtered_out + unusable + duplicates_removed + not_sampled + written

The selection steps decide, for each record read, the part it goes to (or none): a table
is built only when a step needs one. The writer is picked from a registry by format:
``as-logged`` (genailog JSONL in, JSONL out: each record's own line, redacted in place)
streams the input files, validating as it reads when nothing was selected and reading
them again for the chosen records when something was; the table writers (canonical JSONL,
chat formats, CSV, Parquet) take each part as a frame, redacted first. ``redact`` is the
same pipeline with nothing selected, redaction on, the input's form kept and no manifest.

A manifest written beside the output records the inputs (with sha256), the options, the
seed, those counts (checked to balance before it is written), the redaction counts per
type, and the outputs (with sha256). Given the same inputs and seed, every output is
byte-identical.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from genailog import __version__
from genailog.dataset import dedup as dedup_mod
from genailog.dataset import split as split_mod
from genailog.dataset import stream as stream_mod
from genailog.dataset.redact import KINDS, FrameRedaction, redact_frame, resolve_fields
from genailog.dataset.stream import RedactSpec
from genailog.dataset.writers import (
    BAD_ANSWER_POLICIES,
    EXAMPLE_FORMATS,
    FORMATS,
    BadAnswers,
    usable_mask,
    write_dataset,
)
from genailog.errors import GenailogError, InputError, OutputError, UsageError
from genailog.ingest import Logs, read_logs
from genailog.ingest.partitions import Prune
from genailog.ingest.report import ReadReport
from genailog.ingest.sources import Source, size_of
from genailog.query.filters import apply_filters, check_where
from genailog.query.prune import partition_prune
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ExportOptions:
    """Everything ``export-dataset`` can be asked for; defaults match the CLI."""

    out: Path
    #: None: from the output's extension (.csv, .parquet, .yaml for promptfoo), else jsonl.
    format: str | None = None
    where: str | None = None
    since: str | None = None
    until: str | None = None
    fields: tuple[str, ...] = ()
    sample: int | float | None = None
    stratify_by: str | None = None
    dedup: str | None = None
    near_threshold: float = dedup_mod.NEAR_THRESHOLD
    redact: bool = False
    redact_fields: tuple[str, ...] = ()
    keep_fields: tuple[str, ...] = ()
    split: dict[str, float] | None = None
    group_by: str = "session_id"
    seed: int = 0
    overwrite: bool = False
    on_invalid: str = "fail"
    input_format: str = "auto"
    command_line: tuple[str, ...] = ()
    #: promptfoo: an answer judged bad (hallucination_flag, or feedback_rating at or
    #: below ``bad_rating``) gets no similar assertion: "omit" or "not-similar".
    bad_answers: str = "omit"
    bad_rating: float = 2.0

    @property
    def dataset_format(self) -> str:
        """``format``, or the one the output's extension names, else jsonl."""
        if self.format is not None:
            return self.format
        return _BY_SUFFIX.get(self.out.suffix.lower(), "jsonl")


_BY_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".yaml": "promptfoo", ".yml": "promptfoo"}


@dataclass
class Counts:
    """Where each record read went."""

    read: int = 0
    invalid: int = 0
    filtered_out: int = 0
    unusable: int = 0
    duplicates_removed: int = 0
    not_sampled: int = 0
    written: int = 0

    def balanced(self) -> bool:
        return self.read == (self.invalid + self.filtered_out + self.unusable
                             + self.duplicates_removed + self.not_sampled + self.written)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def check(self) -> None:
        """The manifest's headline promise: raise (a bug, exit 70) if a record is lost."""
        if not self.balanced():
            raise UnbalancedCounts(f"export counts do not balance: {self.to_dict()}")


class UnbalancedCounts(RuntimeError):
    """Records read and records accounted for differ: a bug, never the user's input."""


@dataclass
class Redaction:
    """What redaction replaced: occurrences per type, records changed, fields covered."""

    enabled: bool = False
    fields: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    records_changed: int = 0

    def __post_init__(self) -> None:
        if self.enabled and not self.counts:
            self.counts = dict.fromkeys(KINDS, 0)

    def add(self, part: FrameRedaction) -> None:
        merged = Counter(self.counts) + part.counts
        self.counts = {kind: merged.get(kind, 0) for kind in KINDS}
        self.records_changed += part.records_changed
        self.fields = part.fields

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "fields": self.fields, "counts": self.counts,
                "records_changed": self.records_changed}


@dataclass
class OutputFile:
    path: str
    split: str | None
    records: int
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExportResult:
    """The result of one export: outputs, accounting, redaction, and the manifest path."""

    format: str
    outputs: list[OutputFile]
    manifest: str
    counts: Counts
    redaction: Redaction
    input: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "outputs": [o.to_dict() for o in self.outputs],
            "manifest": self.manifest,
            "counts": self.counts.to_dict(),
            "redaction": self.redaction.to_dict(),
            "skipped_invalid": self.input["skipped"],
            "input": self.input,
        }


# ---------------------------------------------------------------- helpers


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(out: Path) -> Path:
    """``data.jsonl`` -> ``data.manifest.json``, beside the output."""
    return out.with_name(f"{out.stem}.manifest.json")


def output_paths(out: Path, parts: Sequence[str] | None) -> list[Path]:
    """One path, or ``data.train.jsonl``, ``data.test.jsonl`` for a split."""
    if not parts:
        return [out]
    return [out.with_name(f"{out.stem}.{part}{out.suffix}") for part in parts]


def _check_split_names(out: Path, names: list[str]) -> None:
    """A part's file may not be the manifest (``--out d.json --split manifest=…`` would
    write both to ``d.manifest.json``), nor a path outside the output's folder."""
    for name in names:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise UsageError(f"--split part name {name!r} cannot be a file name part")
    if "manifest" in names:
        raise UsageError("--split cannot have a part named 'manifest': the manifest is "
                         f"{manifest_path(out).name}; choose another name")
    if manifest_path(out) in output_paths(out, names):
        raise UsageError(f"a --split part would be written over the manifest "
                         f"{manifest_path(out).name}")


def _refuse_existing(paths: Sequence[Path], overwrite: bool) -> None:
    from genailog.outputs import check_target

    kinds = [check_target(p, overwrite=True) for p in paths]  # links, folders: refused now
    if overwrite:
        return
    existing = [str(p) for p, kind in zip(paths, kinds, strict=True) if kind == "file"]
    if existing:
        raise OutputError(f"{', '.join(existing)} exist(s); pass --overwrite to replace")


def _check_field(frame: pl.DataFrame, name: str | None, option: str) -> None:
    if name is not None and name not in frame.columns:
        raise UsageError(f"{option} names unknown field {name!r}")


def _check_options(options: ExportOptions) -> None:
    check_where(options.where)  # before any input is opened
    fmt = options.dataset_format
    if fmt not in FORMATS:
        raise UsageError(f"--dataset-format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if options.split:
        _check_split_names(options.out, list(options.split))
    if options.dedup not in (None, "exact", "near"):
        raise UsageError(f"--dedup takes exact or near, not {options.dedup!r}")
    if not 0 < options.near_threshold <= 1:
        raise UsageError("--near-threshold must be in (0, 1]")
    if options.fields and fmt in ("openai-chat", "openai-evals"):
        raise UsageError(f"--fields does not apply to {fmt}; its fields are fixed")
    if options.bad_answers not in BAD_ANSWER_POLICIES:
        raise UsageError(f"--bad-answers takes {' or '.join(BAD_ANSWER_POLICIES)}, not "
                         f"{options.bad_answers!r}")


def json_columns_of(frame: pl.DataFrame, report: ReadReport) -> frozenset[str]:
    return frozenset((set(report.json_columns) | JSON_TEXT_COLUMNS) & set(frame.columns))


def _user_fields(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in CANONICAL_DTYPES]


# ---------------------------------------------------------------- the pipeline


def _select(frame: pl.DataFrame, options: ExportOptions) -> tuple[pl.DataFrame, Counts]:
    """Filter, drop unusable records, deduplicate and sample, counting each step."""
    counts = Counts()
    start = frame.height
    frame = apply_filters(frame.lazy(), where=options.where, since=options.since,
                          until=options.until).collect()
    counts.filtered_out = start - frame.height
    usable = usable_mask(frame, options.dataset_format)
    counts.unusable = int((~usable).sum())
    frame = frame.filter(usable)
    if options.dedup:
        before = frame.height
        frame = dedup_mod.dedup(frame, options.dedup, options.near_threshold)
        counts.duplicates_removed = before - frame.height
    if options.sample is not None:
        labels = frame[options.stratify_by].to_list() if options.stratify_by else None
        keep = split_mod.sample_indices(frame.height, options.sample, labels, options.seed)
        counts.not_sampled = frame.height - len(keep)
        frame = frame[keep]
    return frame, counts


def _parts(frame: pl.DataFrame, options: ExportOptions) -> list[tuple[str | None, pl.DataFrame]]:
    if not options.split:
        return [(None, frame)]
    groups = split_mod.group_ids(frame[options.group_by].to_list())
    labels = frame[options.stratify_by].to_list() if options.stratify_by else None
    names = list(options.split)
    index = split_mod.split_parts(list(options.split.values()), groups, labels, options.seed)
    return [(name, frame.filter(pl.Series(index == i))) for i, name in enumerate(names)]


def _project(frame: pl.DataFrame, options: ExportOptions) -> pl.DataFrame:
    if not options.fields or options.dataset_format in EXAMPLE_FORMATS:
        return frame
    return frame.select(options.fields)


def _describe_output(path: Path, part: str | None, records: int) -> OutputFile:
    return OutputFile(path=path.name, split=part, records=records, sha256=sha256_file(path),
                      bytes=path.stat().st_size)


def _prepare(frame: pl.DataFrame, options: ExportOptions) -> Redaction:
    """Check every option against the frame before anything is computed or written."""
    _check_options(options)
    for name, option in ((options.stratify_by, "--stratify-by"), (options.group_by, "--group-by")):
        _check_field(frame, name, option)
    unknown = [f for f in options.fields if f not in frame.columns]
    if unknown:
        raise UsageError(f"--fields names unknown field(s): {', '.join(unknown)}")
    _refuse_existing([*output_paths(options.out, list(options.split or ())),
                      manifest_path(options.out)], options.overwrite)
    redaction = Redaction(enabled=options.redact)
    if options.redact:
        redaction.fields = resolve_fields(frame.schema, _user_fields(frame),
                                          options.redact_fields, options.keep_fields)
    return redaction


# ---------------------------------------------------------------- the plan


@dataclass
class Plan:
    """An export resolved before anything is read or written: where each part goes, how
    it is redacted, and which writer writes it."""

    options: ExportOptions
    targets: list[Path]
    #: "as-logged" (genailog JSONL files in, JSONL out), else the format's table writer.
    writer: str
    #: The inputs, when the as-logged writer streams them.
    sources: list[Source] | None
    #: Whether a selection step (filter, dedup, sample, split) needs a table.
    selects: bool
    #: Whether a manifest is written (not by ``redact``).
    with_manifest: bool = True

    @property
    def parts(self) -> list[str]:
        return list(self.options.split or ())


def plan_export(paths: Sequence[str | Path], options: ExportOptions, *,
                with_manifest: bool = True) -> Plan:
    """Check the options and the outputs, and choose the writer."""
    _check_options(options)
    targets = output_paths(options.out, list(options.split or ()))
    _refuse_existing([*targets, *([manifest_path(options.out)] if with_manifest else [])],
                     options.overwrite)
    selects = bool(options.where or options.since is not None or options.until is not None
                   or options.sample is not None or options.dedup or options.split
                   or options.stratify_by is not None)
    named = set(options.redact_fields) | set(options.keep_fields)
    sources = None
    if options.dataset_format == "jsonl" and not options.fields:
        sources = genailog_sources(paths, options.input_format,
                                   partition_prune(options.where, options.since,
                                                   options.until))
    # User fields are known only from a table; naming one to redact needs it read first.
    if sources is not None and not named <= set(CANONICAL_DTYPES):
        selects = True
    writer = "as-logged" if sources is not None else options.dataset_format
    return Plan(options, targets, writer, sources, selects, with_manifest)


def run(plan: Plan, paths: Sequence[str | Path], logs: Logs | None = None) -> ExportResult:
    """Run a plan: select (with a table only when a step needs one), then write. Given
    ``logs`` already read, they are the table (and no file is read again for it)."""
    options = plan.options
    if plan.sources is not None and not plan.selects and logs is None:
        spec = _redact_spec(options.redact, options.redact_fields, options.keep_fields)
        logged = write_as_logged(plan.sources, plan.targets, spec, options.on_invalid)
        report, hashes = logged.report, logged.hashes
        counts = Counts(read=report.records + report.skipped, invalid=report.skipped)
        outputs, redaction = logged.outputs, logged.redaction
    else:
        if logs is None:
            # partitions that --where/--since/--until exclude are skipped unopened
            logs = read_logs(paths, on_invalid=options.on_invalid,
                             input_format=options.input_format,
                             prune=partition_prune(options.where, options.since,
                                                   options.until))
        report = logs.report
        # Hashing a large input takes seconds; hashlib releases the GIL: it overlaps.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(hash_inputs, report) if plan.with_manifest else None
            outputs, counts, redaction = _select_and_write(plan, logs.frame.collect(), report)
            hashes = pending.result() if pending is not None else {}
    counts.written = sum(o.records for o in outputs)
    counts.check()
    result = ExportResult(options.dataset_format, outputs, str(manifest_path(options.out)),
                          counts, redaction, report.to_dict())
    if plan.with_manifest:
        write_manifest(result, report, options, hashes)
    return result


def _select_and_write(plan: Plan, frame: pl.DataFrame,
                      report: ReadReport) -> tuple[list[OutputFile], Counts, Redaction]:
    """The selection steps over the table, then the plan's writer over the parts."""
    options = plan.options
    redaction = _prepare(frame, options)
    as_logged = plan.writer == "as-logged" and frame.height == report.records
    if as_logged:
        frame = frame.with_row_index(_ROW)
    selected, counts = _select(frame, options)
    counts.read = report.records + report.skipped
    counts.invalid = report.skipped
    counts.filtered_out += report.records - frame.height
    parts = _parts(selected, options)
    if as_logged:
        part_of = np.full(frame.height, -1, dtype=np.int16)
        for number, (_, piece) in enumerate(parts):
            part_of[piece.get_column(_ROW).to_numpy()] = number
        spec = _logged_spec(redaction, options.keep_fields)
        logged = write_as_logged([Source(f.path) for f in report.files], plan.targets, spec,
                                 options.on_invalid, Chosen(part_of, report, plan.parts))
        if spec is not None:
            redaction.counts = logged.redaction.counts
            redaction.records_changed = logged.redaction.records_changed
        return logged.outputs, counts, redaction
    outputs = _write_parts(parts, plan.targets, json_columns_of(frame, report), redaction,
                           options)
    return outputs, counts, redaction


def export_dataset(paths: Sequence[str | Path], options: ExportOptions) -> ExportResult:
    """Read ``paths`` and export them as a dataset (see :class:`ExportOptions`)."""
    return run(plan_export(paths, options), paths)


def export_logs(logs: Logs, options: ExportOptions) -> ExportResult:
    """Export logs already read by ``read_logs`` (the manifest hashes the files read)."""
    paths = [f.path for f in logs.report.files]
    return run(plan_export(paths, options), paths, logs)


# ---------------------------------------------------------------- table writers


def _write_parts(parts: list[tuple[str | None, pl.DataFrame]], targets: list[Path],
                 json_cols: frozenset[str], redaction: Redaction,
                 options: ExportOptions) -> list[OutputFile]:
    """Each part written by the format's writer, redacted first where asked. If a part
    fails, the parts already written go too: a split is written whole or not at all."""
    outputs: list[OutputFile] = []
    try:
        for (part, piece), path in zip(parts, targets, strict=True):
            if options.redact:
                done = redact_frame(piece, redaction.fields, json_cols)
                redaction.add(done)
                piece = done.frame
            written = write_dataset(_project(piece, options), path, options.dataset_format,
                                    json_cols, overwrite=True, extra_vars=options.fields,
                                    bad_answers=BadAnswers(options.bad_answers,
                                                           options.bad_rating))
            outputs.append(_describe_output(path, part, written))
    except BaseException:
        for path in targets[:len(outputs)]:
            path.unlink(missing_ok=True)
        raise
    return outputs


# ---------------------------------------------------------------- the as-logged writer

_ROW = "__genailog_record__"  # a record's position in the read, while it is exported


def _logged_spec(redaction: Redaction, keep: Sequence[str]) -> RedactSpec | None:
    """The redaction of records as logged that matches a table's resolved fields."""
    if not redaction.enabled:
        return None
    return RedactSpec(tuple(f for f in redaction.fields if f in CANONICAL_DTYPES),
                      frozenset(keep))


def _redact_spec(redact: bool, add: Sequence[str], keep: Sequence[str]) -> RedactSpec | None:
    if not redact:
        return None
    fields = resolve_fields(pl.Schema(CANONICAL_DTYPES), (), add, keep)
    return RedactSpec(tuple(fields), frozenset(keep))


def genailog_sources(paths: Sequence[str | Path], input_format: str,
                     rule: Prune | None = None) -> list[Source] | None:
    """The sources of ``paths`` when every one is a genailog JSONL file (not stdin);
    partitions that ``rule`` skips are not opened."""
    from genailog.ingest.detect import detect
    from genailog.ingest.partitions import prune
    from genailog.ingest.sources import discover, open_peeked

    if input_format not in ("auto", "genailog"):
        return None
    sources = prune(discover(paths), rule)[0]
    if not sources:
        return None
    for source in sources:
        if source.is_stdin:
            return None
        try:
            head, stream = open_peeked(source)
        except OSError:
            return None  # the table path reports it
        stream.close()
        if detect(source, head, input_format) != "genailog":
            return None
    return sources


@dataclass
class Chosen:
    """The records the selection steps chose, for the as-logged writer: the part of each
    valid record read (-1: none), and the read's verdicts."""

    part_of: np.ndarray
    report: ReadReport
    names: list[str]


@dataclass
class Logged:
    """What :func:`write_as_logged` read and wrote."""

    report: ReadReport
    outputs: list[OutputFile]
    redaction: Redaction
    #: sha256 of each input file as stored (when it validated as it read).
    hashes: dict[str, str | None]


#: What one piece of an input gives: its bytes, then for each part the segments of output
#: and their record count, the valid records it held, what redaction replaced, and the
#: records it changed.
_PieceOut = tuple[bytes | memoryview, list[tuple[list[stream_mod.Segment], int]], int,
                  Counter[str], int]


def write_as_logged(sources: Sequence[Source], targets: list[Path], spec: RedactSpec | None,
                    on_invalid: str, chosen: Chosen | None = None) -> Logged:
    """Records as logged: each valid record's own line of the input files, redacted by
    ``spec``, into ``targets`` (atomically), in input order.

    With ``chosen`` None every valid record goes to the one target and the inputs are
    validated as they are read (no table is built; plain files are hashed from the same
    bytes); otherwise the inputs were read before, and each record goes to the part
    ``chosen`` gives it."""
    from genailog.ingest.policy import InvalidPolicy
    from genailog.ingest.reader import write_quarantine
    from genailog.outputs import atomic_writer

    policy = InvalidPolicy.parse(on_invalid)
    report = chosen.report if chosen is not None else ReadReport(policy=policy.mode)
    redaction = Redaction(enabled=spec is not None, fields=list(spec.fields) if spec else [])
    counts: Counter[str] = Counter()
    digests = [hashlib.sha256() for _ in targets]
    sizes, written = [0] * len(targets), [0] * len(targets)
    hashes: dict[str, str | None] = {}
    index = 0
    with ExitStack() as stack:
        handles = [stack.enter_context(atomic_writer(p, "wb", overwrite=True)) for p in targets]
        for source in sources:
            pieces = (_validated(source, spec, policy, report, hashes) if chosen is None
                      else _chosen(source, spec, chosen, index))
            for data, parts, records, found, changed in pieces:
                index += records
                counts += found
                redaction.records_changed += changed
                for number, handle in enumerate(handles):
                    segments, count = parts[number]
                    written[number] += count
                    for buffer in stream_mod.buffers(segments, data):
                        handle.write(buffer)
                        digests[number].update(buffer)
                        sizes[number] += len(buffer)
        if chosen is not None and index != len(chosen.part_of):
            raise InputError("the input holds fewer records than when it was read; it "
                             "changed during the export")
    if spec is not None:
        redaction.counts = {kind: counts.get(kind, 0) for kind in KINDS}
    if chosen is None and policy.mode == "quarantine" and policy.quarantine_path is not None:
        write_quarantine(policy.quarantine_path, report.invalid)
    names: list[str | None] = list(chosen.names) if chosen is not None and chosen.names else [None]
    outputs = [OutputFile(path.name, part, n, digest.hexdigest(), size)
               for path, part, n, digest, size
               in zip(targets, names, written, digests, sizes, strict=True)]
    return Logged(report, outputs, redaction, hashes)


def _validated(source: Source, spec: RedactSpec | None, policy: Any, report: ReadReport,
               hashes: dict[str, str | None]) -> Iterator[_PieceOut]:
    """The pieces of one input validated as read: the invalid policy applied, the file's
    counts added to ``report`` and its sha256 to ``hashes``."""
    from genailog.ingest.reader import apply_policy
    from genailog.ingest.report import FileReport
    from genailog.ingest.sources import open_peeked

    file_report = FileReport(source.name, "genailog")
    report.files.append(file_report)
    _, stream = open_peeked(source)
    read_digest = hashlib.sha256() if size_of(source) is not None else None
    try:
        for data, piece in stream_mod.pieces(source, stream, spec, read_digest):
            apply_policy(piece.invalid, policy, report)
            file_report.records += piece.records
            file_report.invalid += len(piece.invalid)
            yield (data, [(piece.segments, piece.records)], piece.records, piece.counts,
                   piece.records_changed)
    except OSError as exc:
        raise InputError(f"cannot read {source.name}: {exc}") from None
    finally:
        stream.close()
    hashes[source.name] = (read_digest.hexdigest() if read_digest is not None
                           else sha256_file(source.name))


def _chosen(source: Source, spec: RedactSpec | None, chosen: Chosen,
            index: int) -> Iterator[_PieceOut]:
    """The pieces of one input read again, each giving the records chosen for each part."""
    bad = {r.line for r in chosen.report.invalid if r.file == source.name}
    parts = max(len(chosen.names), 1)
    for data, selection in stream_mod.selections(source, bad, chosen.part_of, index, parts,
                                                 spec):
        yield data, selection.parts, selection.records, selection.counts, selection.changed


def hash_inputs(report: ReadReport) -> dict[str, str | None]:
    """sha256 of each input file (None for stdin)."""
    return {f.path: sha256_file(f.path) if Path(f.path).is_file() else None
            for f in report.files}


# ---------------------------------------------------------------- the manifest


def manifest(
    result: ExportResult,
    report: ReadReport,
    options: ExportOptions,
    hashes: dict[str, str | None],
) -> dict[str, Any]:
    """The manifest: enough to audit the dataset and to make it again."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "genailog_version": __version__,
        "command": "export-dataset",
        "command_line": list(options.command_line),
        "inputs": [{"path": f.path, "format": f.format, "records": f.records,
                    "invalid": f.invalid, "sha256": hashes.get(f.path)} for f in report.files],
        "format": options.dataset_format,
        "fields": list(options.fields),
        "filter": {"where": options.where, "since": options.since, "until": options.until},
        "dedup": {"mode": options.dedup,
                  "near_threshold": options.near_threshold if options.dedup == "near" else None},
        "sample": {"size": options.sample, "stratify_by": options.stratify_by},
        "split": ({"fractions": options.split, "group_by": options.group_by,
                   "stratify_by": options.stratify_by} if options.split else None),
        "seed": options.seed,
        "counts": result.counts.to_dict(),
        "redaction": result.redaction.to_dict(),
        "outputs": [o.to_dict() for o in result.outputs],
    }


def write_manifest(
    result: ExportResult,
    report: ReadReport,
    options: ExportOptions,
    hashes: dict[str, str | None],
) -> None:
    """The manifest, written only if its counts balance."""
    import json

    from genailog.outputs import atomic_writer

    result.counts.check()
    text = json.dumps(manifest(result, report, options, hashes), indent=2, ensure_ascii=False,
                      sort_keys=False)
    with atomic_writer(Path(result.manifest), overwrite=True) as handle:
        handle.write(text + "\n")


# ---------------------------------------------------------------- redact: an export mode


@dataclass
class RedactResult:
    """Redacted logs written in the input's file format, and what was replaced."""

    output: OutputFile
    records: int
    redaction: Redaction
    input: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output.to_dict(), "records": self.records,
                "redaction": self.redaction.to_dict(), "skipped_invalid": self.input["skipped"],
                "input": self.input}


def redact_logs(
    paths: Sequence[str | Path],
    out: Path,
    *,
    redact_fields: Sequence[str] = (),
    keep_fields: Sequence[str] = (),
    overwrite: bool = False,
    on_invalid: str = "fail",
    input_format: str = "auto",
) -> RedactResult:
    """Redact logs, keeping their form: genailog JSONL as logged (each line as it was, or
    with its redacted strings replaced), Parquet as Parquet, other formats as canonical
    JSONL. The export pipeline with nothing selected and no manifest."""
    options = ExportOptions(out=out, format=_kept_format(paths, input_format), redact=True,
                            redact_fields=tuple(redact_fields), keep_fields=tuple(keep_fields),
                            overwrite=overwrite, on_invalid=on_invalid,
                            input_format=input_format)
    result = run(plan_export(paths, options, with_manifest=False), paths)
    [output] = result.outputs
    return RedactResult(output, output.records, result.redaction, result.input)


def _kept_format(paths: Sequence[str | Path], input_format: str) -> str:
    """The dataset format that keeps the inputs' form: parquet for Parquet inputs, else
    jsonl (as logged for genailog JSONL, canonical records otherwise)."""
    from genailog.ingest.sources import discover

    if input_format == "parquet":
        return "parquet"
    try:
        sources = discover(paths)
    except GenailogError:
        return "jsonl"  # the read reports it
    parquet = [s.name.lower().endswith(".parquet") for s in sources]
    return "parquet" if parquet and all(parquet) else "jsonl"
