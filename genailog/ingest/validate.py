"""``validate``: check every record of some log files against a JSON Schema.

With the bundled schema the fast reader does the work (jsonschema writes the messages
for the records that fail); with ``--schema FILE`` every line goes through jsonschema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from genailog.errors import InputError, UsageError
from genailog.ingest.report import InvalidRecord
from genailog.ingest.sources import Source, discover, numbered_chunks, size_of

CHUNK_BYTES = 16 * 1024 * 1024


@dataclass
class ValidationResult:
    """The verdict over all records; ``errors`` lists at most ``max_errors`` problems."""

    records: int = 0
    invalid_records: list[InvalidRecord] = field(default_factory=list)
    max_errors: int | None = None
    files: list[str] = field(default_factory=list)
    #: Lines of non-canonical files that are no LLM call (spans, other loggers' lines).
    other_lines: int = 0

    @property
    def valid(self) -> bool:
        return not self.invalid_records

    @property
    def invalid(self) -> int:
        return len(self.invalid_records)

    def errors(self) -> list[dict[str, Any]]:
        listed = [e for r in self.invalid_records for e in r.to_dicts()]
        return listed if self.max_errors is None else listed[: self.max_errors]

    @property
    def error_count(self) -> int:
        return sum(len(r.problems) for r in self.invalid_records)

    def to_dict(self) -> dict[str, Any]:
        errors = self.errors()
        return {"valid": self.valid, "records": self.records, "invalid": self.invalid,
                "errors": errors, "errors_truncated": len(errors) < self.error_count,
                "files": self.files, "invalid_by_file": self.invalid_by_file()}

    def invalid_by_file(self) -> dict[str, int]:
        """Invalid records per file (every one counted, not only those listed)."""
        counts: dict[str, int] = {}
        for record in self.invalid_records:
            counts[record.file] = counts.get(record.file, 0) + 1
        return counts


def load_schema_file(path: str | Path) -> dict[str, Any]:
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read --schema {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"--schema {path} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict | bool):
        raise UsageError(f"--schema {path} must hold a JSON object (or boolean) schema")
    return schema  # type: ignore[return-value]


def _bundled(source: Source, stream: Any, result: ValidationResult) -> None:
    from genailog.ingest.parallel import read_ranges
    from genailog.ingest.scanner import verdicts, vouched

    size = size_of(source)
    spread = read_ranges(source.name, size, CHUNK_BYTES, None) if size else None
    if spread is not None:
        for part in spread:
            result.records += part.checked
            result.invalid_records.extend(part.invalid)
        return

    reader = None
    for chunk in numbered_chunks(stream, CHUNK_BYTES, source.name, size_of(source)):
        found = verdicts(chunk.data)
        if (clean := vouched(found)) is not None:  # every line valid: polars is not loaded
            result.records += clean
            continue
        if reader is None:
            from genailog.ingest.jsonl import ChunkReader

            reader = ChunkReader(source.name, build_frames=False)
        out = reader.read(chunk, found)
        result.records += out.checked
        result.invalid_records.extend(out.invalid)


def _custom(source: Source, stream: Any, result: ValidationResult,
            schema: dict[str, Any]) -> None:
    from genailog.ingest.jsonl import Lines
    from genailog.schema.diagnose import diagnose, make_validator

    validator = make_validator(schema)
    for chunk in numbered_chunks(stream, CHUNK_BYTES, source.name, size_of(source)):
        lines = Lines.split(chunk.data, chunk.first_line)
        last_open = chunk.final and not chunk.data.endswith(b"\n")
        for index, (raw, number) in enumerate(zip(lines.items, lines.numbers, strict=True)):
            _, problems = diagnose(raw, validator,
                                   last_unterminated=last_open and index == len(lines.items) - 1)
            if problems:
                result.invalid_records.append(InvalidRecord(
                    source.name, number, tuple((p.path, p.message) for p in problems), raw=raw))
        result.records += len(lines.items)


def _other_format(source: Source, result: ValidationResult, input_format: str) -> None:
    from genailog.ingest import read_logs

    logs = read_logs([source.name], on_invalid="skip", input_format=input_format,
                     require_calls=False)
    result.records += logs.report.records + logs.report.skipped
    result.invalid_records.extend(logs.report.invalid)
    result.other_lines += logs.report.other_lines


def validate(
    paths: Sequence[str | Path],
    *,
    schema: dict[str, Any] | str | Path | None = None,
    max_errors: int | None = None,
    quarantine: str | Path | None = None,
    input_format: str = "auto",
    stdin: BinaryIO | None = None,
) -> ValidationResult:
    """Check every record in ``paths``; the result lists each invalid record's problems."""
    if max_errors is not None and max_errors < 0:
        raise UsageError("--max-errors must be 0 or more")
    custom = load_schema_file(schema) if isinstance(schema, str | Path) else schema
    result = ValidationResult(max_errors=max_errors)
    for source in discover(paths):
        result.files.append(source.name)
        start = len(result.invalid_records)
        _validate_source(source, result, custom, input_format, stdin)
        result.invalid_records[start:] = sorted(result.invalid_records[start:],
                                                key=lambda r: r.line)
    if quarantine is not None:
        from genailog.ingest.reader import write_quarantine

        write_quarantine(Path(quarantine), result.invalid_records)
    if not result.records and result.other_lines:
        raise InputError(f"no LLM call found: {result.other_lines} line(s) that are no LLM "
                         "call; see `genailog inspect` for what was read")
    return result


def _validate_source(source: Source, result: ValidationResult, custom: dict[str, Any] | None,
                     input_format: str, stdin: BinaryIO | None) -> None:
    from genailog.ingest.detect import detect
    from genailog.ingest.sources import open_peeked

    head, stream = open_peeked(source, stdin)
    try:
        fmt = "genailog" if custom is not None else detect(source, head, input_format)
        if fmt != "genailog":
            _other_format(source, result, input_format)
        elif custom is None:
            _bundled(source, stream, result)
        else:
            _custom(source, stream, result, custom)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {source.name}: {exc}") from None
    finally:
        stream.close()
