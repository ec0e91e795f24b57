"""What was read: per-file and total counts, and the records set aside."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genailog.ingest.context import FileNotes, ReadContext


@dataclass(frozen=True)
class InvalidRecord:
    """One record that could not be used, with where it was and every reason why.

    ``problems`` holds (JSON pointer, message) pairs; the pointer is "" for the whole line.
    """

    file: str
    line: int
    problems: tuple[tuple[str, str], ...]
    raw: bytes = b""

    @property
    def path(self) -> str:
        return self.problems[0][0]

    @property
    def message(self) -> str:
        path, message = self.problems[0]
        return f"{path}: {message}" if path else message

    def to_dicts(self) -> list[dict[str, Any]]:
        """One entry per problem, as ``genailog validate --format json`` lists them."""
        return [{"file": self.file, "line": self.line, "path": p, "message": m}
                for p, m in self.problems]


@dataclass
class FileReport:
    """Counts for one input file."""

    path: str
    format: str
    records: int = 0
    invalid: int = 0
    #: Lines that are no LLM call (other loggers, plain text, non-call spans).
    other_lines: int = 0
    empty: bool = False
    notes: FileNotes | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "records": self.records,
                "invalid": self.invalid, "other_lines": self.other_lines}


@dataclass
class ReadReport:
    """Counts for a whole read: ``records`` is what the returned frame holds."""

    files: list[FileReport] = field(default_factory=list)
    invalid: list[InvalidRecord] = field(default_factory=list)
    policy: str = "fail"
    #: User fields whose values were objects, lists or mixed types; held as JSON text.
    json_columns: set[str] = field(default_factory=set)
    #: Files that could not be read at all (name, reason), under skip/quarantine.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: Things the user should know about how the input was read.
    notes: list[str] = field(default_factory=list)
    #: Hive partition keys found and files skipped unopened (ingest.partitions).
    partitions: dict[str, Any] = field(default_factory=dict)

    def absorb(self, ctx: ReadContext) -> None:
        """Take the adapters' per-file notes and the read's notes."""
        for file_report in self.files:
            file_report.notes = ctx.files.get(file_report.path)
        unmapped: dict[str, int] = {}
        for notes in ctx.files.values():
            for key, count in notes.unmapped.items():
                unmapped[key] = unmapped.get(key, 0) + count
        self.notes = list(ctx.notes)
        if unmapped:
            listed = ", ".join(f"{k} ({n} records)" for k, n in sorted(unmapped.items()))
            self.notes.append(f"token-like fields seen but not read: {listed}; "
                              "name them with --map FIELD=PATH")

    def messages(self) -> list[str]:
        """What a user should be told about the read, one line each (the CLI shows them)."""
        out = []
        for f in self.files:
            if f.other_lines and f.format != "genailog-spans":  # spans: traces reads them
                what = "span(s) or line(s)" if f.format in ("otlp", "openinference") else "line(s)"
                out.append(f"{f.path}: {f.other_lines:,} other {what} that are no LLM call, "
                           "passed over (genailog inspect shows them)")
        out += [f"{name}: not read: {reason}" for name, reason in self.unreadable]
        return out + self.notes

    @property
    def other_lines(self) -> int:
        return sum(f.other_lines for f in self.files)

    def found_without_calls(self) -> str | None:
        """What non-empty input held when it gave no record; None if it was empty."""
        found = []
        if self.invalid:
            found.append(f"{len(self.invalid)} invalid record(s) set aside")
        if self.other_lines:
            found.append(f"{self.other_lines} line(s) that are no LLM call")
        spans = sum(f.notes.spans for f in self.files if f.notes)
        if spans:
            found.append(f"{spans} span(s), none an LLM call")
        if self.unreadable:
            found.append(f"{len(self.unreadable)} unreadable file(s): "
                         + "; ".join(f"{n}: {r}" for n, r in self.unreadable[:3]))
        nonempty = [f for f in self.files if not f.empty]
        if not found and not nonempty:
            return None
        if not found:
            found.append(f"{len(nonempty)} non-empty file(s)")
        return ", ".join(found)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def skipped(self) -> int:
        """Invalid records set aside under ``skip`` or ``quarantine``."""
        return len(self.invalid)

    @property
    def quarantined(self) -> int:
        return len(self.invalid) if self.policy == "quarantine" else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "records": self.records,
            "skipped": self.skipped,
            "quarantined": self.quarantined,
            "policy": self.policy,
            "other_lines": self.other_lines,
            "unreadable": [{"path": n, "reason": r} for n, r in self.unreadable],
            "notes": self.notes,
            "partitions": self.partitions,
        }
