"""Price tables: loading LiteLLM-format price files and matching logged model names.

A price file is LiteLLM's ``model_prices_and_context_window.json`` as it is: a JSON object
of model name to an entry with USD-per-token fields. Entries without an
``input_cost_per_token`` (image, audio, embedding-only models, LiteLLM's ``sample_spec``)
are ignored. The bundled default table uses the same format plus a ``_genailog`` entry
recording where its prices came from and when.

Matching a logged name (docs/pricing.md, "Matching model names"):

1. the name exactly as logged;
2. a provider-prefixed name (``bedrock/…``, ``vertex_ai/…``, ``mistral/…``) is looked up
   among that provider's entries only (its ``litellm_provider``), with Bedrock's routing
   prefix (``us.``, ``eu.``, …) removed when the regional entry is missing; when the
   provider has no entry for it (or the prefix is no provider the table knows), the rest
   of the name is looked up as the maker sells it;
3. a bare name is looked up among the entries of the provider that makes the model
   (``claude-…`` -> ``anthropic``, ``mistral-…``/``codestral-…`` -> ``mistral``,
   ``deepseek-…`` -> ``deepseek``, …), never a reseller's; a bare name of no known maker
   matches a prefixed entry only when every entry of that name has the same prices;
4. the same with a dated snapshot suffix removed, then in lower case.

Prices above a prompt-size threshold (LiteLLM's ``*_above_200k_tokens`` fields) are kept
as tiers, time-of-day prices (``off_peak_pricing``) as a schedule, and Fireworks' 50%
cache-read default is applied, as LiteLLM's cost functions do. Every rate must be a
finite number >= 0; anything else is an :class:`InputError` naming the entry.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from genailog.errors import InputError

_META_KEY = "_genailog"
_DATE_SUFFIX = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8})$")
#: The rate fields genailog bills, by LiteLLM field name.
_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
}
_REASONING_FIELD = "output_cost_per_reasoning_token"
#: ``input_cost_per_token_above_200k_tokens`` and friends. LiteLLM reads a threshold from
#: any key of these four rates that has ``_above_`` and ``_tokens`` (service-tier and batch
#: variants excluded) and bills every token of a larger prompt at the tier's rates.
_TIER_KEY = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost)_above_(.*_tokens.*)$"
)
_NON_STANDARD_SUFFIXES = ("_flex", "_priority", "_balanced", "_ultrafast", "_fast", "_batches")
#: LiteLLM's default for Fireworks models without a cache-read price: half the input rate.
_FIREWORKS_CACHE_READ_RATIO = 0.5
#: Providers whose thresholds are inclusive (a prompt of exactly the threshold is above).
_INCLUSIVE_THRESHOLD_PROVIDERS = frozenset({"xai"})

#: The provider that makes a model, from a bare name (checked in order).
_MAKERS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), providers)
    for pattern, providers in (
        (r"^(gpt-(?!oss)|o\d|chatgpt-|codex-|ft:gpt-)", ("openai", "text-completion-openai")),
        (r"^claude-", ("anthropic",)),
        (r"^gemini-", ("gemini", "vertex_ai-language-models")),
        (r"^(mistral|ministral|magistral|codestral|devstral|pixtral|open-mi[sx]tral|voxtral)",
         ("mistral",)),
        (r"^deepseek-", ("deepseek",)),
        (r"^grok-", ("xai",)),
        (r"^(command|c4ai-)", ("cohere_chat", "cohere")),
        # Bedrock model ids: anthropic.claude-…-v1:0, meta.llama…, with or without routing.
        (r"^([a-z]{2,6}(-gov)?\.)?(anthropic|meta|amazon|mistral|cohere|ai21|deepseek|qwen"
         r"|openai|writer|twelvelabs)\.[^/]+$", ("bedrock_converse", "bedrock")),
    )
)  # fmt: skip
#: Makers whose bare names LiteLLM prices from their ``provider/name`` entry first.
_PREFIXED_FIRST = (("mistral",), ("deepseek",))
#: Logged provider prefixes that LiteLLM files under other provider names too.
_PROVIDER_ALIASES = {"bedrock": ("bedrock_converse",), "bedrock_converse": ("bedrock",)}
_BEDROCK_ROUTING = re.compile(r"^[a-z]{2,6}(-gov)?\.(?=[a-z0-9-]+\.)")


@dataclass(frozen=True)
class PriceTier:
    """Rates that replace the base rates when a prompt has more than ``above`` tokens."""

    above: float
    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True)
class OffPeakWindow:
    """Minutes of the UTC day (start inclusive, end exclusive; wraps past midnight when
    start > end, the whole day when equal), on ``weekdays`` (ISO 1-7) or every day."""

    spans: tuple[tuple[int, int], ...]
    weekdays: frozenset[int] | None = None


@dataclass(frozen=True)
class OffPeak:
    """A time-of-day price schedule (LiteLLM's ``off_peak_pricing``): inside a window the
    rates it sets replace the standard ones for the whole request."""

    windows: tuple[OffPeakWindow, ...]
    #: The calendar whose weekday ``weekdays`` means (IANA name); UTC when None.
    weekday_timezone: str | None = None
    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None

    @property
    def schedule(self) -> tuple[tuple[OffPeakWindow, ...], str | None]:
        """When it applies, without the rates: records are flagged once per schedule."""
        return self.windows, self.weekday_timezone


@dataclass(frozen=True)
class ModelPrice:
    """USD per token for one model; a missing cache or reasoning rate falls back as noted."""

    input: float
    output: float
    #: Cache reads; when absent, the input rate (of the prompt's tier).
    cache_read: float | None = None
    #: Cache writes; when absent, the input rate (of the prompt's tier).
    cache_write: float | None = None
    #: Reasoning output tokens; when absent, the output rate (of the prompt's tier).
    reasoning: float | None = None
    #: LiteLLM's ``litellm_provider`` (or the key's prefix), when known.
    provider: str | None = None
    #: Prompt-size tiers, ascending; the highest one the prompt exceeds applies.
    tiers: tuple[PriceTier, ...] = ()
    #: Time-of-day prices (DeepSeek V4), applied by each record's timestamp.
    off_peak: OffPeak | None = None

    def rates(self, exceeded: float | None = None, off_peak: bool = False) -> dict[str, float]:
        """The resolved per-token rates of a record, as LiteLLM's cost functions bill it.

        ``exceeded`` is the highest prompt-size threshold the record's prompt is above
        (None: none); ``off_peak`` whether its timestamp is inside the off-peak schedule.
        Each tier up to ``exceeded`` replaces the rates it sets; a missing cache rate then
        falls back to the input rate (the off-peak one when open), off-peak rates replace
        the rates they set, and a missing reasoning rate falls back to the output rate (an
        explicit one is not tiered).
        """
        raw: dict[str, float | None] = {
            "input": self.input, "output": self.output,
            "cache_read": self.cache_read, "cache_write": self.cache_write,
        }  # fmt: skip
        for tier in self.tiers:
            if exceeded is None or tier.above > exceeded:
                break
            raw = {name: value if getattr(tier, name) is None else getattr(tier, name)
                   for name, value in raw.items()}  # fmt: skip
        peak = self.off_peak if off_peak else None
        input_rate = raw["input"] or 0.0
        fallback = peak.input if peak is not None and peak.input is not None else input_rate
        rates = {
            "input": input_rate,
            "output": raw["output"] or 0.0,
            "cache_read": fallback if raw["cache_read"] is None else raw["cache_read"],
            "cache_write": fallback if raw["cache_write"] is None else raw["cache_write"],
        }
        reasoning = self.reasoning
        if peak is not None:
            for name in rates:
                if getattr(peak, name) is not None:
                    rates[name] = getattr(peak, name)
            reasoning = peak.reasoning if peak.reasoning is not None else reasoning
        rates["reasoning"] = rates["output"] if reasoning is None else reasoning
        return rates


@dataclass
class PriceTable:
    """Model name to price, with where the prices came from."""

    prices: dict[str, ModelPrice]
    source: str
    as_of: str | None = None
    _lower: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    #: Names below a provider prefix (``meta-llama/X`` and ``X`` of
    #: ``together_ai/meta-llama/X``) to the keys that carry them.
    _bare: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _memo: dict[str, ModelPrice | None] = field(default_factory=dict, init=False, repr=False)
    _providers: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self._providers = {p.provider for p in self.prices.values() if p.provider}
        for key in self.prices:
            self._lower.setdefault(key.lower(), key)
            if "/" in key:
                rest = key.split("/", 1)[1]
                for name in dict.fromkeys((rest, rest.rsplit("/", 1)[-1])):
                    self._bare.setdefault(name.lower(), []).append(key)

    @cached_property
    def thresholds(self) -> list[float]:
        """Every prompt-size threshold of the table, ascending."""
        return sorted({tier.above for p in self.prices.values() for tier in p.tiers})

    @cached_property
    def schedules(self) -> list[tuple[tuple[OffPeakWindow, ...], str | None]]:
        """Every distinct off-peak schedule of the table, in a fixed order."""
        found = {p.off_peak.schedule for p in self.prices.values() if p.off_peak is not None}
        return sorted(found, key=repr)

    def lookup(self, model: str) -> ModelPrice | None:
        """The price of ``model`` as logs spell it, or None when the table lacks it."""
        if model not in self._memo:
            key = self.resolve(model)
            self._memo[model] = self.prices[key] if key is not None else None
        return self._memo[model]

    def resolve(self, model: str) -> str | None:
        """The table key that prices ``model``, or None (see the module docstring)."""
        for name in dict.fromkeys((model, strip_snapshot(model))):
            key = self._resolve_one(name)
            if key is not None:
                return key
        return None

    def _get(self, name: str, providers: Iterable[str] | None = None) -> str | None:
        key = name if name in self.prices else self._lower.get(name.lower())
        if key is None:
            return None
        if providers is not None and self.prices[key].provider not in (*providers, None):
            return None
        return key

    def _resolve_one(self, name: str) -> str | None:
        if "/" not in name and _maker_providers(name)[:1] in _PREFIXED_FIRST:
            # LiteLLM prices these bare names from the maker's prefixed entry (it cannot
            # route them otherwise); a legacy unprefixed entry may lack newer fields.
            provider = _maker_providers(name)[0]
            key = self._get(f"{provider}/{name}", (provider,))
            if key is not None:
                return key
        exact = self._get(name)
        if exact is not None:
            return exact
        if "/" not in name:
            return self._bare_name(name)
        prefix, rest = name.split("/", 1)
        providers = self._providers_named(prefix)
        key = self._prefixed(prefix, rest, providers) if providers else self._bare_name(name)
        # No entry of that provider's own: price the model as its maker sells it.
        return key if key is not None else self._resolve_one(rest)

    def _providers_named(self, prefix: str) -> tuple[str, ...]:
        """The ``litellm_provider`` values a logged prefix stands for (none when unknown)."""
        prefix = prefix.lower()
        names = (prefix, *_PROVIDER_ALIASES.get(prefix, ()))
        return tuple(p for p in self._providers if p in names or p.startswith(prefix + "-"))

    def _prefixed(self, prefix: str, rest: str, providers: tuple[str, ...]) -> str | None:
        candidates = [rest, f"{prefix}/{rest}"]
        routed = _BEDROCK_ROUTING.sub("", rest)
        if routed != rest:
            candidates += [routed, f"{prefix}/{routed}"]
        for candidate in candidates:
            key = self._get(candidate, providers)
            if key is not None:
                return key
        return None

    def _bare_name(self, name: str) -> str | None:
        makers = _maker_providers(name)
        if makers:
            # A Bedrock id routed through a region (us.anthropic.…) without an entry of its
            # own costs what the model id costs.
            for bare in dict.fromkeys((name, _BEDROCK_ROUTING.sub("", name))):
                for provider in makers:
                    key = self._get(f"{provider}/{bare}", makers) or self._get(bare, makers)
                    if key is not None:
                        return key
                for key in self._bare.get(bare.lower(), []):
                    if self.prices[key].provider in makers:
                        return key
            return None
        keys = self._bare.get(name.lower(), [])
        if keys and len({_price_only(self.prices[k]) for k in keys}) == 1:
            return keys[0]  # every entry of this name has the same prices
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "as_of": self.as_of, "models": len(self.prices)}


def _price_only(price: ModelPrice) -> ModelPrice:
    return ModelPrice(price.input, price.output, price.cache_read, price.cache_write,
                      price.reasoning, None, price.tiers)  # fmt: skip


def _maker_providers(name: str) -> tuple[str, ...]:
    for pattern, providers in _MAKERS:
        if pattern.search(name):
            return providers
    return ()


def strip_snapshot(model: str) -> str:
    """``gpt-4.1-2025-04-14`` -> ``gpt-4.1``; ``claude-x-20250514`` -> ``claude-x``."""
    return _DATE_SUFFIX.sub("", model)


def _rate(entry: dict[str, Any], key: str, model: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InputError(
            f"price of {model!r}: {key} must be a finite non-negative number, got {value!r}"
        )
    return float(value)


def _threshold(number: str) -> float | None:
    """``200k`` -> 200000.0, as LiteLLM parses a threshold; None for anything else."""
    try:
        value = float(number.replace("k", "")) * (1000 if "k" in number else 1)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _tiers(model: str, entry: dict[str, Any], inclusive: bool) -> tuple[PriceTier, ...]:
    thresholds: dict[float, str] = {}
    for key, value in entry.items():
        match = _TIER_KEY.match(key)
        if match is None or value is None or key.endswith(_NON_STANDARD_SUFFIXES):
            continue
        number = key.rsplit("_above_", 1)[1].split("_tokens")[0]
        above = _threshold(number)
        if above is not None:
            thresholds.setdefault(above, number)
    tiers = []
    for above in sorted(thresholds):
        suffix = f"_above_{thresholds[above]}_tokens"
        rates = {name: _rate(entry, base + suffix, model) for name, base in _FIELDS.items()}
        tiers.append(PriceTier(above - 1 if inclusive else above, **rates))
    return tuple(tiers)


def _entry_price(model: str, entry: dict[str, Any]) -> ModelPrice | None:
    rates = {name: _rate(entry, key, model) for name, key in _FIELDS.items()}
    if rates["input"] is None:
        return None
    provider = entry.get("litellm_provider")
    if not isinstance(provider, str):
        provider = model.split("/", 1)[0] if "/" in model else None
    if provider == "fireworks_ai" and rates["cache_read"] is None:
        rates["cache_read"] = rates["input"] * _FIREWORKS_CACHE_READ_RATIO
    return ModelPrice(
        input=rates["input"],
        output=rates["output"] if rates["output"] is not None else 0.0,
        cache_read=rates["cache_read"],
        cache_write=rates["cache_write"],
        reasoning=_rate(entry, _REASONING_FIELD, model),
        provider=provider,
        tiers=_tiers(model, entry, provider in _INCLUSIVE_THRESHOLD_PROVIDERS),
        off_peak=_off_peak(model, entry, rates, provider),
    )


_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _spans(value: Any) -> tuple[tuple[int, int], ...]:
    """``"10:00-00:00"`` or a list of them -> minute spans; malformed ones are ignored,
    as LiteLLM ignores them."""
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    spans = []
    for text in texts:
        match = _CLOCK.match(text) if isinstance(text, str) else None
        if match is None:
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60:
            spans.append((h1 * 60 + m1, h2 * 60 + m2))
    return tuple(spans)


def _zone(value: Any) -> str | None:
    """An IANA time zone name, or None (UTC) for anything else, as LiteLLM falls back."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        ZoneInfo(value.strip())
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return value.strip()


_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


def _weekdays(value: Any) -> frozenset[int] | None:
    if value is None:
        return None
    days = set()
    for day in value if isinstance(value, list) else []:
        if isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7:
            days.add(day)
        elif isinstance(day, str) and day.strip().lower()[:3] in _WEEKDAYS:
            days.add(_WEEKDAYS[day.strip().lower()[:3]])
    return frozenset(days)


def _off_peak(
    model: str, entry: dict[str, Any], rates: dict[str, float | None], provider: str | None
) -> OffPeak | None:
    block = entry.get("off_peak_pricing")
    if not isinstance(block, dict):
        return None
    windows = []
    if _spans(block.get("hours_utc")):
        windows.append(OffPeakWindow(_spans(block.get("hours_utc"))))
    for rule in block.get("windows") or []:
        if isinstance(rule, dict) and _spans(rule.get("hours_utc")):
            days = _weekdays(rule.get("weekdays"))
            windows.append(OffPeakWindow(_spans(rule["hours_utc"]), days))
    if not windows:
        return None
    where = f"{model}.off_peak_pricing"
    peak = {name: _rate(block, key, where) for name, key in _FIELDS.items()}
    if provider == "fireworks_ai" and entry.get("cache_read_input_token_cost") is None:
        if peak["cache_read"] is None:  # LiteLLM's Fireworks default, off-peak too
            base = peak["input"] if peak["input"] is not None else rates["input"]
            peak["cache_read"] = base * _FIREWORKS_CACHE_READ_RATIO if base is not None else None
    return OffPeak(
        windows=tuple(windows),
        weekday_timezone=_zone(block.get("weekday_timezone")),
        reasoning=_rate(block, _REASONING_FIELD, where),
        **peak,
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
        try:
            price = _entry_price(model, entry)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
        if price is not None:
            prices[model] = price
    return PriceTable(prices, source=str(meta.get("source", source)), as_of=meta.get("as_of"))


def load_prices(path: str | Path) -> PriceTable:
    """Read a LiteLLM ``model_prices_and_context_window.json`` (USD per token)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read price file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"price file {path} is not valid JSON: {exc}") from None
    return price_table_from_json(data, source=str(path))


@cache
def default_prices() -> PriceTable:
    """The bundled price table (see docs/pricing.md for its source and date)."""
    text = resources.files("genailog.pricing").joinpath("default_prices.json").read_text("utf-8")
    return price_table_from_json(json.loads(text), source="bundled")
