"""What was read: per-file and total counts, and the records set aside."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "records": self.records,
                "invalid": self.invalid}


@dataclass
class ReadReport:
    """Counts for a whole read: ``records`` is what the returned frame holds."""

    files: list[FileReport] = field(default_factory=list)
    invalid: list[InvalidRecord] = field(default_factory=list)
    policy: str = "fail"
    #: User fields whose values were objects, lists or mixed types; held as JSON text.
    json_columns: set[str] = field(default_factory=set)

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
        }
