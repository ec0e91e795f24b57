"""Price tables: loading LiteLLM-format price files and matching logged model names.

A price file is LiteLLM's ``model_prices_and_context_window.json`` as it is: a JSON object
of model name to an entry with USD-per-token fields. Entries without an
``input_cost_per_token`` (image, audio, embedding-only models, LiteLLM's ``sample_spec``)
are ignored. The bundled default table uses the same format plus a ``_genailog`` entry
recording where its prices came from and when.

Logs spell model names in several ways, so a name is matched exactly first, then with a
provider prefix removed (``openai/gpt-4.1``), then with a dated snapshot suffix removed
(``gpt-4.1-2025-04-14``). Table keys that carry a provider prefix themselves
(``mistral/mistral-large-latest``) are also reachable by their bare name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from genailog.errors import InputError

_META_KEY = "_genailog"
_DATE_SUFFIX = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8})$")


@dataclass(frozen=True)
class ModelPrice:
    """USD per token for one model; a missing cache or reasoning rate falls back as noted."""

    input: float
    output: float
    #: Cache reads; LiteLLM's convention when absent is the plain input rate.
    cache_read: float | None = None
    #: Cache writes; when absent, the plain input rate.
    cache_write: float | None = None
    #: Reasoning output tokens; when absent, the plain output rate.
    reasoning: float | None = None


@dataclass
class PriceTable:
    """Model name to price, with where the prices came from."""

    prices: dict[str, ModelPrice]
    source: str
    as_of: str | None = None
    _bare: dict[str, ModelPrice] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        # Bare names of prefixed keys; an unprefixed key of the same name wins.
        for key, price in self.prices.items():
            if "/" in key:
                self._bare.setdefault(strip_provider(key), price)
        for key, price in self.prices.items():
            if "/" not in key:
                self._bare[key] = price

    def lookup(self, model: str) -> ModelPrice | None:
        """The price of ``model`` as logs spell it, or None when the table lacks it."""
        for candidate in _candidates(model):
            price = self.prices.get(candidate) or self._bare.get(candidate)
            if price is not None:
                return price
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "as_of": self.as_of, "models": len(self.prices)}


def strip_provider(model: str) -> str:
    """``openai/gpt-4.1`` -> ``gpt-4.1``; ``together_ai/meta-llama/X`` -> ``X``."""
    return model.rsplit("/", 1)[-1]


def strip_snapshot(model: str) -> str:
    """``gpt-4.1-2025-04-14`` -> ``gpt-4.1``; ``claude-x-20250514`` -> ``claude-x``."""
    return _DATE_SUFFIX.sub("", model)


def _candidates(model: str) -> list[str]:
    bare = strip_provider(model)
    names = [model, bare, strip_snapshot(model), strip_snapshot(bare)]
    lowered = [n.lower() for n in names]
    return list(dict.fromkeys(names + lowered))


def _rate(entry: dict[str, Any], key: str, model: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"price of {model!r}: {key} must be a non-negative number, got {value!r}")
    return float(value)


def _entry_price(model: str, entry: dict[str, Any]) -> ModelPrice | None:
    input_rate = _rate(entry, "input_cost_per_token", model)
    output_rate = _rate(entry, "output_cost_per_token", model)
    if input_rate is None:
        return None
    return ModelPrice(
        input=input_rate,
        output=output_rate if output_rate is not None else 0.0,
        cache_read=_rate(entry, "cache_read_input_token_cost", model),
        cache_write=_rate(entry, "cache_creation_input_token_cost", model),
        reasoning=_rate(entry, "output_cost_per_reasoning_token", model),
    )


def price_table_from_json(data: Any, source: str) -> PriceTable:
    """A table from parsed LiteLLM-format JSON; entries without token prices are skipped."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a price file must be a JSON object of model name to prices")
    meta = data.get(_META_KEY)
    if not isinstance(meta, dict):
        meta = {}
    prices: dict[str, ModelPrice] = {}
    for model, entry in data.items():
        if model == _META_KEY or not isinstance(entry, dict):
            continue
        price = _entry_price(model, entry)
        if price is not None:
            prices[model] = price
    return PriceTable(prices, source=str(meta.get("source", source)), as_of=meta.get("as_of"))


def load_prices(path: str | Path) -> PriceTable:
    """Read a LiteLLM ``model_prices_and_context_window.json`` (USD per token)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read price file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"price file {path} is not valid JSON: {exc}") from None
    return price_table_from_json(data, source=str(path))


@cache
def default_prices() -> PriceTable:
    """The bundled price table (see docs/pricing.md for its source and date)."""
    text = resources.files("genailog.pricing").joinpath("default_prices.json").read_text("utf-8")
    return price_table_from_json(json.loads(text), source="bundled")
