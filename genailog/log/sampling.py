"""Deterministic keyed head sampling that keeps sessions whole and every error.

A call is kept when ``u(key) < rate``, where ``u`` maps the value of the sampling key
(``session_id`` by default) to [0, 1) through a salted BLAKE2b hash: every call of a
session gets the same answer, in every process, so a kept session is kept whole. A call
whose key is missing is sampled on its own, at random.

Errors and flagged calls (refusals, hallucination or moderation flags, or ``keep=True``)
are always kept, with ``sample_rate`` 1: they form a stratum logged in full, so they are
counted exactly and never re-weighted. Every other kept call carries ``sample_rate`` =
``rate`` and stands for ``1/rate`` calls. This makes the weighted totals of
``genailog summarize`` unbiased (Horvitz-Thompson), with sessions as the sampling unit.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

#: 2**64, the hash range.
_SPAN = float(1 << 64)


def is_error(record: Mapping[str, Any]) -> bool:
    """The rule genailog uses: ``status == "error"``, or no status and an error type."""
    status = record.get("status")
    if status is not None:
        return bool(status == "error")
    return record.get("error_type") is not None


def is_flagged(record: Mapping[str, Any]) -> bool:
    """Calls worth keeping whatever the sample: refusals, flags, or an explicit keep."""
    return bool(record.get("keep") or record.get("refusal")
                or record.get("hallucination_flag") or record.get("moderation_flags"))


class Sampler:
    """Decides which calls to write, and the ``sample_rate`` each carries."""

    def __init__(self, rate: float = 1.0, key: str = "session_id", salt: str = "",
                 keep_errors: bool = True, keep_flagged: bool = True) -> None:
        if not 0 < rate <= 1:
            raise ValueError(f"sample rate must be in (0, 1], not {rate!r}")
        self.rate = float(rate)
        self.key = key
        self.keep_errors = keep_errors
        self.keep_flagged = keep_flagged
        self._salt = salt.encode("utf-8")

    def unit(self, value: Any) -> float:
        """Where ``value`` of the key falls in [0, 1): the same in every process."""
        digest = hashlib.blake2b(str(value).encode("utf-8"), digest_size=8, key=self._salt)
        return int.from_bytes(digest.digest(), "big") / _SPAN

    def selected(self, key_value: Any) -> bool:
        """Whether the head sample takes calls with this key value."""
        if self.rate >= 1:
            return True
        if key_value is None:
            return random.random() < self.rate
        return self.unit(key_value) < self.rate

    def rate_for(self, record: Mapping[str, Any], selected: bool) -> float | None:
        """``sample_rate`` for a call (1 for the always-kept stratum), or None to drop."""
        if self.rate >= 1:
            return 1.0
        if (self.keep_errors and is_error(record)) or (self.keep_flagged and is_flagged(record)):
            return 1.0
        return self.rate if selected else None
