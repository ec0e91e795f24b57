"""``logging`` integration: the seed's ``logging.info(json.dumps(record))`` and
``logger.info("llm_call", extra={...})`` become canonical records.

:class:`LogHandler` sends them through a :class:`~genailog.log.logger.Logger` (background
writer, sampling, masking, redaction); :class:`RecordFormatter` formats them as canonical
JSON lines for any handler you already use (``FileHandler``, ``RotatingFileHandler``).
Log records that carry neither a JSON object message nor extra fields are not LLM calls:
the handler leaves them out and counts them in ``ignored``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from genailog.log.logger import Logger
from genailog.log.masking import stamp_time

#: The attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}

#: Names people give canonical fields in hand-written records, and what they mean.
ALIASES: dict[str, str] = {
    "model_name": "model", "llm_model": "model",
    "input": "prompt", "user_input": "prompt", "query": "prompt", "question": "prompt",
    "output": "response", "completion": "response", "answer": "response",
    "prompt_tokens": "input_tokens", "completion_tokens": "output_tokens",
    "cached_tokens": "cached_input_tokens", "cost": "cost_usd",
    "error": "error_message", "session": "session_id", "user": "user_id",
}


def _seconds_to_ms(data: dict[str, Any], name: str) -> None:
    value = data.pop(name, None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        data.setdefault("latency_ms", round(value * 1000, 3))


def normalize(data: Mapping[str, Any]) -> dict[str, Any]:
    """A hand-written record with canonical names: aliases renamed (the canonical name
    wins when both are present), ``latency``/``latency_s`` (seconds) to ``latency_ms``,
    ``model``/token counts lifted out of ``model_params``/``usage`` objects."""
    out = dict(data)
    for alias, name in ALIASES.items():
        if alias in out and name not in out:
            out[name] = out.pop(alias)
    for nest in ("model_params", "params", "usage"):
        inner = out.get(nest)
        if isinstance(inner, dict):
            for key, value in normalize(inner).items():
                if key in ("model", "input_tokens", "output_tokens", "cached_input_tokens"):
                    out.setdefault(key, value)
    _seconds_to_ms(out, "latency_s")
    _seconds_to_ms(out, "latency")
    if isinstance(out.get("tokens"), int) and "output_tokens" not in out:
        out["output_tokens"] = out.pop("tokens")
    return out


def fields_of(record: logging.LogRecord) -> dict[str, Any] | None:
    """The call a log record describes, or None when it describes none."""
    extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    message = record.msg if isinstance(record.msg, dict) else None
    if message is None and isinstance(record.msg, str) and record.msg.lstrip().startswith("{"):
        try:
            parsed = json.loads(record.getMessage())
        except ValueError:
            parsed = None
        message = parsed if isinstance(parsed, dict) else None
    if message is None and not extras:
        return None
    data = normalize({**(message or {}), **extras})
    if "event" not in data and message is None:
        data["event"] = record.getMessage()
    if record.levelno >= logging.ERROR:
        data["status"] = "error"
        data.setdefault("error_type", record.levelname)
        data.setdefault("error_message", record.getMessage() if message is None else None)
    else:
        data.setdefault("status", "ok")
    data.setdefault("timestamp", record.created)
    if record.exc_info and record.exc_info[0] is not None:
        data.setdefault("error_type", record.exc_info[0].__name__)
        data.setdefault("error_message", str(record.exc_info[1]))
    return data


class LogHandler(logging.Handler):
    """A ``logging.Handler`` writing canonical records through a :class:`Logger`.

    ``model`` (and ``app``, ``environment``, ``defaults``) fill what records lack;
    ``target`` is a path or a :class:`Logger`; other keywords are the Logger's options.
    """

    def __init__(self, target: str | os.PathLike[str] | Logger, *, model: str | None = None,
                 level: int = logging.NOTSET, **options: Any) -> None:
        super().__init__(level)
        self.model = model
        self.logger = target if isinstance(target, Logger) else Logger(target, **options)
        self.ignored = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = fields_of(record)
            if data is None:
                self.ignored += 1
                return
            data.setdefault("model", self.model or "(unknown)")
            self.logger.log(data)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.logger.flush()

    def close(self) -> None:
        self.logger.close()
        super().close()


class RecordFormatter(logging.Formatter):
    """Formats a log record as one canonical JSON line (synchronously, in the caller's
    thread: use :class:`LogHandler` to keep encoding off the request path)."""

    def __init__(self, *, model: str | None = None, defaults: Mapping[str, Any] | None = None,
                 ) -> None:
        super().__init__()
        self.model = model
        self.defaults = dict(defaults or {})

    def format(self, record: logging.LogRecord) -> str:
        data = fields_of(record)
        if data is None:
            data = {"event": record.getMessage(), "timestamp": record.created,
                    "status": "error" if record.levelno >= logging.ERROR else "ok"}
        data = {**self.defaults, **{k: v for k, v in data.items() if v is not None}}
        data.setdefault("model", self.model or "(unknown)")
        data.pop("reasoning", None)  # the formatter has no masking option: never write it
        return json.dumps(stamp_time(data), default=str, ensure_ascii=False)
