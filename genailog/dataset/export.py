"""``export_dataset`` and ``redact_logs``: logs become shareable, reproducible datasets.

The pipeline is read -> filter -> drop records unusable for the format -> deduplicate ->
sample -> split -> redact -> write, and every record read is accounted for at exactly one
step::

    read = invalid + filtered_out + unusable + duplicates_removed + not_sampled + written

A manifest written beside the output records the inputs (with sha256), the options, the
seed, those counts, the redaction counts per type, and the outputs (with sha256). Given
the same inputs and seed, every output is byte-identical.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from genailog import __version__
from genailog.analysis.filters import apply_filters
from genailog.dataset import dedup as dedup_mod
from genailog.dataset import split as split_mod
from genailog.dataset import stream as stream_mod
from genailog.dataset.redact import KINDS, FrameRedaction, redact_frame, resolve_fields
from genailog.dataset.stream import RedactSpec
from genailog.dataset.writers import (
    EXAMPLE_FORMATS,
    FORMATS,
    usable_mask,
    write_dataset,
    write_jsonl,
    write_parquet,
)
from genailog.errors import InputError, OutputError, UsageError
from genailog.ingest import read_logs
from genailog.ingest.report import ReadReport
from genailog.ingest.sources import STDIN, Source, size_of
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
    fmt = options.dataset_format
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if options.dedup not in (None, "exact", "near"):
        raise UsageError(f"--dedup takes exact or near, not {options.dedup!r}")
    if not 0 < options.near_threshold <= 1:
        raise UsageError("--near-threshold must be in (0, 1]")
    if options.fields and fmt in ("openai-chat", "openai-evals"):
        raise UsageError(f"--fields does not apply to {fmt}; its fields are fixed")


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


def export_frame(
    frame: pl.DataFrame,
    report: ReadReport,
    options: ExportOptions,
    input_hashes: Callable[[], dict[str, str | None]] | None = None,
) -> ExportResult:
    """The export pipeline over logs already read (``report`` says what was read).

    ``input_hashes`` gives each input's sha256 for the manifest (default: hashed here).
    """
    redaction = _prepare(frame, options)
    as_logged = _as_logged(frame, report, options)
    if as_logged:
        frame = frame.with_row_index(_ROW)
    selected, counts = _select(frame, options)
    counts.read = report.records + report.skipped
    counts.invalid = report.skipped
    counts.filtered_out += report.records - frame.height
    targets = output_paths(options.out, list(options.split or ()))
    parts = _parts(selected, options)
    if as_logged:
        outputs = _write_as_logged(frame.height, parts, targets, report, redaction,
                                   _logged_spec(redaction, options.keep_fields))
    else:
        outputs = _write_parts(parts, targets, json_columns_of(frame, report), redaction,
                               options)
    counts.written = sum(o.records for o in outputs)
    result = ExportResult(options.dataset_format, outputs, str(manifest_path(options.out)),
                          counts, redaction, report.to_dict())
    hashes = input_hashes() if input_hashes else hash_inputs(report)
    write_manifest(result, report, options, hashes)
    return result


def _write_parts(parts: list[tuple[str | None, pl.DataFrame]], targets: list[Path],
                 json_cols: frozenset[str], redaction: Redaction,
                 options: ExportOptions) -> list[OutputFile]:
    """Each part written by the format's writer, redacted first where asked."""
    outputs = []
    for (part, piece), path in zip(parts, targets, strict=True):
        if options.redact:
            done = redact_frame(piece, redaction.fields, json_cols)
            redaction.add(done)
            piece = done.frame
        written = write_dataset(_project(piece, options), path, options.dataset_format,
                                json_cols, overwrite=True, extra_vars=options.fields)
        outputs.append(_describe_output(path, part, written))
    return outputs


_ROW = "__genailog_record__"  # a record's position in the read, while it is exported


def _as_logged(frame: pl.DataFrame, report: ReadReport, options: ExportOptions) -> bool:
    """Whether the records can be written as logged: JSONL out, every input a genailog
    JSONL file (not stdin), the frame exactly what was read, and no --fields."""
    return (options.dataset_format == "jsonl" and not options.fields
            and frame.height == report.records and _all_genailog_files(report))


def _all_genailog_files(report: ReadReport) -> bool:
    """Every input was a genailog JSONL file, so each record has a line to copy."""
    return bool(report.files) and all(f.format == "genailog" and f.path != STDIN
                                      for f in report.files)


def _logged_spec(redaction: Redaction, keep: Sequence[str]) -> RedactSpec | None:
    """The redaction of records as logged that matches a table's resolved fields."""
    if not redaction.enabled:
        return None
    return RedactSpec(tuple(f for f in redaction.fields if f in CANONICAL_DTYPES),
                      frozenset(keep))


def _write_as_logged(records: int, parts: list[tuple[str | None, pl.DataFrame]],
                     targets: list[Path], report: ReadReport, redaction: Redaction,
                     spec: RedactSpec | None) -> list[OutputFile]:
    """Each part's records as their lines in the input files (redacted by ``spec``), read
    again in order: the same bytes the streaming path writes for the same records."""
    from genailog.outputs import atomic_writer

    part_of = np.full(records, -1, dtype=np.int16)
    for number, (_, piece) in enumerate(parts):
        part_of[piece.get_column(_ROW).to_numpy()] = number
    counts: Counter[str] = Counter()
    digests = [hashlib.sha256() for _ in targets]
    sizes = [0] * len(targets)
    written = [0] * len(targets)
    index = 0
    with ExitStack() as stack:
        handles = [stack.enter_context(atomic_writer(p, "wb", overwrite=True)) for p in targets]
        for file_report in report.files:
            bad = {r.line for r in report.invalid if r.file == file_report.path}
            for data, selection in stream_mod.selections(Source(file_report.path), bad,
                                                         part_of, index, len(targets), spec):
                index += selection.records
                counts += selection.counts
                redaction.records_changed += selection.changed
                for number, handle in enumerate(handles):
                    written[number] += selection.parts[number][1]
                    for buffer in stream_mod.buffers(selection.parts[number][0], data):
                        handle.write(buffer)
                        digests[number].update(buffer)
                        sizes[number] += len(buffer)
        if index != records:
            raise InputError("the input holds fewer records than when it was read; it "
                             "changed during the export")
    if spec is not None:
        redaction.counts = {kind: counts.get(kind, 0) for kind in KINDS}
    return [OutputFile(path.name, part, n, digest.hexdigest(), size)
            for path, (part, _), n, digest, size
            in zip(targets, parts, written, digests, sizes, strict=True)]


def hash_inputs(report: ReadReport) -> dict[str, str | None]:
    """sha256 of each input file (None for stdin)."""
    return {f.path: sha256_file(f.path) if Path(f.path).is_file() else None
            for f in report.files}


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
    import json

    from genailog.outputs import atomic_writer

    text = json.dumps(manifest(result, report, options, hashes), indent=2, ensure_ascii=False,
                      sort_keys=False)
    with atomic_writer(Path(result.manifest), overwrite=True) as handle:
        handle.write(text + "\n")


def export_dataset(paths: Sequence[str | Path], options: ExportOptions) -> ExportResult:
    """Read ``paths`` and export them as a dataset (see :class:`ExportOptions`)."""
    _check_options(options)
    targets = output_paths(options.out, list(options.split or ()))
    _refuse_existing([*targets, manifest_path(options.out)], options.overwrite)
    sources = _streamable(paths, options)
    if sources is not None:
        return _export_streamed(sources, options)
    logs = read_logs(paths, on_invalid=options.on_invalid, input_format=options.input_format)
    # Hashing a large input takes seconds; hashlib releases the GIL, so it overlaps the export.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(hash_inputs, logs.report)
        return export_frame(logs.frame.collect(), logs.report, options, pending.result)


# ---------------------------------------------------------------- records as logged


def _streamable(paths: Sequence[str | Path], options: ExportOptions) -> list[Source] | None:
    """The sources, when the export keeps every valid record of genailog JSONL files as
    JSONL: then it streams (:mod:`genailog.dataset.stream`) instead of building a table."""
    simple = (options.dataset_format == "jsonl" and not options.fields and not options.where
              and options.since is None and options.until is None and options.sample is None
              and not options.dedup and not options.split and options.stratify_by is None)
    named = set(options.redact_fields) | set(options.keep_fields)
    if not simple or not named <= set(CANONICAL_DTYPES):
        return None
    return genailog_sources(paths, options.input_format)


def genailog_sources(paths: Sequence[str | Path], input_format: str) -> list[Source] | None:
    """The sources of ``paths`` when every one is a genailog JSONL file (not stdin)."""
    from genailog.ingest.detect import detect
    from genailog.ingest.sources import discover, open_peeked

    if input_format not in ("auto", "genailog"):
        return None
    sources = discover(paths)
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


def _redact_spec(redact: bool, add: Sequence[str], keep: Sequence[str]) -> RedactSpec | None:
    if not redact:
        return None
    fields = resolve_fields(pl.Schema(CANONICAL_DTYPES), (), add, keep)
    return RedactSpec(tuple(fields), frozenset(keep))


@dataclass
class Streamed:
    """What :func:`stream_records` read and wrote."""

    report: ReadReport
    output: OutputFile
    redaction: Redaction
    #: sha256 of each input file as stored.
    hashes: dict[str, str | None]


def stream_records(sources: Sequence[Source], out: Path, spec: RedactSpec | None,
                   on_invalid: str) -> Streamed:
    """Every valid record of ``sources`` into ``out`` (atomically), as logged, redacted by
    ``spec``. Plain files are hashed from the bytes read for the export; compressed ones
    are hashed apart."""
    from genailog.ingest.policy import InvalidPolicy
    from genailog.ingest.reader import apply_policy, write_quarantine
    from genailog.ingest.report import FileReport
    from genailog.ingest.sources import open_peeked
    from genailog.outputs import atomic_writer

    policy = InvalidPolicy.parse(on_invalid)
    report = ReadReport(policy=policy.mode)
    redaction = Redaction(enabled=spec is not None)
    if spec is not None:
        redaction.fields = list(spec.fields)
    counts: Counter[str] = Counter()
    digest = hashlib.sha256()
    hashes: dict[str, str | None] = {}
    size = records = 0
    with atomic_writer(out, "wb", overwrite=True) as handle:
        for source in sources:
            file_report = FileReport(source.name, "genailog")
            report.files.append(file_report)
            _, stream = open_peeked(source)
            plain = size_of(source) is not None
            read_digest = hashlib.sha256() if plain else None
            try:
                for data, piece in stream_mod.pieces(source, stream, spec, read_digest):
                    apply_policy(piece.invalid, policy, report)
                    file_report.records += piece.records
                    file_report.invalid += len(piece.invalid)
                    counts += piece.counts
                    redaction.records_changed += piece.records_changed
                    for part in stream_mod.buffers(piece.segments, data):
                        handle.write(part)
                        digest.update(part)
                        size += len(part)
                    records += piece.records
            except OSError as exc:
                raise InputError(f"cannot read {source.name}: {exc}") from None
            finally:
                stream.close()
            hashes[source.name] = (read_digest.hexdigest() if read_digest is not None
                                   else sha256_file(source.name))
    if spec is not None:
        redaction.counts = {kind: counts.get(kind, 0) for kind in KINDS}
    if policy.mode == "quarantine" and policy.quarantine_path is not None:
        write_quarantine(policy.quarantine_path, report.invalid)
    output = OutputFile(out.name, None, records, digest.hexdigest(), size)
    return Streamed(report, output, redaction, hashes)


def _export_streamed(sources: list[Source], options: ExportOptions) -> ExportResult:
    spec = _redact_spec(options.redact, options.redact_fields, options.keep_fields)
    done = stream_records(sources, options.out, spec, options.on_invalid)
    report = done.report
    counts = Counts(read=report.records + report.skipped, invalid=report.skipped,
                    written=done.output.records)
    result = ExportResult("jsonl", [done.output], str(manifest_path(options.out)), counts,
                          done.redaction, report.to_dict())
    write_manifest(result, report, options, done.hashes)
    return result


# ---------------------------------------------------------------- redact on its own


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
    JSONL."""
    _refuse_existing([out], overwrite)
    named = set(redact_fields) | set(keep_fields)
    sources = genailog_sources(paths, input_format) if named <= set(CANONICAL_DTYPES) else None
    if sources is not None:
        streamed = stream_records(sources, out, _redact_spec(True, redact_fields, keep_fields),
                                  on_invalid)
        return RedactResult(streamed.output, streamed.output.records, streamed.redaction,
                            streamed.report.to_dict())
    logs = read_logs(paths, on_invalid=on_invalid, input_format=input_format)
    frame = logs.frame.collect()
    fields = resolve_fields(frame.schema, _user_fields(frame), redact_fields, keep_fields)
    redaction = Redaction(enabled=True, fields=fields)
    files = logs.report.files
    if _all_genailog_files(logs.report):
        [output] = _write_as_logged(frame.height, [(None, frame.with_row_index(_ROW))], [out],
                                    logs.report, redaction, _logged_spec(redaction, keep_fields))
        return RedactResult(output, output.records, redaction, logs.report.to_dict())
    done = redact_frame(frame, fields, json_columns_of(frame, logs.report))
    redaction.add(done)
    if files and all(f.format == "parquet" for f in files):
        records = write_parquet(done.frame, out, overwrite=True)
    else:
        records = write_jsonl(done.frame, out, json_columns_of(frame, logs.report), overwrite=True)
    return RedactResult(_describe_output(out, None, records), records, redaction,
                        logs.report.to_dict())
