"""Synthetic LLM logs with an optional drift injected on a known day.

Used by the drift tests and the benchmark (test-only, so it lives under tests/) to show
what drift finds: from ``change_day`` on, 30% of prompts are about a new topic (crypto
wallets), every prompt carries an extra paragraph (longer prompts, more input tokens),
and latency is 50% higher. Before it, and without a change, every day is drawn from the
same distribution.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from genailog.schema.columns import CANONICAL_DTYPES

TOPICS = (
    ("How do I get a refund for invoice {n}", "My bill shows a double charge on the card",
     "Please explain the late fee on my billing statement"),
    ("I cannot log in after the password reset", "The login page says my account is locked",
     "How do I enable two factor authentication"),
    ("Where is my package, the tracking number does not work",
     "The delivery was left at the wrong address", "Can I change the shipping address"),
    ("The blender stopped working, is it under warranty", "How do I book a repair",
     "Which spare parts fit the model {n} vacuum"),
    ("Summarize this meeting transcript for the team", "Draft a polite reply to this customer",
     "Translate the product description into French"),
)
NEW_TOPIC = ("I lost the seed phrase of my crypto wallet, can I recover it",
             "How do I move tokens from my crypto wallet to the exchange",
             "Is the crypto wallet app safe from phishing")
FILLER = ("please", "thanks", "today", "again", "urgent", "quickly", "order", "help", "soon",
          "details", "customer", "question", "issue", "update", "team", "note")
CONTEXT = (" Context: the customer has been with us for several years and wrote to support "
           "twice this month; earlier answers are attached below for reference.")
RESPONSES = ("Sure, here is what you can do.", "I am sorry for the trouble; let me help.",
             "Thanks for reaching out. The steps are below.", "Here is a short summary.")


def _prompts(rng: np.random.Generator, n: int, changed: np.ndarray) -> list[str]:
    topic = rng.integers(0, len(TOPICS), n)
    variant = rng.integers(0, 3, n)
    new_topic = changed & (rng.random(n) < 0.3)
    fill = rng.integers(0, len(FILLER), (n, 3))
    numbers = rng.integers(100, 999, n)
    out = []
    for i in range(n):
        base = NEW_TOPIC[variant[i]] if new_topic[i] else TOPICS[topic[i]][variant[i]]
        text = base.format(n=numbers[i]) + " " + " ".join(FILLER[j] for j in fill[i])
        out.append(text + CONTEXT if changed[i] else text)
    return out


def synthetic_logs(
    *, days: int = 28, per_day: int = 800, change_day: int | None = None, seed: int = 0,
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
) -> pl.DataFrame:
    """A frame in canonical columns; ``change_day`` counts from 0 (None: stationary)."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    day = np.repeat(np.arange(days), per_day)
    offset_us = (day * 86_400 + rng.integers(0, 86_400, n)) * 1_000_000
    stamps = pl.Series("timestamp", int(start.timestamp() * 1_000_000) + offset_us).cast(
        pl.Datetime("us", "UTC"))
    changed = day >= (change_day if change_day is not None else days)
    prompts = _prompts(rng, n, changed)
    length = np.fromiter(map(len, prompts), dtype=np.int64, count=n)
    error = rng.random(n) < 0.03
    latency = rng.lognormal(6.7, 0.4, n) * np.where(changed, 1.5, 1.0)
    output_tokens = rng.lognormal(5.0, 0.5, n).astype(np.int64) + 1
    input_tokens = length // 4 + rng.integers(0, 20, n)
    rated = rng.random(n) < 0.1
    columns = {
        "timestamp": stamps,
        "model": rng.choice(["gpt-4.1", "gpt-4.1-mini"], n, p=[0.6, 0.4]),
        "prompt": prompts,
        "response": [None if e else RESPONSES[i] for e, i in
                     zip(error, rng.integers(0, len(RESPONSES), n), strict=True)],
        "latency_ms": latency,
        "input_tokens": input_tokens,
        "output_tokens": np.where(error, 0, output_tokens),
        "cost_usd": input_tokens * 2e-6 + output_tokens * 8e-6,
        "status": np.where(error, "error", "ok"),
        "error_type": np.where(error, rng.choice(["timeout", "rate_limit"], n), ""),
        "finish_reason": np.where(error, "", np.where(rng.random(n) < 0.05, "length", "stop")),
        "refusal": rng.random(n) < 0.02,
        "feedback_rating": np.where(rated, rng.integers(1, 6, n), np.nan),
        "prompt_version": np.full(n, "v3"),
    }
    frame = pl.DataFrame(columns).with_columns(
        pl.col("feedback_rating").fill_nan(None),
        pl.col("error_type", "finish_reason").replace("", None),
    )
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in CANONICAL_DTYPES.items()
    )
