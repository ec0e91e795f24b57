"""The :class:`Logger`: defaults, context fields and sampling on the request path; the
rest (record building, masking, redaction, encoding, writing) in the writer's thread."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from genailog.log.context import current_fields
from genailog.log.masking import Transform, chain, compact_embedding, reasoning_masker, stamp_time
from genailog.log.redact import WriteTimeRedactor
from genailog.log.sampling import Sampler
from genailog.log.writer import Writer

Content = Literal["text", "full", "none"]
_TEXT_FIELDS = ("prompt", "system_prompt", "messages", "response", "reasoning")


def _content_filter(content: Content) -> Transform:
    """``text``: prompt, system prompt and response; ``full``: the messages too;
    ``none``: no text at all (counts, times and ids only)."""
    if content not in ("text", "full", "none"):
        raise ValueError(f"content must be text, full or none, not {content!r}")
    dropped = {"none": _TEXT_FIELDS, "text": ("messages",), "full": ()}[content]

    def keep(record: dict[str, Any]) -> dict[str, Any]:
        for name in dropped:
            record.pop(name, None)
        return record

    return keep


def _redactor(redact: bool | Callable[[dict[str, Any]], dict[str, Any]]) -> Transform | None:
    """``True``: genailog's engine on the default fields; a callable: your own."""
    if callable(redact):
        return redact
    return WriteTimeRedactor() if redact else None


class Logger:
    """Where instrumented clients, the logging handler and :meth:`log` send records.

    ``defaults`` (and ``app``/``environment``) fill fields a record lacks. Sampling keeps a
    call when its ``sample_key`` value falls in the first ``sample_rate`` of the hash
    range; errors and flagged calls are kept whatever the sample (see
    :mod:`genailog.log.sampling`). ``reasoning`` masks chain-of-thought: ``drop``
    (default), ``hash``, ``truncate:N`` or ``keep``. ``redact=True`` redacts text fields
    with genailog's redaction engine. ``content`` chooses how much text is kept.
    ``embedding`` is ``float16`` (compact) or ``full``. Other keywords go to
    :class:`~genailog.log.writer.Writer`.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | Writer,
        *,
        app: str | None = None,
        environment: str | None = None,
        defaults: Mapping[str, Any] | None = None,
        sample_rate: float = 1.0,
        sample_key: str = "session_id",
        sample_salt: str = "",
        keep_errors: bool = True,
        keep_flagged: bool = True,
        reasoning: str = "drop",
        redact: bool | Callable[[dict[str, Any]], dict[str, Any]] = False,
        content: Content = "text",
        embedding: str = "float16",
        **writer_options: Any,
    ) -> None:
        self.defaults = {k: v for k, v in {**(defaults or {}), "app": app,
                                           "environment": environment}.items()
                         if v is not None}
        self.sampler = Sampler(sample_rate, sample_key, sample_salt, keep_errors, keep_flagged)
        steps = [reasoning_masker(reasoning), _content_filter(content),
                 _redactor(redact), compact_embedding(embedding), stamp_time]
        transform = chain([step for step in steps if step is not None])
        if isinstance(target, Writer):
            self.writer = target
            self.writer._transform = transform
        else:
            self.writer = Writer(target, transform=transform, **writer_options)

    # -- the request path ------------------------------------------------------------

    def log(self, record: Mapping[str, Any]) -> bool:
        """Queue one record (any fields; ``timestamp`` defaults to now). False when the
        sample left it out or the queue dropped it."""
        fields = current_fields()
        record = dict(record)
        if "timestamp" not in record:
            record["timestamp"] = time.time()
        sampler = self.sampler
        selected = sampler.rate >= 1 or sampler.selected(
            record.get(sampler.key, fields.get(sampler.key)))
        return self.writer.put((record, fields, selected), self._finish_record)

    def submit_call(self, call: Any, extract: Callable[[Any], dict[str, Any]]) -> bool:
        """Queue an instrumented call; the record is built in the writer's thread."""
        sampler = self.sampler
        selected = sampler.rate >= 1 or sampler.selected(call.fields.get(sampler.key))
        if not (selected or call.is_error or sampler.keep_flagged):
            return False  # left out by the sample: nothing to queue
        return self.writer.put((call, extract, selected), self._finish_call)

    # -- the writer's thread ---------------------------------------------------------

    def _complete(self, record: dict[str, Any], fields: Mapping[str, Any],
                  selected: bool) -> dict[str, Any] | None:
        # ``record`` is ours (copied on the request path or built by an extractor).
        merged = record
        if any(v is None for v in merged.values()):  # None never hides a field or default
            merged = {k: v for k, v in merged.items() if v is not None}
        for source in (fields, self.defaults):
            for name, value in source.items():
                if name not in merged:
                    merged[name] = value
        rate = self.sampler.rate_for(merged, selected)
        if rate is None:
            return None
        merged.pop("keep", None)
        merged["sample_rate"] = rate
        return merged

    def _finish_record(self, item: tuple[dict[str, Any], Mapping[str, Any], bool],
                       ) -> dict[str, Any] | None:
        record, fields, selected = item
        return self._complete(record, fields, selected)

    def _finish_call(self, item: tuple[Any, Callable[[Any], dict[str, Any]], bool],
                     ) -> dict[str, Any] | None:
        call, extract, selected = item
        return self._complete(extract(call), call.fields, selected)

    # -- control ---------------------------------------------------------------------

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
