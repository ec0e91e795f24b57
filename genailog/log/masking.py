"""What the writer does to a record before it is encoded: chain-of-thought masking,
redaction, compact embeddings, and the timestamp's text.

All of it runs in the writer's thread, never on the request path.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

#: Message part types and keys that hold a model's reasoning, across providers.
REASONING_PART_TYPES = frozenset({"thinking", "redacted_thinking", "reasoning"})
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def parse_reasoning_option(option: str) -> tuple[str, int]:
    """``"drop"``, ``"hash"``, ``"keep"`` or ``"truncate:N"`` -> (mode, N)."""
    mode, _, size = option.partition(":")
    if mode == "truncate":
        if not size.isdigit():
            raise ValueError("reasoning='truncate:N' needs a number of characters: truncate:200")
        return mode, int(size)
    if mode not in ("drop", "hash", "keep") or size:
        raise ValueError(f"reasoning must be drop, hash, keep or truncate:N, not {option!r}")
    return mode, 0


def _masked(text: str, mode: str, size: int) -> str | None:
    if mode == "drop":
        return None
    if mode == "hash":
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if mode == "truncate":
        return text[:size] + ("…" if len(text) > size else "")
    return text


def _mask_part(part: Any, mode: str, size: int) -> Any:
    """A content part with its reasoning masked, or None to drop the part."""
    if not isinstance(part, dict):
        return part
    if part.get("type") in REASONING_PART_TYPES:
        text = str(part.get("thinking") or part.get("text") or part.get("data") or "")
        masked = _masked(text, mode, size)
        return None if masked is None else {"type": part["type"], "text": masked}
    return _mask_keys(part, mode, size)


def _mask_keys(item: dict[str, Any], mode: str, size: int) -> dict[str, Any]:
    out = dict(item)
    for key in REASONING_KEYS:
        value = out.get(key)
        if isinstance(value, str):
            masked = _masked(value, mode, size)
            if masked is None:
                del out[key]
            else:
                out[key] = masked
        elif value is not None:
            del out[key]  # structured reasoning (summaries, blocks): never kept whole
    return out


def mask_messages(messages: Sequence[Any], mode: str, size: int) -> list[Any]:
    out = []
    for message in messages:
        if not isinstance(message, dict):
            out.append(message)
            continue
        message = _mask_keys(message, mode, size)
        content = message.get("content")
        if isinstance(content, list):
            parts = [_mask_part(p, mode, size) for p in content]
            message["content"] = [p for p in parts if p is not None]
        out.append(message)
    return out


def reasoning_masker(option: str) -> Transform:
    """Masks the ``reasoning`` field and reasoning inside ``messages``; token counts stay."""
    mode, size = parse_reasoning_option(option)

    def mask(record: dict[str, Any]) -> dict[str, Any]:
        if mode == "keep" or ("reasoning" not in record and "messages" not in record):
            return record
        text = record.pop("reasoning", None)
        if isinstance(text, str) and text:
            masked = _masked(text, mode, size)
            if masked is not None:
                record["reasoning"] = masked
        messages = record.get("messages")
        if isinstance(messages, list):
            record["messages"] = mask_messages(messages, mode, size)
        return record

    return mask


def compact_embedding(precision: str) -> Transform:
    """``"float16"``: each value rounded to 4 significant digits (about float16's
    precision, a third of the text of a float64); ``"full"``: as given."""
    if precision not in ("float16", "full"):
        raise ValueError(f"embedding precision must be float16 or full, not {precision!r}")

    def compact(record: dict[str, Any]) -> dict[str, Any]:
        values = record.get("embedding")
        if values is not None:
            values = [float(v) for v in values]  # numpy arrays and tuples become lists
            record["embedding"] = ([float(f"{v:.4g}") for v in values]
                                   if precision == "float16" else values)
        return record

    return compact


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def stamp_time(record: dict[str, Any]) -> dict[str, Any]:
    """Epoch seconds (what the request path records) -> RFC 3339 text in UTC, with
    microseconds (the text of the current second is computed once)."""
    value = record.get("timestamp")
    if isinstance(value, int | float) and not isinstance(value, bool):
        micros = round(value * 1_000_000)
        second, micro = divmod(micros, 1_000_000)
        record["timestamp"] = f"{_second(second)}.{micro:06d}Z"
    return record


def chain(transforms: Sequence[Transform]) -> Transform:
    def run(record: dict[str, Any]) -> dict[str, Any]:
        for transform in transforms:
            record = transform(record)
        return record

    return run
