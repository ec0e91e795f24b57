"""genailog's cost against LiteLLM's own cost functions, with LiteLLM's full price file.

LiteLLM is the oracle: tests/oracle/litellm_costs.py runs in a python that has litellm
(this one, or the one GENAILOG_LITELLM_PYTHON names; .ci/run builds it in its own venv
with a pinned version) and prices every case with ``litellm.cost_per_token``. genailog
prices the same cases with the same file passed as ``--prices`` would, per record and
through ``summarize``; both must equal LiteLLM to 1e-9 (relative).

The test skips when no litellm is available, and fails instead when
GENAILOG_REQUIRE_ALL=1 (CI). docs/pricing.md records the result.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require_or_skip

from genailog.api import summarize
from genailog.ingest.frame import canonical_frame
from genailog.pricing import PriceTable, default_prices, load_prices, with_cost

ORACLE = Path(__file__).parent / "oracle" / "litellm_costs.py"
REL = 1e-9

#: (spelling as logged, provider LiteLLM needs to route it or None). Bare names LiteLLM
#: cannot route itself (``mistral-large-latest``) are priced by LiteLLM with the maker's
#: provider named: genailog must find that same first-party entry, not a reseller's.
SPELLINGS: list[tuple[str, str | None]] = [
    # OpenAI: bare, dated, prefixed; GPT-5.x has tiers above 272k tokens
    ("gpt-4o", None), ("gpt-4o-2024-08-06", None), ("openai/gpt-4o", None),
    ("gpt-4.1", None), ("gpt-4.1-2025-04-14", None), ("gpt-4.1-mini", None),
    ("gpt-5", None), ("gpt-5-2025-08-07", None), ("openai/gpt-5-mini", None),
    ("gpt-5.4", None), ("gpt-5.5", None), ("o3", None), ("o4-mini", None),
    ("gpt-4o-mini-2024-07-18", None), ("o3-2025-04-16", None), ("gpt-5-nano", None),
    ("azure/gpt-4o", None),
    # Anthropic first party
    ("claude-sonnet-4-5", None), ("claude-sonnet-4-5-20250929", None),
    ("claude-haiku-4-5-20251001", None), ("anthropic/claude-sonnet-4-5", None),
    ("claude-opus-4-5", None), ("claude-opus-4-5-20251101", None),
    # Anthropic on Bedrock: model ids, routed ids, bedrock/ prefix; Sonnet 4 has >200k tiers
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", None),
    ("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", None),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", None),
    ("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", None),
    ("anthropic.claude-sonnet-4-20250514-v1:0", None),
    ("eu.anthropic.claude-sonnet-4-20250514-v1:0", None),
    ("bedrock/converse/anthropic.claude-sonnet-4-5-20250929-v1:0", None),
    # Anthropic and Meta on Vertex
    ("vertex_ai/claude-sonnet-4-5@20250929", None), ("vertex_ai/claude-sonnet-4-5", None),
    ("vertex_ai/claude-haiku-4-5@20251001", None),
    ("vertex_ai/meta/llama-3.3-70b-instruct-maas", None),
    # Gemini: >200k tiers on 2.5 Pro
    ("gemini-2.5-pro", None), ("gemini/gemini-2.5-pro", None),
    ("gemini-2.5-flash", None), ("gemini/gemini-2.5-flash", None),
    ("gemini/gemini-2.5-flash-lite", None), ("vertex_ai/gemini-2.5-pro", None),
    # Mistral: bare names exist only as mistral/… entries (and resellers')
    ("mistral-large-latest", "mistral"), ("mistral/mistral-large-latest", None),
    ("codestral-latest", "mistral"), ("mistral/codestral-latest", None),
    ("mistral-small-latest", "mistral"), ("mistral/mistral-medium-latest", None),
    ("mistral-large-2512", "mistral"),
    # DeepSeek
    ("deepseek-chat", "deepseek"), ("deepseek/deepseek-chat", None),
    ("deepseek-reasoner", "deepseek"), ("deepseek/deepseek-reasoner", None),
    # DeepSeek V4: off-peak prices by the record's timestamp (see MIXES)
    ("deepseek-v4-flash", "deepseek"), ("deepseek/deepseek-v4-pro", None),
    # Fireworks: no cache price -> LiteLLM bills cache reads at 50% of input
    ("fireworks_ai/accounts/fireworks/models/deepseek-v3", None),
    ("fireworks_ai/accounts/fireworks/models/llama4-maverick-instruct-basic", None),
    ("fireworks_ai/accounts/fireworks/models/deepseek-r1", None),
    # Together
    ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", None),
    ("together_ai/deepseek-ai/DeepSeek-V3", None),
    ("together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo", None),
]  # fmt: skip

#: First-party names LiteLLM's file has no entry for: LiteLLM prices them at $0 (or cannot
#: price them); genailog reports them unpriced rather than borrowing a reseller's price.
NO_FIRST_PARTY_ENTRY = ["claude-opus-4-1", "claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]

#: Token mixes (canonical: input includes cached and written tokens), each at a timestamp
#: that is the billing time: DeepSeek V4 is off-peak on weekdays 00:00-01:00, 04:00-06:00
#: and 10:00-24:00 UTC and all weekend (2026-11-25 is a Wednesday, 11-28 a Saturday).
MIXES: dict[str, dict[str, Any]] = {
    "plain": {"input_tokens": 1200, "output_tokens": 300,
              "timestamp": "2026-11-25T08:00:00Z"},  # peak
    "cached": {"input_tokens": 5000, "cached_input_tokens": 3000, "output_tokens": 200,
               "timestamp": "2026-11-25T12:00:00Z"},  # off-peak
    "cache_write": {"input_tokens": 5000, "cached_input_tokens": 1000,
                    "cache_write_tokens": 2000, "output_tokens": 200,
                    "timestamp": "2026-11-28T08:00:00Z"},  # weekend: off-peak
    "reasoning": {"input_tokens": 1000, "output_tokens": 2000, "reasoning_tokens": 1500,
                  "timestamp": "2026-11-25T00:30:00Z"},  # off-peak
    "at_200k": {"input_tokens": 200_000, "cached_input_tokens": 20_000, "output_tokens": 500,
                "timestamp": "2026-11-25T03:59:59Z"},  # peak
    "above_200k": {"input_tokens": 250_000, "cached_input_tokens": 50_000,
                   "cache_write_tokens": 10_000, "output_tokens": 1000, "reasoning_tokens": 200,
                   "timestamp": "2026-11-25T09:59:00Z"},  # peak, last minute
    "above_272k": {"input_tokens": 300_000, "cached_input_tokens": 100_000,
                   "output_tokens": 4000, "reasoning_tokens": 3000,
                   "timestamp": "2026-11-25T10:00:00Z"},  # off-peak, first minute
}  # fmt: skip


#: Anthropic's own usage blocks (input_tokens excludes cache reads and writes), parsed by
#: litellm's Anthropic transformation: genailog's canonical input_tokens is their sum.
ANTHROPIC_USAGE: list[tuple[str, dict[str, int]]] = [
    ("claude-sonnet-4-5", {"input_tokens": 120, "cache_read_input_tokens": 40_000,
                           "cache_creation_input_tokens": 3_000, "output_tokens": 800}),
    ("claude-haiku-4-5-20251001", {"input_tokens": 5_000, "cache_read_input_tokens": 0,
                                   "cache_creation_input_tokens": 2_000, "output_tokens": 50}),
    ("bedrock/anthropic.claude-sonnet-4-20250514-v1:0",
     {"input_tokens": 150_000, "cache_read_input_tokens": 60_000,
      "cache_creation_input_tokens": 5_000, "output_tokens": 900}),  # 215k: above 200k
    ("vertex_ai/claude-sonnet-4-5@20250929",
     {"input_tokens": 1_000, "cache_read_input_tokens": 198_000,
      "cache_creation_input_tokens": 1_000, "output_tokens": 10}),  # exactly 200k: base
]  # fmt: skip



def _litellm_python() -> str | None:
    configured = os.environ.get("GENAILOG_LITELLM_PYTHON")
    if configured:
        return configured
    return sys.executable if importlib.util.find_spec("litellm") is not None else None


def _anthropic_cases() -> list[dict[str, Any]]:
    return [{"case": model, "model": model, "anthropic_usage": usage,
             "timestamp": "2026-11-25T08:00:00Z"} for model, usage in ANTHROPIC_USAGE]  # fmt: skip


def _no_entry_cases() -> list[dict[str, Any]]:
    return [{"case": m, "model": m, "input_tokens": 1000, "output_tokens": 10,
             "timestamp": "2026-11-25T08:00:00Z"} for m in NO_FIRST_PARTY_ENTRY]  # fmt: skip


def _cases() -> list[dict[str, Any]]:
    return [
        {"case": f"{model} | {mix}", "model": model, "provider": provider, **tokens}
        for model, provider in SPELLINGS
        for mix, tokens in MIXES.items()
    ]


@pytest.fixture(scope="module")
def oracle() -> dict[str, Any]:
    python = _litellm_python()
    if python is None:
        require_or_skip("litellm is not installed; set GENAILOG_LITELLM_PYTHON (see .ci/run)")
    assert python is not None
    done = subprocess.run(
        [python, str(ORACLE)],
        input=json.dumps(
            {"prices": None, "cases": _cases() + _no_entry_cases() + _anthropic_cases()}
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"the litellm oracle failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    costs, matrix, no_entry = result["costs"], len(_cases()), len(_no_entry_cases())
    result["costs"] = costs[:matrix]
    result["no_entry"] = costs[matrix : matrix + no_entry]
    result["anthropic"] = costs[matrix + no_entry :]
    return result


@pytest.fixture(scope="module")
def full_table(oracle: dict[str, Any]) -> PriceTable:
    """LiteLLM's full price file, loaded as ``--prices`` loads it."""
    return load_prices(oracle["prices"])


def _ours(
    table: PriceTable, cases: list[dict[str, Any]]
) -> tuple[list[float | None], dict[str, Any]]:
    records = [{k: v for k, v in c.items() if k != "provider"} for c in cases]
    frame, _ = canonical_frame(records)
    per_record = with_cost(frame.lazy(), table).collect()["_cost"].to_list()
    summary = summarize(frame, by=["case"], prices=table)
    return per_record, {g["case"]: g["cost_usd"] for g in summary.groups}


def test_cost_equals_litellm_cost_per_token(oracle: dict[str, Any], full_table: PriceTable) -> None:
    cases = _cases()
    per_record, by_summary = _ours(full_table, cases)
    unequal = []
    for case, theirs, ours in zip(cases, oracle["costs"], per_record, strict=True):
        if isinstance(theirs, dict):
            unequal.append(f"{case['case']}: litellm cannot price it ({theirs['error'][:80]})")
            continue
        for path, value in (("record", ours), ("summarize", by_summary[case["case"]])):
            if value is None or not math.isclose(value, theirs, rel_tol=REL, abs_tol=1e-15):
                unequal.append(f"{case['case']} ({path}): genailog {value!r} != litellm {theirs!r}")
    assert not unequal, f"{len(unequal)} of {len(cases)} differ:\n" + "\n".join(unequal)
    assert len(cases) == len(SPELLINGS) * len(MIXES)


def test_the_bundled_table_gives_the_same_costs(oracle: dict[str, Any]) -> None:
    """Every matrix spelling is in the bundled subset, copied from the same litellm."""
    cases = _cases()
    frame, _ = canonical_frame([{k: v for k, v in c.items() if k != "provider"} for c in cases])
    ours = with_cost(frame.lazy(), default_prices()).collect()["_cost"].to_list()
    unequal = [
        f"{case['case']}: bundled {value!r} != litellm {theirs!r}"
        for case, value, theirs in zip(cases, ours, oracle["costs"], strict=True)
        if value is None or not math.isclose(value, theirs, rel_tol=REL, abs_tol=1e-15)
    ]
    assert not unequal, "\n".join(unequal)


def test_anthropic_usage_blocks_cost_what_litellm_bills(
    oracle: dict[str, Any], full_table: PriceTable
) -> None:
    """The canonical convention (input includes cache reads and writes) read from
    Anthropic's own usage block bills what litellm's Anthropic parser bills."""
    records = [
        {"timestamp": "2026-11-25T08:00:00Z", "model": model,
         "input_tokens": u["input_tokens"] + u["cache_read_input_tokens"]
         + u["cache_creation_input_tokens"],
         "cached_input_tokens": u["cache_read_input_tokens"],
         "cache_write_tokens": u["cache_creation_input_tokens"],
         "output_tokens": u["output_tokens"]}
        for model, u in ANTHROPIC_USAGE
    ]  # fmt: skip
    frame, _ = canonical_frame(records)
    ours = with_cost(frame.lazy(), full_table).collect()["_cost"].to_list()
    for (model, _), value, theirs in zip(ANTHROPIC_USAGE, ours, oracle["anthropic"], strict=True):
        assert not isinstance(theirs, dict), (model, theirs)
        assert value is not None and math.isclose(value, theirs, rel_tol=REL), (
            model,
            value,
            theirs,
        )


def test_names_litellm_has_no_entry_for_are_unpriced_not_zero(
    oracle: dict[str, Any], full_table: PriceTable
) -> None:
    assert all(isinstance(c, dict) or c == 0.0 for c in oracle["no_entry"]), oracle["no_entry"]
    assert [full_table.lookup(m) for m in NO_FIRST_PARTY_ENTRY] == [None] * len(
        NO_FIRST_PARTY_ENTRY
    )


def test_the_matrix_exercises_tiers_cache_and_reasoning_rates(full_table: PriceTable) -> None:
    """The comparison above is only worth something if the price file makes the token mixes
    bill differently: a >200k tier, a cache price, a reasoning price, Fireworks' default."""
    prices = {model: full_table.lookup(model) for model, _ in SPELLINGS}
    assert all(p is not None for p in prices.values()), [m for m, p in prices.items() if p is None]
    assert prices["gemini-2.5-pro"].tiers  # type: ignore[union-attr]
    assert prices["anthropic.claude-sonnet-4-20250514-v1:0"].tiers  # type: ignore[union-attr]
    assert prices["gpt-5.4"].tiers  # type: ignore[union-attr]
    fireworks = prices["fireworks_ai/accounts/fireworks/models/deepseek-v3"]
    assert fireworks is not None and fireworks.cache_read == fireworks.input * 0.5
    assert any(p is not None and p.reasoning is not None for p in prices.values())
    deepseek_v4 = prices["deepseek/deepseek-v4-pro"]
    assert deepseek_v4 is not None and deepseek_v4.off_peak is not None
    assert deepseek_v4.off_peak.input is not None and deepseek_v4.off_peak.input < deepseek_v4.input


def test_oracle_result_is_recorded_in_the_docs(oracle: dict[str, Any]) -> None:
    """docs/pricing.md states the litellm version and the size of the matrix."""
    text = (Path(__file__).parents[1] / "docs" / "pricing.md").read_text(encoding="utf-8")
    assert f"litellm {oracle['litellm']}" in text
    total = len(SPELLINGS) * len(MIXES)
    assert f"{len(SPELLINGS)} model spellings x {len(MIXES)} token mixes = {total} records" in text
