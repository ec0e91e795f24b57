"""One self-contained HTML page from a :class:`~genailog.report.model.Report`.

No script, no font, no image file, no link: charts are inline SVG (:mod:`.svg`), styles
one inline ``<style>`` allowed by its hash, and a Content-Security-Policy meta tag forbids
every fetch, so opening the file can make no request. The overview's numbers are also
inlined as JSON (``<script type="application/json">``, data only: the policy runs no
script), escaped so that no value can close the element. Every text from the logs is
escaped for HTML; each section is present only when the data has what it needs, with a
one-line reading that states tested findings only (diff and drift) and otherwise describes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from genailog import __version__
from genailog.report.model import Report
from genailog.report.svg import Chart, Interval, ecdf, esc, forest, hbars, heatmap, line_chart
from genailog.report.svg import stacked_bars as bars

_CSS = """
:root{--fg:#1b1f24;--bg:#fff;--muted:#57606a;--grid:#d0d7de;--card:#f6f8fa;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;
--grid:#30363d;--card:#161b22}}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);
background:var(--bg);max-width:1000px;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid var(--grid)}
h3{font-size:1rem;margin:1.2rem 0 .3rem}.meta,.note{color:var(--muted)}
.reading{font-weight:600;margin:.3rem 0 .8rem}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.6rem}
.stat{background:var(--card);border:1px solid var(--grid);border-radius:6px;padding:.5rem .7rem}
.stat .k{color:var(--muted);font-size:.8rem}.stat .v{font-size:1.25rem;font-weight:600}
figure{margin:0 0 1.2rem}svg{width:100%;height:auto;display:block}
svg text{fill:var(--fg);font-size:11px}svg .mark{font-size:13px;font-weight:700;fill:#000}
svg .grid{stroke:var(--grid);stroke-width:1}svg .axis{stroke:var(--muted);stroke-width:1}
table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0}
th,td{border-bottom:1px solid var(--grid);padding:.15rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}summary{cursor:pointer;color:var(--muted)}
nav a{color:inherit;margin-right:.8rem}
@media print{body{max-width:none;font-size:11pt}nav,summary{display:none}
figure,.stats{break-inside:avoid}details::details-content{content-visibility:visible;
display:block}h2{break-after:avoid}}
"""
_CSP = ("default-src 'none'; script-src 'none'; style-src '{style}'; img-src 'none'; "
        "font-src 'none'; connect-src 'none'; media-src 'none'; object-src 'none'; "
        "frame-src 'none'; base-uri 'none'; form-action 'none'")


def _style_hash() -> str:
    digest = hashlib.sha256(_CSS.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def json_for_script(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element or open a comment: ``<``, ``>``,
    ``&`` and the JavaScript line separators are written as ``\\u`` escapes."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    for char in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _usd(value: float) -> str:
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms"


def _int(value: float) -> str:
    return f"{value:,.0f}"


def _figure(chart_id: str, title: str, chart: Chart) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in chart.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in chart.rows)
    return (f'<figure class="chart" id="{esc(chart_id)}" data-chart="{esc(chart_id)}" '
            f'data-series="{chart.series}"><h3>{esc(title)}</h3>{chart.svg}'
            f"<details><summary>Data: {esc(title)}</summary><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table></details></figure>")


def _section(sid: str, title: str, reading: str, parts: list[str]) -> str:
    return (f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>'
            f'<p class="reading">{esc(reading)}</p>{"".join(parts)}</section>')


# ---- overview ----------------------------------------------------------------------------

def _stat(key: str, label: str, value: Any, text: str) -> str:
    return (f'<div class="stat" data-key="{esc(key)}" data-value="{esc(json_for_script(value))}">'
            f'<div class="k">{esc(label)}</div><div class="v">{esc(text)}</div></div>')


def _stamp(iso: str | None) -> str:
    """``2026-11-02T00:01:38.025000+00:00`` shown as ``2026-11-02 00:01:38 UTC``."""
    if iso is None:
        return "-"
    return iso[:19].replace("T", " ") + (" UTC" if iso.endswith(("+00:00", "Z")) else "")


def overview_stats(data: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """(key, label, value from summarize's JSON, shown text) for each overview figure."""
    total, span = data["total"], data["span"]
    cost = total["cost_usd"]
    unpriced = data["unpriced_models"]

    def opt(value: Any, fmt: Callable[[float], str]) -> str:
        return "-" if value is None else fmt(value)

    return [
        ("requests", "requests", total["requests"], _int(total["requests"])),
        ("errors", "errors", total["errors"], _int(total["errors"])),
        ("error_rate", "error rate", total["error_rate"], opt(total["error_rate"], _pct)),
        ("cost_usd", "cost (USD)", cost, opt(cost, _usd)),
        ("input_tokens", "input tokens", total["input_tokens"], opt(total["input_tokens"], _int)),
        ("output_tokens", "output tokens", total["output_tokens"],
         opt(total["output_tokens"], _int)),
        ("latency_ms_p95", "latency p95", total["latency_ms_p95"],
         opt(total["latency_ms_p95"], _ms)),
        ("span.start", "first record", span["start"], _stamp(span["start"])),
        ("span.end", "last record", span["end"], _stamp(span["end"])),
        ("unpriced_models", "unpriced models", len(unpriced),
         ", ".join(f"{u['model']} ({u['requests']:,})" for u in unpriced) or "none"),
        ("skipped_records", "skipped records", data["skipped_records"],
         _int(data["skipped_records"])),
    ]


def _overview(report: Report) -> str:
    data = report.overview
    total = data["total"]
    models = len(report.by_model)
    cost = total["cost_usd"]
    reading = (f"{total['requests']:,} requests over {len(report.windows)} windows of "
               f"{report.window} from {len(report.by_model)} model{'s' * (models != 1)}; "
               f"{total['errors']:,} errors"
               + (f" ({total['error_rate']:.1%})" if total["error_rate"] is not None else "")
               + (f"; {_usd(cost)} priced" if cost is not None else "; no cost known"))
    if data["unpriced_models"]:
        reading += f"; {len(data['unpriced_models'])} model(s) unpriced"
    stats = "".join(_stat(*s) for s in overview_stats(data))
    prices = data["prices"]
    note = (f'<p class="note">Prices: {esc(prices["source"])} (as of '
            f'{esc(prices["as_of"] or "unknown date")}). Same numbers as '
            "<code>genailog summarize --format json</code> on the same input and options.</p>")
    if "sampling" in report.notes:
        note += f'<p class="note">Sampling: {esc(report.notes["sampling"])}.</p>'
    return _section("overview", "Overview", reading, [f'<div class="stats">{stats}</div>', note])


# ---- cost --------------------------------------------------------------------------------

def _cost(report: Report) -> str | None:
    models = report.by_model
    if not models:
        return None
    parts = []
    costs = {m: sum(v or 0.0 for v in s["cost_usd"]) for m, s in models.items()
             if any(v is not None for v in s["cost_usd"])}
    if costs:
        # models keep one order, hence one colour and pattern, in every chart
        series = [(m, s["cost_usd"]) for m, s in models.items()]
        parts.append(_figure("cost-over-time", f"Cost per {report.window} by model (USD)",
                             bars("Cost by model over time", "cost", report.windows, series,
                                  _usd, y_title="USD")))
    parts.append(_figure("requests-over-time", f"Requests per {report.window} by model",
                         bars("Requests by model over time", "req", report.windows,
                              [(m, s["requests"]) for m, s in models.items()], _int,
                              y_title="requests")))
    if report.cost_by_version:
        parts.append(_figure("cost-by-version", f"Cost by {report.version_field} (USD)",
                             hbars("Cost by prompt version", report.cost_by_version, _usd)))
    for key, rows in (("users", report.top_users), ("sessions", report.top_sessions)):
        if rows:
            parts.append(_figure(f"top-{key}", f"Top {len(rows)} {key} by cost (USD)",
                                 hbars(f"Top {key} by cost",
                                       [(r["key"], r["cost_usd"]) for r in rows], _usd)))
    if costs:
        top = max(costs, key=lambda k: costs[k])
        whole = sum(costs.values())
        reading = (f"{top} accounts for {costs[top] / whole:.0%} of the priced cost "
                   f"({_usd(costs[top])} of {_usd(whole)}).") if whole else "No priced cost."
    else:
        reading = "No cost is known for these records (none reported, no model priced)."
    return _section("cost", "Cost and requests", reading, parts)


# ---- latency -----------------------------------------------------------------------------

def _latency(report: Report) -> str | None:
    timing, parts = report.timing, []
    if report.latency_ecdf:
        parts.append(_figure("latency-ecdf", "Latency distribution by model (ECDF, log axis)",
                             ecdf("Latency ECDF by model",
                                  _in_model_order(report, report.latency_ecdf),
                                  _ms, x_title="latency (ms, log scale)")))
    for key, title in (("latency_ms", "Latency p50 / p95 / p99"),
                       ("ttft_ms", "Time to first token p50 / p95 / p99")):
        if key in timing:
            parts.append(_figure(f"{key}-over-time", f"{title} per {report.window}",
                                 line_chart(title, report.windows, list(timing[key].items()),
                                            _ms, y_title="ms")))
    if "latency_ms_p95_by_model" in timing:
        parts.append(_figure("latency-p95-by-model", f"Latency p95 per {report.window} by model",
                             line_chart("Latency p95 by model", report.windows,
                                        _in_model_order(report,
                                                        timing["latency_ms_p95_by_model"]), _ms,
                                        y_title="ms")))
    if not parts:
        return None
    return _section("latency", "Latency", _latency_reading(report), parts)


def _in_model_order(report: Report, per_model: dict[str, Any]) -> list[tuple[str, Any]]:
    """Series in the order of the cost charts, so a model keeps its colour and marker."""
    order = [m for m in report.by_model if m in per_model]
    return [(m, per_model[m]) for m in order + sorted(set(per_model) - set(order))]


def _latency_reading(report: Report) -> str:
    medians = {m: v[len(v) // 2] for m, v in report.latency_ecdf.items() if v}
    text = ""
    if medians:
        slow, fast = max(medians, key=lambda m: medians[m]), min(medians, key=lambda m: medians[m])
        text = (f"Median latency ranges from {_ms(medians[fast])} ({fast}) to "
                f"{_ms(medians[slow])} ({slow}).")
    p95 = report.timing.get("latency_ms", {}).get("p95", [])
    known = [(v, report.windows[i]) for i, v in enumerate(p95) if v is not None]
    if known:
        (lo, lo_w), (hi, hi_w) = min(known), max(known)
        text += f" p95 over all models: {_ms(lo)} ({lo_w}) to {_ms(hi)} ({hi_w})."
    return text.strip() or "No latency recorded."


# ---- quality -----------------------------------------------------------------------------

def _quality(report: Report) -> str | None:
    q, parts = report.quality_over_time, []
    rates = [(k, v) for k, v in q.items() if k.endswith("_rate")]
    if rates:
        parts.append(_figure("quality-rates", f"Rates per {report.window}",
                             line_chart("Rates over time", report.windows, rates, _pct,
                                        y_title="share of records")))
    if "feedback_mean" in q:
        parts.append(_figure("feedback-over-time", f"Mean feedback rating per {report.window}",
                             line_chart("Feedback over time", report.windows,
                                        [("feedback_mean", q["feedback_mean"])],
                                        lambda v: f"{v:.2f}", y_title="rating")))
    evals = [(k, v) for k, v in q.items() if k.startswith("eval_scores.")]
    if evals:
        parts.append(_figure("evals-over-time", f"Mean eval scores per {report.window}",
                             line_chart("Eval scores over time", report.windows, evals,
                                        lambda v: f"{v:.3f}", y_title="score")))
    by_version = report.quality_by_version
    metrics = [k for k in ("hallucination_rate", "refusal_rate", "feedback_mean")
               if any(r.get(k) is not None for r in by_version)]
    metrics += sorted({k for r in by_version for k in r if k.startswith("eval_scores.")})
    if by_version and metrics:
        parts.append(_version_table(report, metrics))
    if not parts:
        return None
    reading = "Described, not tested here: the prompt versions section tests the differences."
    if "hallucination_rate" in metrics:
        reading = ("Hallucination rate by version: " + ", ".join(
            f"{r['version']} {r['hallucination_rate']:.1%}" for r in by_version
            if r.get("hallucination_rate") is not None) + ". " + reading)
    return _section("quality", "Quality and safety", reading, parts)


def _version_table(report: Report, metrics: list[str]) -> str:
    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        if value is None:
            return "-"
        return _pct(value) if key.endswith("_rate") else f"{value:.3f}"

    head = "".join(f"<th>{esc(h)}</th>" for h in (report.version_field, "requests", *metrics))
    body = "".join(
        f"<tr><td>{esc(r['version'])}</td><td>{r['requests']:,}</td>"
        + "".join(f"<td>{esc(cell(r, k))}</td>" for k in metrics) + "</tr>"
        for r in report.quality_by_version)
    return (f'<h3>By {esc(report.version_field)}</h3><table class="by-version">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


# ---- prompt versions ---------------------------------------------------------------------

def _intervals(diff: dict[str, Any]) -> list[Interval]:
    out = []
    for m in diff["metrics"]:
        base = m["baseline"]
        label = m["metric"] if m["statistic"] == "rate" else f"{m['metric']} {m['statistic']}"
        if not base or m["ci_low"] is None or m["ci_high"] is None or m["delta"] is None:
            continue  # no interval to draw in percent of the baseline
        scale = 100.0 / abs(base)
        text = (f"{m['delta_pct']:+.1f}% ({m['ci_low'] * scale:+.1f}% to "
                f"{m['ci_high'] * scale:+.1f}%), {m['direction']}")
        out.append(Interval(label, m["delta"] * scale, m["ci_low"] * scale,
                            m["ci_high"] * scale, bool(m["significant"]), text))
    return out


def _versions(report: Report) -> str | None:
    diff = report.diff
    if diff is None:
        note = report.notes.get("diff")
        return None if note is None else _section("versions", "Prompt versions",
                                                  f"Not compared: {note}", [])
    rows = _intervals(diff)
    regressions = diff["regressions"]
    better = [r.label for r in rows if r.significant and "better" in r.text]
    head = f"{diff['candidate']} against {diff['baseline']} ({diff['version_field']}): "
    if regressions:
        reading = head + "significantly worse in " + ", ".join(regressions)
    elif diff["verdict"] == "insufficient data":
        reading = head + "too few records to test"
    else:
        reading = head + "no significant regression"
    if better:
        reading += "; significantly better in " + ", ".join(better)
    reading += (f" ({diff['correction']}-corrected, {diff['confidence']:.0%} intervals, "
                f"n={diff['n_baseline']:,} vs {diff['n_candidate']:,}).")
    parts = []
    if rows:
        parts.append(_figure("diff-ci", "Change of the candidate, % of the baseline, with "
                             "confidence intervals (* = significant)",
                             forest("Prompt version comparison", rows)))
    return _section("versions", "Prompt versions", reading, parts)


# ---- drift -------------------------------------------------------------------------------

def _drift(report: Report) -> str | None:
    drift = report.drift
    if drift is None:
        note = report.notes.get("drift")
        return None if note is None else _section("drift", "Drift", f"Not run: {note}", [])
    windows = [w for w in drift["windows"] if w["judged"]]
    if not windows:
        return _section("drift", "Drift", "No window held enough records to be judged.", [])
    features = list(dict.fromkeys(f["feature"] for w in windows for f in w["features"]))
    cells = {(w["start"], f["feature"]): f for w in windows for f in w["features"]}
    columns = [w["start"][:16].replace("T00:00", "") for w in windows]

    def ratio(f: dict[str, Any] | None) -> float | None:
        if f is None or not f["judged"] or f["score"] is None or not f["threshold"]:
            return None
        return float(f["score"]) / float(f["threshold"])

    rows = [(name, [ratio(cells.get((w["start"], name))) for w in windows]) for name in features]
    marks = [[bool((cells.get((w["start"], n)) or {}).get("drifted")) for w in windows]
             for n in features]
    chart = heatmap("Drift by window and feature", columns, rows, marks)
    drifted = [w for w in windows if w["drifted"]]
    counts = {n: sum(row) for n, row in zip(features, marks, strict=True) if any(row)}
    if drifted:
        reading = (f"{len(drifted)} of {len(windows)} windows drifted from the reference "
                   f"(first {drifted[0]['start'][:10]}); features: "
                   + ", ".join(f"{n} ({c})" for n, c in sorted(counts.items(),
                                                                key=lambda kv: -kv[1])) + ".")
    else:
        reading = f"No drift detected in {len(windows)} judged windows."
    moved = [f"<li><b>{esc(f['feature'])}</b> {esc(w['start'][:10])}: {esc(f['summary'])}</li>"
             for w in drifted for f in w["features"] if f["drifted"]][:30]
    ref = drift["reference"]
    parts = [_figure("drift-heatmap", "Drift score ÷ threshold per window (✕ = drifted)", chart),
             f'<p class="note">Reference: {esc(ref["source"])}, {esc(ref["start"])} to '
             f'{esc(ref["end"])} ({ref["records"]:,} records). Hatched: not judged.</p>']
    if moved:
        parts.append(f"<h3>What moved</h3><ul>{''.join(moved)}</ul>")
    return _section("drift", "Drift", reading, parts)


_SECTIONS = (("overview", "Overview", _overview), ("cost", "Cost", _cost),
             ("latency", "Latency", _latency), ("quality", "Quality", _quality),
             ("versions", "Prompt versions", _versions), ("drift", "Drift", _drift))


def render_html(report: Report) -> str:
    """The whole page as text (UTF-8)."""
    sections = [(sid, name, html) for sid, name, build in _SECTIONS
                if (html := build(report)) is not None]
    nav = "".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name, _ in sections)
    span = report.overview["span"]
    csp = _CSP.format(style=_style_hash())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="generator" content="genailog {esc(__version__)}">'
        f"<title>{esc(report.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(report.title)}</h1><p class=\"meta\">{esc(_stamp(span['start']))} "
        f"to {esc(_stamp(span['end']))} · window {esc(report.window)} · "
        f"genailog {esc(__version__)}</p>"
        f"<nav>{nav}</nav></header><main>{''.join(h for _, _, h in sections)}</main>"
        '<script type="application/json" id="genailog-summary">'
        f"{json_for_script(report.overview)}</script></body></html>\n"
    )
