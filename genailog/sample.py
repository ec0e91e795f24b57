"""Deterministic, realistic sample logs in the canonical record format.

``generate_sample(n, seed)`` yields ``n`` records (dicts that validate against
``schemas/genailog.record.v2.schema.json``) spread evenly over ``days`` days; the same
``(n, seed, start, days)`` always gives the same records. ``write_sample`` writes them as
JSONL files (one per app group and week) plus one Parquet file in canonical columns.

What the data holds, so that every command has something to find:

* three apps (``helpdesk``, ``search``, ``codeassist``), seven models from six providers,
  prompt templates in versions ``v1``/``v2``/``v3`` (``v3`` is slightly worse: lower
  ratings and eval scores, more hallucinations);
* errors (``status`` error, ``response`` null, ``error_type``/``error_message``), retries,
  refusals, moderation flags (as a list of names or an object of scores), feedback,
  evaluation scores, retrieval docs (ids, and objects with scores, sources, relevance
  labels and texts), cached and cache-write tokens
  (always part of ``input_tokens``), reasoning tokens (part of ``output_tokens``), a
  provider-reported ``cost_usd`` on the gateway app, tracing ids, chat ``messages`` on
  multi-turn records, and a user field ``tenant`` the schema does not name;
* a change in the second week: a new topic (data deletion requests) appears, prompts
  get longer, and ``claude-sonnet-4`` gets slower.

It is plain Python on :class:`random.Random`, tuned for benchmark data (about 20 us of
CPU per record on the loaded 2-core build machine); records come in independent blocks
of :data:`BLOCK`, so ``bench/make_data.py`` can spread them over processes. Nothing here
reads or analyses logs.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeVar

from genailog.errors import OutputError

if TYPE_CHECKING:
    import polars as pl

#: First timestamp of the sample when no ``start`` is given: a Monday, so weeks align.
DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)
DEFAULT_DAYS = 14

T = TypeVar("T")


def _cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    total = sum(weights)
    running, out = 0.0, []
    for weight in weights:
        running += weight / total
        out.append(running)
    out[-1] = 1.0  # random() < 1.0, so bisect never runs past the last item
    return tuple(out)


# random.choice/randrange/choices cost several times more than one random() call, and
# benchmark data needs a million records in seconds; these draw from random() directly.
def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """An int in [low, high)."""
    return low + int(rng.random() * (high - low))


def _weighted(rng: random.Random, seq: Sequence[T], cumulative: Sequence[float]) -> T:
    return seq[bisect(cumulative, rng.random())]


@dataclass(frozen=True)
class ModelSpec:
    """A model as the sample uses it: prices per million tokens and speed."""

    name: str
    provider: str
    weight: float
    price_in: float
    price_cached: float
    price_out: float
    base_ms: float
    ms_per_token: float
    reasoning: bool = False
    caches: bool = True
    cache_writes: bool = False


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gpt-4.1", "openai", 0.22, 2.0, 0.5, 8.0, 420, 11.0),
    ModelSpec("gpt-4.1-mini", "openai", 0.22, 0.4, 0.1, 1.6, 260, 6.0),
    ModelSpec("o4-mini", "openai", 0.06, 1.1, 0.275, 4.4, 900, 9.0, reasoning=True),
    ModelSpec("claude-sonnet-4", "anthropic", 0.18, 3.0, 0.3, 15.0, 520, 13.0,
              cache_writes=True),
    ModelSpec("gemini-2.5-flash", "google", 0.14, 0.3, 0.075, 2.5, 300, 4.5, reasoning=True),
    ModelSpec("mistral-large", "mistral", 0.09, 2.0, 2.0, 6.0, 480, 12.0, caches=False),
    ModelSpec("llama-3.3-70b", "groq", 0.09, 0.59, 0.59, 0.79, 180, 3.0, caches=False),
)  # fmt: skip

_MODEL_CUM = _cumulative([m.weight for m in MODELS])
_SLOWER_IN_WEEK_TWO = "claude-sonnet-4"

_VERSIONS = ("v1", "v2", "v3")
_VERSION_CUM = _cumulative([0.3, 0.4, 0.3])
#: How much worse each prompt version is: (rating shift, hallucination rate, eval shift).
_VERSION_QUALITY = {"v1": (0.0, 0.05, 0.0), "v2": (0.15, 0.04, 0.02), "v3": (-0.35, 0.09, -0.06)}

_SYSTEM_PROMPTS = {
    ("support-summary", "v1"): "You are a support assistant. Summarise the ticket.",
    ("support-summary", "v2"): "You are a support assistant. Summarise the ticket in three "
    "bullet points and name the customer's request.",
    ("support-summary", "v3"): "Summarise the ticket in one sentence.",
    ("rag-answer", "v1"): "Answer using only the documents provided.",
    ("rag-answer", "v2"): "Answer using only the documents provided; cite document ids in "
    "[brackets].",
    ("rag-answer", "v3"): "Answer briefly from the documents.",
    ("code-review", "v1"): "You review Python pull requests. Point out bugs first.",
    ("code-review", "v2"): "You review Python pull requests. Point out bugs first, then "
    "style issues, each with a line number.",
    ("code-review", "v3"): "Review this diff.",
}

_CUSTOMERS = ("Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Goro", "Hana", "Ines",
              "José", "Kai", "Lena", "Mateo", "Noor", "Olga", "Priya", "Zoë")  # fmt: skip
_PRODUCTS = ("Pro plan", "Team plan", "router X200", "desk lamp", "API credits", "e-book")
_TOPICS = {
    "helpdesk": ("a billing dispute", "a password reset", "a shipping delay",
                 "a refund request", "an invoice address change"),
    "search": ("How do I rotate an API key?", "What is the rate limit on the free tier?",
               "How do I export my data as CSV?", "Which regions host EU customers?",
               "How are seats counted on the Team plan?"),
    "codeassist": ("a pagination helper", "a retry decorator", "a CSV parser",
                   "a cache invalidation fix", "a date parsing utility"),
}  # fmt: skip
#: The topic that only appears in the second week.
NEW_TOPIC = {
    "helpdesk": "a data deletion request under GDPR",
    "search": "How do I delete all data for one user under GDPR?",
    "codeassist": "a GDPR data deletion job",
}
_TENANTS = ("acme", "globex", "initech", "umbrella")
_ERRORS = (
    ("RateLimitError", "429 Too Many Requests: rate limit reached for requests"),
    ("APITimeoutError", "Request timed out after 30 s"),
    ("InternalServerError", "500 Internal Server Error: upstream overloaded"),
    ("BadRequestError", "400 This model's maximum context length was exceeded"),
)
_COMMENTS_GOOD = ("Exactly what I needed.", "Clear and short.", "Great, thanks!")
_COMMENTS_BAD = ("Missed the refund policy.", "Made up a setting that does not exist.",
                 "Too long, did not answer.", "Wrong [product] name.")  # fmt: skip
_REFUSAL = "I can't help with that request."


@dataclass(frozen=True)
class _App:
    name: str
    prompt_id: str
    weight: float
    docs: bool
    gateway_cost: bool


_APPS = (
    _App("helpdesk", "support-summary", 0.5, docs=False, gateway_cost=False),
    _App("search", "rag-answer", 0.3, docs=True, gateway_cost=True),
    _App("codeassist", "code-review", 0.2, docs=False, gateway_cost=False),
)
_APP_CUM = _cumulative([a.weight for a in _APPS])


#: Records drawn from one random stream; blocks are independent, so a range of records can
#: be generated (in another process, say) without generating what comes before it.
BLOCK = 10_000


def generate_sample(
    n_records: int,
    seed: int,
    start: datetime | None = None,
    days: int = DEFAULT_DAYS,
    *,
    first: int = 0,
    stop: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield records ``first`` to ``stop - 1`` (default: all ``n_records``) of the sample,
    in time order, spread over ``days`` days from ``start``."""
    if n_records < 0 or days < 1:
        raise ValueError("n_records must be >= 0 and days >= 1")
    origin = (start or DEFAULT_START).astimezone(UTC)
    first_day = origin.date().toordinal()
    # Seconds from the first day's midnight, so each record needs no datetime object.
    begin = (origin - datetime(origin.year, origin.month, origin.day, tzinfo=UTC)).total_seconds()
    span_s = days * 86400.0
    stop = n_records if stop is None else min(stop, n_records)
    rng = random.Random()
    for i in range(first - first % BLOCK, stop):
        if i % BLOCK == 0:
            rng.seed(f"genailog-sample/{seed}/{i // BLOCK}", version=2)
        offset = (i + rng.random()) / n_records * span_s
        stamp = _stamp(first_day, begin + offset)
        record = _record(rng, i, seed, stamp, offset >= 7 * 86400.0)
        if i >= first:
            yield record


class _Stamp(NamedTuple):
    text: str  # RFC 3339, millisecond precision, Z
    mmdd: str
    two_days_before: str


def _stamp(first_day: int, seconds: float) -> _Stamp:
    day, rest = divmod(int(seconds * 1000), 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    date, mmdd, before = _day_texts(first_day + day)
    return _Stamp(f"{date}T{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z",
                  mmdd, before)


@cache
def _day_texts(ordinal: int) -> tuple[str, str, str]:
    day = date.fromordinal(ordinal)
    return day.isoformat(), f"{day:%m%d}", (day - timedelta(days=2)).isoformat()


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _record(
    rng: random.Random, i: int, seed: int, stamp: _Stamp, week_two: bool
) -> dict[str, Any]:
    app = _weighted(rng, _APPS, _APP_CUM)
    model = _weighted(rng, MODELS, _MODEL_CUM)
    version = _weighted(rng, _VERSIONS, _VERSION_CUM)
    user = int((rng.paretovariate(1.1) - 1.0) * 40) % 400
    record: dict[str, Any] = {
        "timestamp": stamp.text,
        "model": model.name,
        "provider": model.provider,
        "operation": "chat",
        "app": app.name,
        "environment": "staging" if rng.random() < 0.08 else "production",
        "stage": "inference",
        "prompt_id": app.prompt_id,
        "prompt_version": version,
        # An odd multiplier is a bijection modulo 2**48, so request ids never repeat.
        "request_id": f"req_{(i * 2654435761 + seed) & 0xFFFFFFFFFFFF:012x}",
        "trace_id": _hex(rng, 128),
        "span_id": _hex(rng, 64),
        "user_id": f"u{user}",
        "session_id": f"sess_{user}_{stamp.mmdd}",
    }
    if week_two and rng.random() < 0.2:
        topic = NEW_TOPIC[app.name]
    else:
        topic = _pick(rng, _TOPICS[app.name])
    record["system_prompt"] = _SYSTEM_PROMPTS[(app.prompt_id, version)]
    record["prompt"] = _prompt(rng, app.name, topic, week_two)
    if app.docs:
        record["parent_span_id"] = _hex(rng, 64)
        record["retrieval_docs"] = _label_docs(_retrieval_docs(rng), topic)
    _add_app_fields(rng, record, app.name, stamp)
    _add_usage(rng, record, model, app, week_two)
    if record.get("status") == "ok":
        _add_quality(rng, record, app.name, version)
    return record


def _prompt(rng: random.Random, app: str, topic: str, week_two: bool) -> str:
    customer = _pick(rng, _CUSTOMERS)
    if app == "helpdesk":
        urgent = "[urgent] " if rng.random() < 0.1 else ""
        product = _pick(rng, _PRODUCTS)
        order = _between(rng, 10000, 99999)
        text = (f"{urgent}Summarise this ticket from {customer} about {topic} for the "
                f"{product}: order #{order} ...{_contact(customer, order)}")
    elif app == "search":
        text = f"{topic} (asked by {customer})"
    else:
        page = _between(rng, 1, 9)
        text = f"Review this diff adding {topic}:\n+ def handler(items, page={page}):"
    if week_two:
        # Prompts grow in week two: the apps started sending more context.
        text += " Context: " + " ".join(_pick(rng, _PRODUCTS) for _ in range(_between(rng, 4, 12)))
    return text


def _contact(customer: str, order: int) -> str:
    """Personal data pasted into about one ticket in nine, for redaction to find. Derived
    from the order number, not drawn, so the rest of the sample stays as it was."""
    if order % 9:
        return ""
    handle = customer.lower().encode("ascii", "ignore").decode() or "customer"
    return f" Contact: {handle}.{order % 97}@example.com, +1 415-555-{order % 10000:04d}."


def _retrieval_docs(rng: random.Random) -> list[Any]:
    count = _between(rng, 1, 6)
    if rng.random() < 0.5:
        return [f"doc{_between(rng, 1, 500)}" for _ in range(count)]
    return [
        {"id": f"doc{_between(rng, 1, 500)}", "score": round(rng.uniform(0.3, 0.99), 3),
         "source": _pick(rng, ("kb", "faq", "changelog"))}
        for _ in range(count)
    ]


#: What the search app's documents say, by document topic (the document number modulo 6:
#: the five search topics, then the one new in week two).
_DOC_TEXTS = (
    "To rotate an API key, go to Settings > API, create a new key, follow the steps to "
    "revoke the old one.",
    "The free tier allows 60 requests per minute; bursts above the rate limit are queued.",
    "Exports: open Settings > Data and choose CSV; large exports arrive by email.",
    "EU customers are hosted in Frankfurt and Dublin; data stays in the region.",
    "Seats on the Team plan count active members per month; guests are free.",
    "To delete all data for one user, open Admin > Users, choose Delete, confirm under GDPR.",
)


def _label_docs(docs: list[Any], topic: str) -> list[Any]:
    """Relevance labels and texts on the documents logged as objects. Derived from the
    document number and the question, not drawn, so every other value stays as it was."""
    topics = (*_TOPICS["search"], NEW_TOPIC["search"])
    asked = topics.index(topic)
    for doc in docs:
        if isinstance(doc, dict):
            subject = int(doc["id"][3:]) % len(_DOC_TEXTS)
            doc["relevant"] = subject == asked
            doc["text"] = _DOC_TEXTS[subject]
    return docs


def _add_app_fields(rng: random.Random, record: dict[str, Any], app: str, stamp: _Stamp) -> None:
    if app == "helpdesk":
        record["tenant"] = _pick(rng, _TENANTS)
        record["metadata"] = {"ticket": _between(rng, 1000, 99999),
                              "channel": _pick(rng, ("email", "chat", "phone"))}
        if rng.random() < 0.3:
            record["messages"] = [
                {"role": "system", "content": record["system_prompt"]},
                {"role": "user", "content": "Earlier question about my order."},
                {"role": "assistant", "content": "Your order shipped on "
                 f"{stamp.two_days_before}."},
                {"role": "user", "content": record["prompt"]},
            ]
    elif app == "codeassist":
        record["metadata"] = {"repo": _pick(rng, ("api", "web", "billing")),
                              "pr": _between(rng, 1, 4000)}
    elif rng.random() < 0.1:
        record["embedding"] = [round(rng.gauss(0, 0.3), 4) for _ in range(8)]
    if rng.random() < 0.15:
        record["tags"] = rng.sample(("beta", "eu", "vip", "mobile"), _between(rng, 1, 3))


def _add_usage(
    rng: random.Random, record: dict[str, Any], model: ModelSpec, app: _App, week_two: bool
) -> None:
    input_tokens = 60 + len(record["system_prompt"]) // 4 + len(record["prompt"]) // 4
    input_tokens += 180 * len(record.get("retrieval_docs", ())) + _between(rng, 0, 200)
    error_roll = rng.random()
    retries = 0 if rng.random() < 0.9 else _between(rng, 1, 3)
    if error_roll < 0.04:
        _add_error(rng, record, input_tokens, retries)
        return
    output_tokens = max(5, int(rng.lognormvariate(5.0, 0.6)))
    record.update(status="ok", retries=retries, input_tokens=input_tokens,
                  output_tokens=output_tokens, finish_reason="stop")
    if model.reasoning:
        record["reasoning_tokens"] = reasoning = int(output_tokens * rng.uniform(0.2, 0.7))
        record["output_tokens"] = output_tokens = output_tokens + reasoning
    if rng.random() < 0.03:
        record["finish_reason"] = "length"
    cached = _add_cache(rng, record, model, input_tokens)
    if app.gateway_cost:
        cost = ((input_tokens - cached) * model.price_in + cached * model.price_cached
                + output_tokens * model.price_out) / 1e6
        record["cost_usd"] = round(cost, 8)
    _add_latency(rng, record, model, output_tokens, week_two)


def _add_error(rng: random.Random, record: dict[str, Any], input_tokens: int, retries: int) -> None:
    error_type, message = _pick(rng, _ERRORS)
    record.update(status="error", error_type=error_type, error_message=message,
                  response=None, retries=retries + (2 if error_type == "RateLimitError" else 0))
    if error_type != "RateLimitError":
        record["input_tokens"] = input_tokens
    record["latency_ms"] = 30000.0 if error_type == "APITimeoutError" else round(
        rng.uniform(40, 400), 1)


def _add_cache(rng: random.Random, record: dict[str, Any], model: ModelSpec, total: int) -> int:
    if not model.caches:
        return 0
    cached = int(total * rng.uniform(0.3, 0.8)) // 64 * 64 if rng.random() < 0.35 else 0
    record["cached_input_tokens"] = cached
    if model.cache_writes:
        record["cache_write_tokens"] = (total - cached) // 2 if cached == 0 and rng.random() < 0.2 \
            else 0
    return cached


def _add_latency(
    rng: random.Random, record: dict[str, Any], model: ModelSpec, output_tokens: int,
    week_two: bool,
) -> None:
    slow = 1.6 if week_two and model.name == _SLOWER_IN_WEEK_TWO else 1.0
    ttft = model.base_ms * slow * rng.uniform(0.6, 1.8)
    latency = ttft + output_tokens * model.ms_per_token * slow * rng.uniform(0.8, 1.3)
    record["latency_ms"] = round(latency, 1)
    if rng.random() < 0.6:
        record["ttft_ms"] = round(ttft, 1)


def _add_quality(rng: random.Random, record: dict[str, Any], app: str, version: str) -> None:
    rating_shift, hallucination_rate, eval_shift = _VERSION_QUALITY[version]
    refused = rng.random() < 0.02
    record["response"] = _REFUSAL if refused else _response(rng, app, record["prompt"])
    if app == "helpdesk":
        record["refusal"] = refused
        record["moderation_flags"] = ["harassment"] if rng.random() < 0.03 else []
    elif app == "search" and rng.random() < 0.3:
        record["moderation_flags"] = {"hate": round(rng.random() * 0.05, 3),
                                      "violence": rng.random() < 0.01}
    if refused and rng.random() < 0.5:
        record["finish_reason"] = "content_filter"
    hallucinated = rng.random() < hallucination_rate
    if rng.random() < 0.4:
        record["hallucination_flag"] = hallucinated
    if rng.random() < 0.3:
        record["eval_scores"] = {
            "faithfulness": _clip(rng.gauss(0.85 + eval_shift - 0.3 * hallucinated, 0.08)),
            "relevance": _clip(rng.gauss(0.8 + eval_shift, 0.1)),
        }
    if rng.random() < 0.15:
        _add_feedback(rng, record, rating_shift - 1.5 * hallucinated)


def _add_feedback(rng: random.Random, record: dict[str, Any], shift: float) -> None:
    rating = min(5, max(1, round(rng.gauss(4.0 + shift, 0.9))))
    record["feedback_rating"] = rating
    if rng.random() < 0.3:
        record["feedback_comment"] = _pick(rng, _COMMENTS_GOOD if rating >= 4 else _COMMENTS_BAD)


def _clip(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def _response(rng: random.Random, app: str, prompt: str) -> str:
    if app == "helpdesk":
        return f"The customer reports {prompt[10:60].strip()}... and asks for a reply within " \
            f"{_between(rng, 1, 5)} days."
    if app == "search":
        doc = _between(rng, 1, 500)
        return f"According to doc{doc}, go to Settings > API and follow the steps."
    return f"Line {_between(rng, 1, 80)}: the loop never advances `page`; add `page += 1`."


@dataclass(frozen=True)
class SampleFile:
    """One file ``write_sample`` wrote."""

    path: str
    format: str
    records: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "records": self.records}


@dataclass(frozen=True)
class SampleResult:
    """What ``write_sample`` wrote, and the arguments that reproduce it."""

    out: str
    records: int
    seed: int
    start: str
    days: int
    files: tuple[SampleFile, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"out": self.out, "records": self.records, "seed": self.seed,
                "start": self.start, "days": self.days,
                "files": [f.to_dict() for f in self.files]}


#: The app whose records go to the Parquet file; the other apps go to weekly JSONL files.
PARQUET_APP = "codeassist"
#: The spans of the search app's retrieval pipeline (canonical span records, docs/traces.md).
SPANS_FILE = "search.spans.jsonl"


def write_sample(
    out_dir: str | Path,
    n_records: int,
    seed: int,
    *,
    start: datetime | None = None,
    days: int = DEFAULT_DAYS,
    overwrite: bool = False,
) -> SampleResult:
    """Write a sample: ``weekN.jsonl`` per week, plus ``codeassist.parquet``.

    Raises OutputError when a target file exists and ``overwrite`` is false, or when a
    file cannot be written.
    """
    import msgspec

    out = Path(out_dir)
    origin = (start or DEFAULT_START).astimezone(UTC)
    weeks = -(-days // 7)
    targets = [out / f"week{w + 1}.jsonl" for w in range(weeks)] + [out / f"{PARQUET_APP}.parquet"]
    _check_targets([*targets, out / SPANS_FILE], overwrite)
    encoder = msgspec.json.Encoder()
    counts = [0] * weeks
    parquet_records: list[dict[str, Any]] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            handles = [stack.enter_context(_atomic(path)) for path in targets[:weeks]]
            for record in generate_sample(n_records, seed, origin, days):
                if record["app"] == PARQUET_APP:
                    parquet_records.append(record)
                    continue
                week = _week_of(record["timestamp"], origin)
                handles[week].write(encoder.encode(record) + b"\n")
                counts[week] += 1
            _write_parquet(targets[-1], parquet_records)
    except OSError as exc:
        raise OutputError(f"cannot write the sample to {out}: {exc}") from exc
    files = [SampleFile(str(p), "jsonl", c) for p, c in zip(targets, counts, strict=False)]
    files.append(SampleFile(str(targets[-1]), "parquet", len(parquet_records)))
    files.append(_write_spans(out, n_records, seed, origin, days))
    return SampleResult(str(out), n_records, seed, origin.isoformat().replace("+00:00", "Z"),
                        days, tuple(files))


def pipeline_spans(record: dict[str, Any], index: int, seed: int, origin: datetime
                   ) -> list[dict[str, Any]]:
    """The spans of one search request around its LLM call: the pipeline (the request),
    retrieval and reranking before the call, and the call itself, which is the logged
    record's span. From the second week on, the reranker is slow in about 30% of requests,
    so ``genailog traces`` has something to find. Drawn from a stream of their own: the
    records are the same with or without spans."""
    rng = random.Random(seed * 1_000_003 + index)
    start = datetime.fromisoformat(record["timestamp"])
    week_two = (start - origin).total_seconds() >= 7 * 86400
    retrieve = rng.lognormvariate(math.log(60.0), 0.35)
    rerank = rng.lognormvariate(math.log(25.0), 0.3)
    if week_two and rng.random() < 0.3:
        rerank *= 8.0
    llm_end = start + timedelta(milliseconds=record.get("latency_ms") or 0.0)
    t_retrieve = start - timedelta(milliseconds=retrieve + rerank + 2.0)
    t_rerank = t_retrieve + timedelta(milliseconds=retrieve + 1.0)
    trace, root = record["trace_id"], record["parent_span_id"]
    failed = record.get("status") == "error"

    def span(span_id: str, name: str, kind: str, begin: datetime, end: datetime,
             parent: str | None, **extra: Any) -> dict[str, Any]:
        stamp = {"start": _iso(begin), "end": _iso(end)}
        return {"record_type": "span", "trace_id": trace, "span_id": span_id,
                "parent_span_id": parent, "name": name, "kind": kind, **stamp,
                "status": "ok", "app": record["app"], **extra}

    ids = f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}"
    return [
        span(root, "search-request", "chain", t_retrieve - timedelta(milliseconds=1.0),
             llm_end + timedelta(milliseconds=3.0), None,
             status="error" if failed else "ok"),
        span(ids[0], "retrieve", "retriever", t_retrieve,
             t_retrieve + timedelta(milliseconds=retrieve), root),
        span(ids[1], "rerank", "reranker", t_rerank,
             t_rerank + timedelta(milliseconds=rerank), root),
        span(record["span_id"], f"chat {record['model']}", "llm", start, llm_end, root,
             model=record["model"], status="error" if failed else "ok",
             status_message=record.get("error_message")),
    ]


def _iso(stamp: datetime) -> str:
    return stamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_spans(out: Path, n_records: int, seed: int, origin: datetime, days: int
                 ) -> SampleFile:
    import msgspec

    encoder = msgspec.json.Encoder()
    path, count = out / SPANS_FILE, 0
    with _atomic(path) as handle:
        for index, record in enumerate(generate_sample(n_records, seed, origin, days)):
            if record.get("parent_span_id"):
                for item in pipeline_spans(record, index, seed, origin):
                    handle.write(encoder.encode({k: v for k, v in item.items()
                                                 if v is not None}) + b"\n")
                    count += 1
    return SampleFile(str(path), "spans", count)


def _check_targets(targets: Sequence[Path], overwrite: bool) -> None:
    from genailog.outputs import check_target

    existing = [str(p) for p in targets if check_target(p, overwrite=True) == "file"]
    if existing and not overwrite:
        raise OutputError(f"{', '.join(existing)} already exist; pass --overwrite to replace")


def _week_of(timestamp: str, origin: datetime) -> int:
    seconds = (datetime.fromisoformat(timestamp) - origin).total_seconds()
    return int(seconds // (7 * 86400))


@contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A file that appears under ``path`` only once fully written."""
    from genailog.outputs import atomic_writer

    with atomic_writer(path, "wb") as handle:
        yield handle


def _write_parquet(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with _atomic(path) as handle:
        sample_frame(records).write_parquet(handle)


def sample_frame(records: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Generated records as a frame in canonical columns and dtypes, plus ``tenant``.

    A column-at-a-time shortcut for records this module made (their types are known
    to be right); ``ingest.frame.canonical_frame`` is the general path, and a test
    checks that both give the same frame.
    """
    import polars as pl

    from genailog.ingest.frame import json_text
    from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS

    columns: dict[str, pl.Series] = {}
    for name, dtype in CANONICAL_DTYPES.items():
        values = [r.get(name) for r in records]
        if name in JSON_TEXT_COLUMNS:
            values = [json_text(v) for v in values]
        if name == "timestamp":
            columns[name] = pl.Series(name, values, pl.String).str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC")
        else:
            columns[name] = pl.Series(name, values, dtype, strict=False)
    columns["tenant"] = pl.Series("tenant", [r.get("tenant") for r in records], pl.String)
    return pl.DataFrame(columns)
