"""Rules every command applies to a record in the same way: one home for each.

The error rule: a call failed when its ``status`` is ``error``; a record without a status
failed when it names an ``error_type``; otherwise it succeeded. ``summarize``'s
``error_rate``, ``diff-prompts``' ``error_rate`` metric, drift and the report all use this
expression, so the figure means one thing everywhere (docs/schema.md, ``status``).

Time in outputs: :func:`utc_text` is the one spelling of a time in every JSON, CSV,
Markdown and table output.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded by the two expressions below: the format adapters use the
    import polars as pl  # time rules in processes that need no polars (validate)


def is_error() -> pl.Expr:
    """True for a failed call, False otherwise (never null)."""
    import polars as pl

    status = pl.col("status")
    return (pl.when(status.is_not_null()).then(status == "error")
            .otherwise(pl.col("error_type").is_not_null()))


def utc_text(value: datetime | date) -> str:
    """The one spelling of a time in every output: RFC 3339 in UTC with ``Z``
    (``2026-11-02T00:01:38.025Z``); a date as ``2026-11-02``; a time without a zone is
    taken as UTC, as everywhere in genailog."""
    if not isinstance(value, datetime):
        return value.isoformat()
    stamp = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = stamp.isoformat(timespec="milliseconds" if stamp.microsecond % 1000 == 0
                           else "microseconds")
    if stamp.microsecond == 0:
        text = stamp.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def prompt_text() -> pl.Expr:
    """A record's prompt text: ``prompt``, else its non-assistant messages' contents joined
    (drift's prompt features, near-duplicate keys and traces' repeated calls all use it)."""
    import polars as pl

    messages = pl.col("messages").list.eval(
        pl.element().filter(pl.element().struct.field("role") != "assistant")
        .struct.field("content")
    ).list.join("\n")
    return pl.coalesce(pl.col("prompt"), messages)


#: The window grammar of every ``--window``: a positive count and a unit, s, m (minutes),
#: h, d, w or mo (calendar months), as polars' ``truncate`` and ``offset_by`` take them.
WINDOW = re.compile(r"[1-9]\d*(s|m|h|d|w|mo)")


def check_window(text: str, option: str = "--window") -> str:
    """``text`` if it is a window, else a usage error in the user's terms."""
    from genailog.errors import UsageError

    if not WINDOW.fullmatch(text):
        raise UsageError(f"{option} {text!r} is not a duration; use e.g. 15m, 1h, 1d, 1w or "
                         "1mo")
    return text


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(text: str, zone: tzinfo = UTC) -> datetime | None:
    """An RFC 3339 / ISO 8601 time (``Z`` or an offset; a comma or dot before the fraction;
    nanoseconds cut to microseconds; a space for the ``T``) as an aware datetime, or None.
    A time without an offset is in ``zone``. The one scalar time parser of the readers."""
    value = text.strip()
    if value[-1:] in ("z", "Z"):
        value = value[:-1] + "+00:00"
    if "," in value[17:]:
        value = value.replace(",", ".", 1)
    value = _FRACTION.sub(r"\1", value)
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=zone)
