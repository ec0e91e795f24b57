"""Traces: where the time of a request goes, what makes slow requests slow, what changed.

:func:`analyze_traces` takes spans already read (:func:`genailog.ingest.spans.read_spans`)
and returns a :class:`TracesResult`; ``to_dict()`` is ``genailog traces --format json``,
described by ``schemas/traces.output.schema.json``. Definitions (docs/traces.md):

- A **component** is a span kind and name (``reranker:rerank``). A trace's root span with
  children (the whole request) is no component: its time is its children's plus its own
  self time. A trace of a single span (a bare LLM call) counts that span as a component.
- **Self time** of a span: its time outside the union of its children's intervals (each
  clipped to the span). **Child time** is the rest.
- **Critical path**: walking back from the end of each span, the child that finishes last,
  then the child that finishes before that one started, and so on; every instant of the
  trace belongs to exactly one span on it, so the critical times of a trace add up to its
  end-to-end time (from its first span's start to its last span's end).
- **Where errors start**: a failing span none of whose descendants fails.
- **Slow-trace causes**: the slowest ``1 - slow_quantile`` of traces against the rest; per
  component, its critical time per trace, a one-sided Mann-Whitney U test (Bonferroni over
  the components tested) and its share of the excess end-to-end time.
- **Changed components**: per component, the self times of the reference against the
  current spans, a two-sample Kolmogorov-Smirnov test at ``alpha / components tested`` and
  a relative change of the median or p95 of at least ``min_change``.
- **Repeated LLM calls**: the same prompt (or prompt id and version) sent more than once
  in one trace (an LLM span inside another LLM span is the same call, counted once).

Percentiles interpolate linearly between order statistics (DuckDB's ``quantile_cont``,
numpy's default).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from genailog.analysis.drift.result import finite, iso
from genailog.errors import InputError, UsageError

ROOT_SELF = "(root self time)"
_PROMPT_KEYS = ("llm.input_messages", "gen_ai.input.messages", "gen_ai.prompt",
                "langfuse.observation.input", "input.value", "llm.prompts")


@dataclass(frozen=True)
class TracesOptions:
    """What ``traces`` computes; see the module docstring for the definitions."""

    slow_quantile: float = 0.9
    alpha: float = 0.01
    min_traces: int = 20
    min_spans: int = 20
    min_change: float = 0.1
    reference_until: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    trace_id: str | None = None
    top: int = 10
    gates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.slow_quantile < 1:
            raise UsageError("--slow-quantile must be between 0 and 1, e.g. 0.9")
        if not 0 < self.alpha < 1:
            raise UsageError("--alpha must be between 0 and 1, e.g. 0.01")
        if self.min_traces < 2 or self.min_spans < 2:
            raise UsageError("--min-traces and --min-spans must be at least 2")
        if self.min_change < 0:
            raise UsageError("--min-change must be 0 or more, e.g. 0.1")
        if self.top < 0:
            raise UsageError("--top must be 0 or more")


@dataclass
class TracesResult:
    """Everything ``traces`` found; :meth:`to_dict` is the JSON contract."""

    summary: dict[str, Any]
    components: list[dict[str, Any]]
    error_origins: list[dict[str, Any]]
    slow_traces: dict[str, Any]
    slow_trace_causes: list[dict[str, Any]]
    changed: dict[str, Any] | None
    repeated_calls: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    trace: dict[str, Any] | None
    skipped: list[dict[str, Any]]
    settings: dict[str, Any]
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(not gate["passed"] for gate in self.gates)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "summary": self.summary, "components": self.components,
            "error_origins": self.error_origins, "slow_traces": self.slow_traces,
            "slow_trace_causes": self.slow_trace_causes,
            "changed_components": None if self.changed is None else self.changed["components"],
            "reference": None if self.changed is None else self.changed["reference"],
            "repeated_calls": self.repeated_calls, "traces": self.traces,
            "trace": self.trace, "skipped": self.skipped, "settings": self.settings,
            "gates": self.gates, "passed": not self.failed,
        }
        return finite(data)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- preparing


def _clean(frame: pl.DataFrame, skipped: list[dict[str, Any]], label: str) -> pl.DataFrame:
    """Spans that can be placed: ids and both times present, end not before start, each
    span id once per trace. What is set aside is counted in ``skipped``."""
    checks = [
        ("no trace or span id", pl.col("trace_id").is_null() | pl.col("span_id").is_null()),
        ("no start or end time", pl.col("start").is_null() | pl.col("end").is_null()),
        ("ends before it starts", pl.col("end") < pl.col("start")),
    ]
    for reason, bad in checks:
        count = frame.filter(bad).height
        if count:
            skipped.append({"reason": reason, "spans": count, "side": label})
            frame = frame.filter(~bad)
    unique = frame.unique(["trace_id", "span_id"], keep="first", maintain_order=True)
    if unique.height < frame.height:
        skipped.append({"reason": "span id seen twice in one trace (later copy ignored)",
                        "spans": frame.height - unique.height, "side": label})
    return unique.with_columns(
        pl.concat_str(pl.col("kind"), pl.lit(":"), pl.col("name")).alias("component"))


@dataclass
class _Walk:
    """Per-span results of the tree walk, aligned with the frame's rows."""

    root: list[bool]
    depth: list[int]
    self_us: list[int]
    critical_us: list[int]
    origin: list[bool]
    order: list[int]          # rows in depth-first order, trace by trace
    virtual_us: dict[str, int]  # per trace: time covered by no root span


def _walk(frame: pl.DataFrame) -> _Walk:
    """Self time, critical path, depth and error origins of every span, trace by trace."""
    n = frame.height
    traces = frame["trace_id"].to_list()
    ids = frame["span_id"].to_list()
    parents = frame["parent_span_id"].to_list()
    starts = frame["start"].dt.epoch("us").to_list()
    ends = frame["end"].dt.epoch("us").to_list()
    errors = (frame["status"] == "error").fill_null(False).to_list()
    walk = _Walk([False] * n, [0] * n, [0] * n, [0] * n, [False] * n, [], {})
    by_trace: dict[str, list[int]] = {}
    for row, trace in enumerate(traces):
        by_trace.setdefault(trace, []).append(row)
    for trace, rows in by_trace.items():
        index = {ids[r]: r for r in rows}
        children: dict[int, list[int]] = {r: [] for r in rows}
        roots = []
        for r in rows:
            parent = index.get(parents[r]) if parents[r] else None
            if parent is None or parent == r:
                roots.append(r)
            else:
                children[parent].append(r)
        for kids in children.values():
            kids.sort(key=lambda c: (starts[c], ids[c]))
        roots.sort(key=lambda c: (starts[c], ids[c]))
        order = _depth_first(rows, roots, children, walk)
        walk.order.extend(order)
        for r in order:
            walk.self_us[r] = (ends[r] - starts[r]) - _union(children[r], starts, ends,
                                                              starts[r], ends[r])
        below: dict[int, bool] = {}
        for r in reversed(order):  # children before parents
            below[r] = any(errors[c] or below[c] for c in children[r])
            walk.origin[r] = errors[r] and not below[r]
        # a child may outlive its parent (async work): on the critical path a span covers
        # its whole subtree, so every instant of the trace belongs to one span
        first, last = {r: starts[r] for r in rows}, {r: ends[r] for r in rows}
        for r in reversed(order):
            for c in children[r]:
                first[r], last[r] = min(first[r], first[c]), max(last[r], last[c])
        top = [r for r in order if walk.root[r]]
        for r in top:  # a root with children is the request; a lone span is a component
            walk.root[r] = bool(children[r])
        lo, hi = min(starts[r] for r in rows), max(ends[r] for r in rows)
        walk.virtual_us[trace] = _critical(top, lo, hi, children, first, last, walk)
    return walk


def _depth_first(rows: list[int], roots: list[int], children: dict[int, list[int]],
                 walk: _Walk) -> list[int]:
    """Rows in depth-first order from the roots; a span caught in a parent cycle becomes
    a root of its own (its parent link cannot be followed)."""
    seen: set[int] = set()
    order: list[int] = []
    pending = list(roots) + [r for r in rows if r not in set(roots)]
    for start in pending:
        if start in seen:
            continue
        walk.root[start] = True
        stack = [(start, 0)]
        while stack:
            row, depth = stack.pop()
            if row in seen:
                continue
            seen.add(row)
            walk.depth[row] = depth
            order.append(row)
            stack.extend((c, depth + 1) for c in reversed(children[row]) if c not in seen)
    return order


def _union(kids: list[int], starts: list[int], ends: list[int], lo: int, hi: int) -> int:
    """Length of the union of the children's intervals, each clipped to [lo, hi]."""
    spans = sorted((max(starts[c], lo), min(ends[c], hi)) for c in kids)
    total, cur_start, cur_end = 0, None, None
    for s, e in spans:
        if e <= s:
            continue
        if cur_end is None or s > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def _critical(top: list[int], lo: int, hi: int, children: dict[int, list[int]],
              starts: dict[int, int], ends: dict[int, int], walk: _Walk) -> int:
    """Give every instant of [lo, hi] to one span on the critical path; returns the time
    no root span covers."""
    virtual = 0
    stack: list[tuple[int, int, int]] = [(-1, lo, hi)]
    while stack:
        row, a, b = stack.pop()
        t = b
        kids = top if row < 0 else children[row]
        for child in sorted(kids, key=lambda c: ends[c], reverse=True):
            if starts[child] >= t:
                continue
            child_end = min(ends[child], t)
            if child_end <= a:
                break
            gap = t - child_end
            child_start = max(starts[child], a)
            stack.append((child, child_start, child_end))
            t = child_start
            if row < 0:
                virtual += gap
            else:
                walk.critical_us[row] += gap
        if row < 0:
            virtual += max(t - a, 0)
        else:
            walk.critical_us[row] += max(t - a, 0)
    return virtual


def _window(frame: pl.DataFrame, options: TracesOptions) -> pl.DataFrame:
    """The traces that start in [since, until), whole."""
    if options.since is None and options.until is None:
        return frame
    start = pl.col("start").min().over("trace_id")
    keep = pl.lit(True)
    if options.since is not None:
        keep = keep & (start >= options.since)
    if options.until is not None:
        keep = keep & (start < options.until)
    kept = frame.filter(keep)
    if frame.height and not kept.height:
        raise InputError(f"no trace starts between {iso(options.since) or 'the start'} and "
                         f"{iso(options.until) or 'the end'} (--since/--until)")
    return kept


def _annotate(frame: pl.DataFrame) -> tuple[pl.DataFrame, _Walk]:
    walk = _walk(frame)
    out = frame.with_columns(
        pl.Series("root", walk.root, pl.Boolean),
        pl.Series("depth", walk.depth, pl.Int64),
        (pl.Series("self_ms", walk.self_us, pl.Int64) / 1000.0).alias("self_ms"),
        (pl.Series("critical_ms", walk.critical_us, pl.Int64) / 1000.0).alias("critical_ms"),
        pl.Series("error_origin", walk.origin, pl.Boolean),
    )
    return out, walk


# --------------------------------------------------------------------------- LLM usage


def _usage(frame: pl.DataFrame, calls: pl.DataFrame | None) -> pl.DataFrame:
    """LLM spans' tokens, cost (reported, else priced with the bundled table) and prompt
    key, from the call records of the same files joined on (trace_id, span_id)."""
    usage_cols = {"input_tokens": pl.Int64, "output_tokens": pl.Int64,
                  "cached_input_tokens": pl.Int64, "cost_usd": pl.Float64,
                  "call_prompt_key": pl.String}
    if calls is None or not {"trace_id", "span_id"} <= set(calls.columns) or not calls.height:
        return frame.with_columns(pl.lit(None, dtype).alias(name)
                                  for name, dtype in usage_cols.items())
    from genailog.analysis.drift.features import prompt_text
    from genailog.pricing.cost import with_cost
    from genailog.pricing.table import default_prices

    priced = with_cost(calls.lazy(), default_prices()).collect()
    version = pl.concat_str(pl.lit("prompt "), pl.col("prompt_id"), pl.lit("@"),
                            pl.col("prompt_version").fill_null("-"))
    text_key = prompt_text()
    keyed = priced.select(
        "trace_id", "span_id", "input_tokens", "output_tokens", "cached_input_tokens",
        pl.col("_cost").alias("cost_usd"),
        pl.coalesce(version, text_key).alias("call_prompt_key"),
    ).filter(pl.col("span_id").is_not_null()).unique(["trace_id", "span_id"], keep="first")
    return frame.join(keyed, on=["trace_id", "span_id"], how="left")


def _prompt_key(attributes: str | None) -> str | None:
    """The prompt of an LLM span from its attributes, when no call record gives one."""
    if not attributes:
        return None
    try:
        attrs = json.loads(attributes)
    except ValueError:
        return None
    for key in _PROMPT_KEYS:
        if attrs.get(key) not in (None, "", []):
            value = attrs[key]
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return None


def _repeats(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Prompts sent more than once in one trace, most repeated first."""
    llm = frame.filter(pl.col("kind") == "llm")
    if not llm.height:
        return []
    kinds = dict(zip(zip(frame["trace_id"], frame["span_id"], strict=True), frame["kind"],
                     strict=True))
    rows = []
    for row in llm.iter_rows(named=True):
        if kinds.get((row["trace_id"], row["parent_span_id"])) == "llm":
            continue  # the same call seen by two instrumentations
        key = row["call_prompt_key"] or _prompt_key(row["attributes"])
        if key:
            rows.append((row["trace_id"], key, row["component"]))
    counts: dict[tuple[str, str], list[str]] = {}
    for trace, key, component in rows:
        counts.setdefault((trace, key), []).append(component)
    out = []
    for (trace, key), components in counts.items():
        if len(components) > 1:
            label = key if key.startswith("prompt ") else (
                "text " + hashlib.sha256(key.encode()).hexdigest()[:12])
            out.append({"trace_id": trace, "prompt": label, "preview": key[:80],
                        "calls": len(components), "components": sorted(set(components))})
    return sorted(out, key=lambda r: (-r["calls"], r["trace_id"], r["prompt"]))


# --------------------------------------------------------------------------- aggregates


def _q(column: str, q: float) -> pl.Expr:
    return pl.col(column).quantile(q, "linear")


def _traces_table(frame: pl.DataFrame, walk: _Walk) -> pl.DataFrame:
    """One row per trace: start, end-to-end time, spans, errors, usage, root self time."""
    virtual = pl.DataFrame({"trace_id": list(walk.virtual_us),
                            "_gap_ms": [v / 1000.0 for v in walk.virtual_us.values()]},
                           schema={"trace_id": pl.String, "_gap_ms": pl.Float64})
    llm = pl.col("kind") == "llm"
    table = frame.group_by("trace_id").agg(
        pl.col("start").min(), pl.col("end").max(), pl.len().alias("spans"),
        (pl.col("status") == "error").sum().alias("errors"),
        pl.col("critical_ms").filter(pl.col("root")).sum().alias("_root_ms"),
        pl.col("name").filter(pl.col("root")).first().alias("root"),
        llm.sum().alias("llm_spans"),
        pl.col("input_tokens").filter(llm).sum().alias("input_tokens"),
        pl.col("input_tokens").filter(llm).count().alias("_in_n"),
        pl.col("output_tokens").filter(llm).sum().alias("output_tokens"),
        pl.col("output_tokens").filter(llm).count().alias("_out_n"),
        pl.col("cost_usd").filter(llm).sum().alias("cost_usd"),
        pl.col("cost_usd").filter(llm).count().alias("_cost_n"),
    ).join(virtual, on="trace_id", how="left")
    return table.with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1000.0)
        .alias("duration_ms"),
        (pl.col("_root_ms") + pl.col("_gap_ms").fill_null(0.0)).alias("root_self_ms"),
        pl.when(pl.col("_in_n") > 0).then(pl.col("input_tokens")).alias("input_tokens"),
        pl.when(pl.col("_out_n") > 0).then(pl.col("output_tokens")).alias("output_tokens"),
        pl.when(pl.col("_cost_n") > 0).then(pl.col("cost_usd")).alias("cost_usd"),
    ).drop("_root_ms", "_gap_ms", "_in_n", "_out_n", "_cost_n").sort("start", "trace_id")


def _components(frame: pl.DataFrame, total_ms: float) -> pl.DataFrame:
    """Per component (root spans excluded): latency percentiles, self and child time,
    shares of the end-to-end time, errors and where they start, LLM usage."""
    parts = frame.filter(~pl.col("root"))
    if not parts.height:
        return pl.DataFrame()
    denominator = total_ms or math.nan
    return parts.group_by("component", "kind", "name").agg(
        pl.len().alias("spans"), pl.col("trace_id").n_unique().alias("traces"),
        _q("duration_ms", 0.5).alias("p50_ms"), _q("duration_ms", 0.95).alias("p95_ms"),
        _q("duration_ms", 0.99).alias("p99_ms"), pl.col("duration_ms").mean().alias("mean_ms"),
        pl.col("duration_ms").sum().alias("total_ms"), pl.col("self_ms").sum().alias("self_ms"),
        _q("self_ms", 0.5).alias("self_p50_ms"), _q("self_ms", 0.95).alias("self_p95_ms"),
        pl.col("critical_ms").sum().alias("critical_ms"),
        (pl.col("status") == "error").sum().alias("errors"),
        pl.col("error_origin").sum().alias("error_origins"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        pl.col("input_tokens").count().alias("_in_n"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        pl.col("output_tokens").count().alias("_out_n"),
        pl.col("cost_usd").sum().alias("cost_usd"), pl.col("cost_usd").count().alias("_cost_n"),
    ).with_columns(
        (pl.col("total_ms") - pl.col("self_ms")).alias("child_ms"),
        (pl.col("self_ms") / denominator).alias("share_of_trace_time"),
        (pl.col("critical_ms") / denominator).alias("critical_path_share"),
        (pl.col("errors") / pl.col("spans")).alias("error_rate"),
        pl.when(pl.col("_in_n") > 0).then(pl.col("input_tokens")).alias("input_tokens"),
        pl.when(pl.col("_out_n") > 0).then(pl.col("output_tokens")).alias("output_tokens"),
        pl.when(pl.col("_cost_n") > 0).then(pl.col("cost_usd")).alias("cost_usd"),
    ).drop("_in_n", "_out_n", "_cost_n").with_columns(
        pl.col("total_ms", "self_ms", "child_ms", "critical_ms").round(3),  # µs resolution
    ).sort(
        ["critical_ms", "component"], descending=[True, False])


_COMPONENT_KEYS = ("component", "kind", "name", "spans", "traces", "p50_ms", "p95_ms",
                   "p99_ms", "mean_ms", "self_p50_ms", "self_p95_ms", "total_ms", "self_ms",
                   "child_ms", "critical_ms", "share_of_trace_time", "critical_path_share",
                   "errors", "error_rate", "error_origins", "input_tokens", "output_tokens",
                   "cost_usd")


# --------------------------------------------------------------------------- tests


def _slow_causes(frame: pl.DataFrame, traces: pl.DataFrame, options: TracesOptions
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The slowest traces against the rest, per component's critical time per trace."""
    from scipy.stats import mannwhitneyu

    n = traces.height
    info: dict[str, Any] = {"traces": n, "slow": 0, "threshold_ms": None, "tested": 0,
                            "alpha_per_test": None, "slow_mean_ms": None, "rest_mean_ms": None,
                            "judged": False, "reason": None}
    slow_n = math.ceil(n * (1 - options.slow_quantile))
    if n < options.min_traces or slow_n < 2 or n - slow_n < 2:
        info["reason"] = f"fewer than {options.min_traces} traces"
        return info, []
    ranked = traces.select("trace_id", "duration_ms").sort(
        ["duration_ms", "trace_id"], descending=[True, False])
    slow_ids = ranked["trace_id"].head(slow_n)
    per_trace = frame.filter(~pl.col("root")).group_by("trace_id", "component").agg(
        pl.col("critical_ms").sum())
    roots = traces.select("trace_id", pl.lit(ROOT_SELF).alias("component"),
                          pl.col("root_self_ms").alias("critical_ms"))
    wide = pl.concat([per_trace, roots]).pivot(
        on="component", index="trace_id", values="critical_ms").fill_null(0.0)
    wide = ranked.join(wide, on="trace_id", how="left").fill_null(0.0)
    slow_mask = wide["trace_id"].is_in(slow_ids.implode())
    slow, rest = wide.filter(slow_mask), wide.filter(~slow_mask)
    excess = float(slow["duration_ms"].to_numpy().mean() - rest["duration_ms"].to_numpy().mean())
    names = [c for c in wide.columns if c not in ("trace_id", "duration_ms")]
    per_test = options.alpha / max(len(names), 1)
    info.update(slow=slow_n, threshold_ms=ranked["duration_ms"][slow_n - 1], tested=len(names),
                alpha_per_test=per_test, slow_mean_ms=slow["duration_ms"].mean(),
                rest_mean_ms=rest["duration_ms"].mean(), judged=True)
    kinds = dict(zip(frame["component"], frame["kind"], strict=True))
    causes = []
    for name in names:
        a, b = slow[name].to_numpy(), rest[name].to_numpy()
        if a.min() == a.max() == b.min() == b.max():
            continue
        p = float(mannwhitneyu(a, b, alternative="greater").pvalue)
        share = (float(a.mean()) - float(b.mean())) / excess if excess else None
        if p < per_test and share is not None and share > 0:
            causes.append({"component": name, "kind": kinds.get(name, "root"),
                           "p_value": p, "share_of_excess": share,
                           "slow_mean_ms": float(a.mean()), "rest_mean_ms": float(b.mean())})
    causes.sort(key=lambda c: (-c["share_of_excess"], c["p_value"], c["component"]))
    return info, causes


def _changed(current: pl.DataFrame, reference: pl.DataFrame, source: str,
             until: datetime | None, options: TracesOptions) -> dict[str, Any]:
    """Components whose self-time distribution changed against the reference."""
    from scipy.stats import ks_2samp

    cur = current.filter(~pl.col("root"))
    ref = reference.filter(~pl.col("root"))
    counts_cur = dict(cur.group_by("component").len().iter_rows())
    counts_ref = dict(ref.group_by("component").len().iter_rows())
    tested = sorted(c for c in counts_cur if counts_cur[c] >= options.min_spans
                    and counts_ref.get(c, 0) >= options.min_spans)
    per_test = options.alpha / max(len(tested), 1)
    info = {"source": source, "until": iso(until),
            "traces": reference["trace_id"].n_unique(), "spans": reference.height,
            "current_traces": current["trace_id"].n_unique(), "tested": len(tested),
            "alpha_per_test": per_test,
            "not_tested": sorted(set(counts_cur) ^ set(counts_ref) | {
                c for c in set(counts_cur) & set(counts_ref) if c not in tested})}
    out = []
    kinds = dict(zip(cur["component"], cur["kind"], strict=True))
    for name in tested:
        a = ref.filter(pl.col("component") == name)
        b = cur.filter(pl.col("component") == name)
        p = float(ks_2samp(a["self_ms"].to_numpy(), b["self_ms"].to_numpy()).pvalue)
        stats: dict[str, float] = {}
        for side, part in (("reference", a), ("current", b)):
            for label, column, q in (("p50_ms", "duration_ms", 0.5), ("p95_ms", "duration_ms",
                                                                      0.95),
                                     ("self_p50_ms", "self_ms", 0.5),
                                     ("self_p95_ms", "self_ms", 0.95)):
                stats[f"{side}_{label}"] = float(part[column].quantile(q, "linear") or 0.0)
        change = max(_relative(stats["reference_self_p50_ms"], stats["current_self_p50_ms"]),
                     _relative(stats["reference_self_p95_ms"], stats["current_self_p95_ms"]))
        if p < per_test and change >= options.min_change:
            slower = stats["current_self_p95_ms"] >= stats["reference_self_p95_ms"]
            out.append({"component": name, "kind": kinds[name], "p_value": p,
                        "direction": "slower" if slower else "faster",
                        "relative_change": change, "reference_spans": a.height,
                        "current_spans": b.height, **stats})
    out.sort(key=lambda c: (c["p_value"], -c["relative_change"], c["component"]))
    return {"reference": info, "components": out}


def _relative(before: Any, after: Any) -> float:
    if before is None or after is None:
        return 0.0
    if before == 0:
        return math.inf if after else 0.0
    return float(abs(after - before) / before)


# --------------------------------------------------------------------------- one trace


def _tree(frame: pl.DataFrame, walk: _Walk, wanted: str) -> dict[str, Any]:
    """One trace as its spans in depth-first order with offsets and timings; ``wanted``
    is a trace id or a unique prefix of one."""
    ids = frame["trace_id"].unique().to_list()
    hits = [t for t in ids if t == wanted] or [t for t in ids if t.startswith(wanted.lower())]
    if len(hits) != 1:
        some = ", ".join(sorted(ids)[:3])
        why = "matches several traces" if hits else "is no trace read"
        raise UsageError(f"--trace {wanted}: {why}; {len(ids)} trace(s) read, e.g. {some}")
    trace = hits[0]
    position = {row: at for at, row in enumerate(walk.order)}
    rows = frame.with_row_index("_row").filter(pl.col("trace_id") == trace)
    rows = rows.with_columns(pl.col("_row").replace_strict(position, return_dtype=pl.Int64)
                             .alias("_order")).sort("_order")
    start: datetime = rows["start"].min()  # type: ignore[assignment]
    end: datetime = rows["end"].max()  # type: ignore[assignment]
    spans = []
    for row in rows.iter_rows(named=True):
        offset = (row["start"] - start).total_seconds() * 1000.0
        spans.append({
            "span_id": row["span_id"], "parent_span_id": row["parent_span_id"],
            "depth": row["depth"], "name": row["name"], "kind": row["kind"],
            "start_offset_ms": offset, "duration_ms": row["duration_ms"],
            "self_ms": row["self_ms"], "critical_ms": row["critical_ms"],
            "status": row["status"], "status_message": row["status_message"],
            "error_origin": row["error_origin"], "model": row["model"],
            "input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"],
            "cost_usd": row["cost_usd"]})
    return {"trace_id": trace, "start": iso(start),
            "duration_ms": (end - start).total_seconds() * 1000.0, "spans": spans}


# --------------------------------------------------------------------------- gates


def _gates(expressions: Sequence[str], components: list[dict[str, Any]],
           summary: dict[str, Any]) -> list[dict[str, Any]]:
    """``--fail-if`` over per-component rows (``component_*`` metrics, ``kind`` and
    ``name``) and the trace-level row (``trace_*`` metrics and counts)."""
    from genailog.analysis.gates import evaluate_gates

    if not expressions:
        return []
    metrics = component_metric_names()
    trace_row = {f"trace_{k}": summary.get(k) for k in TRACE_METRICS}
    groups = [{"kind": c["kind"], "name": c["name"], **dict.fromkeys(trace_row),
               **{f"component_{m}": c[m] for m in metrics}} for c in components]
    total = {**dict.fromkeys(f"component_{m}" for m in metrics), **trace_row}
    texts = [rewrite_selector(text) for text in expressions]
    results = evaluate_gates(texts, groups, total, ["kind", "name"])
    gates = [{**r.to_dict(), "expression": text}
             for r, text in zip(results, expressions, strict=True)]
    for gate in gates:
        _fail_unmatched_selector(gate, groups, total)
    return gates


def _fail_unmatched_selector(gate: dict[str, Any], groups: list[dict[str, Any]],
                             total: dict[str, Any]) -> None:
    """A gate whose ``{...}`` selector picks no component has nothing to judge: it fails
    (closed, like every gate; a misspelt name must not turn CI green)."""
    from genailog.analysis.gates import evaluate_gates

    parts = selector_parts(gate["expression"])
    if parts is None:
        return
    selector = parts[0]
    [matched] = evaluate_gates([selector], groups, total, ["kind", "name"])
    if not any(f["group"] is not None for f in matched.failed):
        gate["failed"].append({"group": None, "label": "no component",
                               "reason": f"no component matches {selector}"})
        gate["passed"] = False


TRACE_METRICS = ("traces", "spans", "p50_ms", "p95_ms", "p99_ms", "error_rate",
                 "input_tokens", "output_tokens", "cost_usd", "repeated_calls",
                 "slow_trace_causes", "changed_components")


def component_metric_names() -> list[str]:
    return [k for k in _COMPONENT_KEYS if k not in ("component", "kind", "name")]


def gate_names() -> list[str]:
    """Every name a ``--fail-if`` over traces may use."""
    return ([f"component_{m}" for m in component_metric_names()]
            + [f"trace_{m}" for m in TRACE_METRICS] + ["kind", "name"])


def rewrite_selector(text: str) -> str:
    """``component_p95_ms{name='rerank'} > 500`` as ``(name = 'rerank') AND
    (component_p95_ms > 500)``: the braces pick component rows by ``kind``/``name``
    (``,`` between conditions means AND). Every selector of one gate must be the same."""
    parts = selector_parts(text)
    return text if parts is None else f"({parts[0]}) AND ({parts[1]})"


def selector_parts(text: str) -> tuple[str, str] | None:
    """``(where over kind/name, the gate without braces)`` of a gate with a ``{...}``
    selector, or None when it has none."""
    import re

    selector = re.compile(r"\b(component_[A-Za-z0-9_]+)\s*\{([^{}]*)\}")
    found = {m.group(2).strip() for m in selector.finditer(text)}
    if not found:
        return None
    if len(found) > 1:
        raise UsageError(f"--fail-if {text!r}: use one {{...}} selector per gate")
    condition = found.pop()
    parts = [p.strip() for p in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", condition)
             if p.strip()]
    if not parts:
        raise UsageError(f"--fail-if {text!r}: the {{}} selector is empty; "
                         "e.g. component_p95_ms{name='rerank'} > 500")
    where = " AND ".join(f"({p.replace('==', '=')})" for p in parts)
    return where, selector.sub(lambda m: m.group(1), text)


def check_gates(expressions: Sequence[str]) -> None:
    """Check every gate before any span is read (unknown names exit 2)."""
    from genailog.analysis.gates import parse_gates

    parse_gates([rewrite_selector(t) for t in expressions], ["kind", "name"],
                [n for n in gate_names() if n not in ("kind", "name")])


# --------------------------------------------------------------------------- entry


def analyze_traces(spans: Any, *, calls: pl.DataFrame | None = None,
                   reference: Any = None, options: TracesOptions | None = None,
                   ) -> TracesResult:
    """Analyse ``spans`` (a :class:`~genailog.ingest.spans.Spans` or its frame).

    ``calls`` are the LLM-call records of the same files (tokens, cost, prompts; taken
    from ``spans.calls`` when not given). ``reference`` (spans too) is compared with
    ``spans``; or ``options.reference_until`` splits ``spans`` by trace start.
    """
    options = options or TracesOptions()
    if reference is not None and options.reference_until is not None:
        raise UsageError("use either --reference or --reference-until, not both")
    frame = spans if isinstance(spans, pl.DataFrame) else spans.frame
    if calls is None and not isinstance(spans, pl.DataFrame):
        calls = spans.calls
    skipped: list[dict[str, Any]] = []
    frame = _usage(_window(_clean(frame, skipped, "current"), options), calls)
    if not frame.height:
        raise InputError("no spans to analyse: the inputs hold no trace spans "
                         "(genailog traces reads OTLP, OpenInference, Phoenix and Langfuse "
                         "span files; docs/traces.md)")
    annotated, walk = _annotate(frame)
    traces = _traces_table(annotated, walk)
    changed = None
    current = annotated
    if options.reference_until is not None:
        starts = traces.filter(pl.col("start") < options.reference_until)["trace_id"]
        before = annotated["trace_id"].is_in(starts.implode())
        ref_frame, current = annotated.filter(before), annotated.filter(~before)
        if not current.height or not ref_frame.height:
            raise UsageError(f"--reference-until {iso(options.reference_until)}: every trace "
                             f"starts {'before' if not current.height else 'after'} it, so "
                             "one side is empty")
        changed = _changed(current, ref_frame, "reference_until", options.reference_until,
                           options)
        current, walk = _annotate(current.drop("root", "depth", "self_ms", "critical_ms",
                                               "error_origin"))
        traces = _traces_table(current, walk)
    elif reference is not None:
        ref_raw = reference if isinstance(reference, pl.DataFrame) else reference.frame
        ref_clean = _usage(_clean(ref_raw, skipped, "reference"), None)
        if not ref_clean.height:
            raise InputError("--reference holds no trace spans")
        ref_frame, _ = _annotate(ref_clean)
        changed = _changed(current, ref_frame, "reference_paths", None, options)
    return _result(current, walk, traces, changed, skipped, options)


def _result(frame: pl.DataFrame, walk: _Walk, traces: pl.DataFrame,
            changed: dict[str, Any] | None, skipped: list[dict[str, Any]],
            options: TracesOptions) -> TracesResult:
    total_ms = float(traces["duration_ms"].sum())
    table = _components(frame, total_ms)
    components = [{k: row[k] for k in _COMPONENT_KEYS} for row in table.iter_rows(named=True)]
    origins = (frame.filter(pl.col("error_origin")).group_by("component", "kind")
               .agg(pl.len().alias("spans"), pl.col("trace_id").n_unique().alias("traces"),
                    pl.col("status_message").drop_nulls().first().str.split("\n").list
                    .first().str.split("Traceback (").list.first().str.slice(0, 200)
                    .alias("example_message"))
               .sort(["spans", "component"], descending=[True, False]).to_dicts())
    slow_info, causes = _slow_causes(frame, traces, options)
    repeats = _repeats(frame)
    error_traces = int((traces["errors"] > 0).sum())
    summary: dict[str, Any] = {
        "traces": traces.height, "spans": frame.height,
        "components": len(components),
        "start": iso(traces["start"].min()), "end": iso(traces["end"].max()),  # type: ignore[arg-type]
        "p50_ms": traces["duration_ms"].quantile(0.5, "linear"),
        "p95_ms": traces["duration_ms"].quantile(0.95, "linear"),
        "p99_ms": traces["duration_ms"].quantile(0.99, "linear"),
        "error_traces": error_traces, "error_rate": error_traces / traces.height,
        "root_self_share": float(traces["root_self_ms"].sum()) / total_ms if total_ms else None,
        "llm_spans": int(traces["llm_spans"].sum()),
        "input_tokens": _sum_or_none(traces["input_tokens"]),
        "output_tokens": _sum_or_none(traces["output_tokens"]),
        "cost_usd": _sum_or_none(traces["cost_usd"]),
        "repeated_calls": sum(r["calls"] - 1 for r in repeats),
        "traces_with_repeats": len({r["trace_id"] for r in repeats}),
        "slow_trace_causes": len(causes),
        "changed_components": None if changed is None else len(changed["components"]),
    }
    slowest = traces.sort(["duration_ms", "trace_id"], descending=[True, False]).head(
        options.top)
    result = TracesResult(
        summary=summary, components=components, error_origins=origins,
        slow_traces=slow_info, slow_trace_causes=causes, changed=changed,
        repeated_calls=repeats, traces=_trace_rows(frame, slowest), skipped=skipped,
        trace=_tree(frame, walk, options.trace_id) if options.trace_id else None,
        settings={"slow_quantile": options.slow_quantile, "alpha": options.alpha,
                  "min_traces": options.min_traces, "min_spans": options.min_spans,
                  "min_change": options.min_change, "top": options.top,
                  "reference_until": iso(options.reference_until),
                  "since": iso(options.since), "until": iso(options.until)})
    result.gates = _gates(options.gates, components, summary)
    return result


def _sum_or_none(series: pl.Series) -> Any:
    return series.sum() if series.count() else None


def _trace_rows(frame: pl.DataFrame, slowest: pl.DataFrame) -> list[dict[str, Any]]:
    """The slowest traces, each with its critical path (components in time order)."""
    ids = slowest["trace_id"].implode()
    path = (frame.filter(pl.col("trace_id").is_in(ids) & (pl.col("critical_ms") > 0)
                         & ~pl.col("root"))
            .sort("trace_id", "start")
            .group_by("trace_id", maintain_order=True)
            .agg(pl.struct(pl.col("component"), pl.col("critical_ms").alias("ms"))
                 .alias("critical_path")))
    by_trace = {row["trace_id"]: row["critical_path"] for row in path.iter_rows(named=True)}
    rows = []
    for row in slowest.iter_rows(named=True):
        steps = by_trace.get(row["trace_id"], [])
        totals: dict[str, float] = {}
        for step in steps:
            totals[step["component"]] = totals.get(step["component"], 0.0) + step["ms"]
        dominant = max(totals, key=lambda k: totals[k]) if totals else None
        rows.append({"trace_id": row["trace_id"], "root": row["root"],
                     "start": iso(row["start"]), "duration_ms": row["duration_ms"],
                     "spans": row["spans"], "errors": row["errors"],
                     "root_self_ms": row["root_self_ms"], "critical_path": steps,
                     "dominant_component": dominant, "llm_spans": row["llm_spans"],
                     "input_tokens": row["input_tokens"],
                     "output_tokens": row["output_tokens"], "cost_usd": row["cost_usd"]})
    return rows
