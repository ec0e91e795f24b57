"""Run inside a python that has litellm: price cases with litellm's own cost functions.

Reads JSON from stdin: {"prices": PATH or null, "cases": [{"model", "input_tokens",
"cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
"provider", "timestamp"}]} and writes {"litellm": VERSION, "prices": PATH, "costs": [USD or
{"error": TEXT}]} to stdout. With "prices": null it uses the file litellm ships
(model_prices_and_context_window_backup.json) and reports its path.

A case may instead carry "anthropic_usage", the usage block as Anthropic's API reports it
(uncached ``input_tokens`` plus ``cache_read_input_tokens`` and
``cache_creation_input_tokens``), which litellm's own Anthropic parser turns into a Usage.

Token counts follow genailog's canonical convention (input includes cached and written
tokens), which is also what litellm's ``Usage.prompt_tokens`` means; the cache-write count
goes into ``prompt_tokens_details.cache_creation_tokens`` and reasoning tokens into
``completion_tokens_details``, as litellm's provider transformations put them.

This file is not imported by genailog; tests/test_pricing_oracle.py runs it.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # never fetch prices from the network

import litellm  # noqa: E402
from litellm.types.utils import (  # noqa: E402
    CompletionTokensDetailsWrapper,
    PromptTokensDetailsWrapper,
    Usage,
)

#: The billing time of a case without a timestamp: a weekday peak hour.
BILLING_TIME = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _usage(case: dict) -> Usage:
    if "anthropic_usage" in case:  # as Anthropic's API reports it, through litellm's parser
        from litellm.llms.anthropic.chat.transformation import AnthropicConfig

        return AnthropicConfig().calculate_usage(case["anthropic_usage"], None)
    prompt = case["input_tokens"]
    completion = case["output_tokens"]
    cached = case.get("cached_input_tokens") or 0
    written = case.get("cache_write_tokens") or 0
    reasoning = case.get("reasoning_tokens") or 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetailsWrapper(
            cached_tokens=cached, cache_creation_tokens=written
        )
        if cached or written
        else None,
        completion_tokens_details=CompletionTokensDetailsWrapper(reasoning_tokens=reasoning)
        if reasoning
        else None,
    )


def main() -> None:
    request = json.load(sys.stdin)
    out, sys.stdout = sys.stdout, sys.stderr  # litellm prints hints to stdout
    prices = request.get("prices")
    if prices is None:
        prices = str(Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json")
    litellm.model_cost = json.loads(Path(prices).read_text(encoding="utf-8"))
    litellm.add_known_models()
    from litellm._internal_context import pinned_billing_time

    costs: list[object] = []
    for case in request["cases"]:
        # Bill at the record's timestamp: it decides off-peak prices (DeepSeek V4).
        stamp = case.get("timestamp")
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else BILLING_TIME
        with pinned_billing_time(moment):
            try:
                prompt_cost, completion_cost = litellm.cost_per_token(
                    model=case["model"],
                    custom_llm_provider=case.get("provider"),
                    usage_object=_usage(case),
                )
                costs.append(prompt_cost + completion_cost)
            except Exception as exc:  # noqa: BLE001  # litellm raises bare Exceptions
                costs.append({"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
    from importlib.metadata import version

    json.dump({"litellm": version("litellm"), "prices": prices, "costs": costs}, out)


if __name__ == "__main__":
    main()
