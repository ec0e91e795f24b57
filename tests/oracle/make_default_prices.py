"""Regenerate genailog/pricing/default_prices.json from LiteLLM's price file.

Usage (any python; no litellm import needed)::

    python tests/oracle/make_default_prices.py PATH/TO/model_prices_and_context_window_backup.json \
        --version 1.110.2 --as-of 2026-11-29

The file ships inside the litellm wheel (``pip download litellm==X --no-deps`` and unzip
``litellm/model_prices_and_context_window_backup.json``, or take it from the oracle venv
.ci/run builds). Entries are copied unchanged except that only the fields genailog bills
are kept: the token rates, their ``*_above_<N>k_tokens`` tiers, the reasoning rate,
``off_peak_pricing`` and ``litellm_provider`` (which name resolution needs).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

OUT = Path(__file__).parents[2] / "genailog" / "pricing" / "default_prices.json"
RATES = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
         "cache_creation_input_token_cost")  # fmt: skip
FIELDS = (*RATES, "output_cost_per_reasoning_token", "litellm_provider", "off_peak_pricing")
TIER = re.compile(rf"^({'|'.join(RATES)})_above_\d+k?_tokens$")
KEEP = [
    # OpenAI, Anthropic, Gemini first party
    r"^(gpt-4\.1|gpt-4o|gpt-4o-mini|gpt-5[.\d]*|o1|o3|o4)(-(mini|nano|pro|chat-latest|codex|\d{4}-\d\d-\d\d))*$",
    r"^claude-", r"^gemini-[23]", r"^gemini/gemini-[23]",
    # Anthropic on Bedrock (model ids with and without routing prefix) and on Vertex
    r"^([a-z]{2,6}(-gov)?\.)?anthropic\.claude-", r"^vertex_ai/claude-",
    # Meta Llama on Vertex, Together, Fireworks; DeepSeek, Qwen hosted there too
    r"^vertex_ai/meta/", r"^together_ai/(meta-llama|deepseek-ai|Qwen)/",
    r"^fireworks_ai/accounts/fireworks/models/(llama-v3p|llama4|deepseek|qwen)",
    # Mistral and DeepSeek first party
    r"^mistral/(mistral|ministral|magistral|codestral|devstral|pixtral|open-mistral)",
    r"^deepseek[-/]",
]  # fmt: skip
DROP = r"audio|search|realtime|tts|robotics|computer-use|deep-research|image"
#: Names logs use that LiteLLM has only under a cloud or gateway key (copied prices).
ALIASES = {
    "claude-sonnet-4": "anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-opus-4": "anthropic.claude-opus-4-20250514-v1:0",
    "claude-opus-4-1": "anthropic.claude-opus-4-1-20250805-v1:0",
    "claude-3-7-sonnet": "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude-3-5-sonnet": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-5-haiku": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "mistral-large": "mistral/mistral-large-latest",
    "mistral-medium": "mistral/mistral-medium-latest",
    "mistral-small": "mistral/mistral-small-latest",
    "llama-3.3-70b": "vertex_ai/meta/llama-3.3-70b-instruct-maas",
    "gemini-2.0-flash": "vertex_ai/gemini-2.0-flash",
    "gemini-2.0-flash-lite": "vertex_ai/gemini-2.0-flash-lite",
}


def prices(entry: dict[str, object], *, provider: bool = True) -> dict[str, object]:
    kept = {f: entry[f] for f in FIELDS if f in entry and (provider or f != "litellm_provider")}
    return {**kept, **{k: v for k, v in entry.items() if TIER.match(k)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("--version", required=True)
    parser.add_argument("--as-of", required=True)
    args = parser.parse_args()
    data = json.loads(Path(args.source).read_text(encoding="utf-8"))
    aliases = {alias: key for alias, key in ALIASES.items() if key in data}
    out: dict[str, object] = {
        "_genailog": {
            "source": "LiteLLM model_prices_and_context_window.json, as bundled in "
            f"litellm {args.version} (MIT licence)",
            "as_of": args.as_of,
            "aliases": aliases,
            "note": "USD per token; chat models of OpenAI, Anthropic (first party, Bedrock, "
            "Vertex), Google Gemini, Mistral, DeepSeek, and Meta Llama, DeepSeek and Qwen "
            "as hosted by Vertex, Together and Fireworks",
        }
    }
    for key, entry in data.items():
        if (isinstance(entry, dict) and entry.get("mode") in ("chat", "responses")
                and "input_cost_per_token" in entry and any(re.search(p, key) for p in KEEP)
                and not re.search(DROP, key)):  # fmt: skip
            out[key] = prices(entry)
    for alias, key in aliases.items():
        out.setdefault(alias, prices(data[key], provider=False))
    OUT.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(out) - 1} models")


if __name__ == "__main__":
    main()
