"""The ``--on-invalid`` policy: what to do with a record that is malformed or invalid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from genailog.errors import UsageError

Mode = Literal["fail", "skip", "quarantine"]


@dataclass(frozen=True)
class InvalidPolicy:
    """``fail`` stops at the first bad record; ``skip`` counts and drops it;
    ``quarantine`` counts it and appends the raw line to ``quarantine_path``."""

    mode: Mode = "fail"
    quarantine_path: Path | None = None

    @classmethod
    def parse(cls, text: str | InvalidPolicy) -> InvalidPolicy:
        """Parse ``fail``, ``skip`` or ``quarantine=PATH``."""
        if isinstance(text, InvalidPolicy):
            return text
        if text == "fail":
            return cls("fail")
        if text == "skip":
            return cls("skip")
        if text.startswith("quarantine="):
            target = text.removeprefix("quarantine=")
            if target:
                return cls("quarantine", Path(target))
        raise UsageError(
            f"--on-invalid takes fail, skip or quarantine=PATH, not {text!r}"
        )
