"""Write-time redaction with the engine ``genailog redact`` uses (genailog.redaction).

Runs in the writer's thread. The same fields as ``genailog redact`` are redacted, plus the
masked ``reasoning`` when it is kept (``reasoning="keep"`` or ``truncate:N``); ``fields``
widens or narrows that. Counts per kind add up in :attr:`WriteTimeRedactor.counts`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from genailog.redaction import DEFAULT_FIELDS, redact_record


class WriteTimeRedactor:
    """Callable on a record: returns it with PII and secrets replaced by ``<KIND_N>``."""

    def __init__(self, fields: Iterable[str] = (*DEFAULT_FIELDS, "reasoning")) -> None:
        self.fields = tuple(fields)
        self.counts: Counter[str] = Counter()

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        redacted, counts = redact_record(record, self.fields)
        self.counts.update(counts)
        return redacted


def write_time_redactor() -> WriteTimeRedactor:
    return WriteTimeRedactor()
