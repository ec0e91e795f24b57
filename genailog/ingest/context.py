"""What a read is told (timezone, field map, default model) and what it notices on the way.

Adapters receive a :class:`ReadContext`; they report other lines, the source field each
canonical field came from, and notes a user should see ("times without an offset read
as UTC"), so that ``inspect`` and every command can say what was done with the input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from genailog.errors import UsageError

#: Canonical fields a ``--map`` may name.
MAPPABLE = (
    "model", "timestamp", "provider", "operation", "prompt", "system_prompt", "messages",
    "response", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "cost_usd", "latency_ms", "ttft_ms", "finish_reason", "request_id",
    "trace_id", "span_id", "parent_span_id", "session_id", "user_id", "prompt_id",
    "prompt_version", "app", "environment", "stage", "retries", "feedback_rating",
    "feedback_comment", "hallucination_flag", "refusal", "error_type", "error_message",
    "status", "tags",
)  # fmt: skip


@dataclass(frozen=True)
class ReadOptions:
    """How to read logs that are not in the canonical shape.

    ``field_map`` maps canonical fields to dotted source paths (``--map``); ``model``
    names the model of records that name none (``--model``); ``timezone`` is the zone of
    times written without an offset (``--timezone``, UTC by default).
    """

    field_map: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    timezone: str = "UTC"

    @property
    def zone(self) -> tzinfo:
        return parse_zone(self.timezone)


def parse_zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone {name!r} is not a time zone; use an IANA name such as "
                         "UTC or Europe/Paris") from None


def parse_map(items: list[str] | None) -> dict[str, str]:
    """``FIELD=PATH`` items (``--map input_tokens=meta.tok_in``) as a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise UsageError(f"--map {item!r}: write FIELD=PATH, e.g. input_tokens=meta.tok_in")
        if name not in MAPPABLE:
            raise UsageError(f"--map {item!r}: {name!r} is not a canonical field; fields: "
                             + ", ".join(MAPPABLE))
        out[name] = path
    return out


@dataclass
class FileNotes:
    """What one file's adapter saw."""

    other_lines: int = 0
    #: (source path, canonical field) -> records that used it.
    mapping: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: token-like source fields that were seen and not mapped -> records.
    unmapped: Counter[str] = field(default_factory=Counter)
    #: How the records were found: "text-prefixed JSON", "structlog envelope", ... -> count.
    shapes: Counter[str] = field(default_factory=Counter)
    #: Non-call spans read (traces).
    spans: int = 0


@dataclass
class ReadContext:
    options: ReadOptions = field(default_factory=ReadOptions)
    files: dict[str, FileNotes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Read a file no format claims with the alias reader, to count its lines (inspect).
    explain: bool = False

    def file(self, name: str) -> FileNotes:
        return self.files.setdefault(name, FileNotes())

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


_DEFAULT: ContextVar[ReadOptions | None] = ContextVar("genailog_read_options", default=None)


@contextmanager
def default_options(options: ReadOptions) -> Iterator[None]:
    """Make ``options`` the read options of every read in this block that names none (the
    CLI sets them once per command from --map/--model/--timezone and the config file)."""
    token = _DEFAULT.set(options)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


def current_options() -> ReadOptions:
    return _DEFAULT.get() or ReadOptions()
