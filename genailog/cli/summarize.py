"""``genailog summarize``: parse options, call the library, render, map gates to exit 1.

Formatting lives here as pure functions of the result's dict (no computation); polars is
imported only inside the command so ``genailog --help`` stays fast.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from genailog.cli.options import (
    AllowEmpty,
    Engine,
    InputFormat,
    MinRecords,
    OnInvalid,
    Paths,
    Prices,
    Since,
    Until,
    Where,
    split_names,
)

if TYPE_CHECKING:
    from rich.table import Table

    from genailog.analysis.summarize import SummaryResult


class SummaryFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class QuantileMode(StrEnum):
    exact = "exact"
    sketch = "sketch"


#: (metric, column title, formatter) shown by table and markdown; json and csv have all.
_SHOWN: tuple[tuple[str, str, str], ...] = (
    ("requests", "requests", "int"),
    ("error_rate", "errors", "pct"),
    ("input_tokens_per_request", "in tok/req", "num"),
    ("output_tokens_per_request", "out tok/req", "num"),
    ("cache_hit_ratio", "cache hit", "pct"),
    ("cost_usd", "cost USD", "cost"),
    ("cost_per_1k_requests", "USD/1k req", "usd"),
    ("latency_ms_p50", "p50 ms", "num"),
    ("latency_ms_p95", "p95 ms", "num"),
    ("latency_ms_p99", "p99 ms", "num"),
    ("ttft_ms_p95", "ttft p95", "num"),
    ("requests_per_second", "rate", "rate"),
    ("feedback_mean", "feedback", "feedback"),
)


#: The terminal table keeps to what fits 100 columns; markdown shows all of _SHOWN.
_TABLE = tuple(
    c
    for c in _SHOWN
    if c[0]
    in {
        "requests",
        "error_rate",
        "input_tokens_per_request",
        "output_tokens_per_request",
        "cache_hit_ratio",
        "cost_usd",
        "latency_ms_p50",
        "latency_ms_p95",
        "latency_ms_p99",
    }
)


def _fmt(kind: str, row: dict[str, Any], metric: str) -> str:
    value = row.get(metric)
    if kind == "cost":
        return _cost_cell(row)
    if kind == "feedback" and value is not None:
        return f"{value:.2f} (n={row['feedback_count']})"
    if value is None:
        return "-"
    if kind == "rate":
        from genailog.render.units import rate

        return rate(value)
    formats = {"int": "{:,}", "pct": "{:.1%}", "num": "{:,.0f}", "usd": "${:,.4f}"}
    return formats.get(kind, "{}").format(value)


def _cost_cell(row: dict[str, Any]) -> str:
    """Cost with unpriced requests shown plainly, never folded in as $0."""
    cost, unpriced = row.get("cost_usd"), row.get("unpriced_requests") or 0
    text = "-" if cost is None else f"${cost:,.4f}"
    if unpriced:
        text = "UNPRICED" if cost is None else f"{text} +{unpriced:,} unpriced"
    return text


def _label_cells(row: dict[str, Any], keys: list[str], total: bool) -> list[str]:
    if total:
        return ["TOTAL", *([""] * (len(keys) - 1))] if keys else []
    return [("(unknown)" if k == "model" else "(null)") if row[k] is None else str(row[k])
            for k in keys]


def _rows(data: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    return [*((g, False) for g in data["groups"]), (data["total"], True)]


def _keys(data: dict[str, Any]) -> list[str]:
    return (["window"] if data["window"] else []) + list(data["by"])


def _sampling_lines(data: dict[str, Any]) -> list[str]:
    """Head-sampled logs: the table shows estimates; say so, with the total's errors."""
    sampling = data.get("sampling")
    if not sampling:
        return []
    total = data["total"]
    cost = total.get("cost_usd")
    cost_text = (f", cost ${cost:,.4f} ± ${total['cost_usd_se']:,.4f}"
                 if cost is not None and total.get("cost_usd_se") is not None else "")
    return [
        f"ESTIMATES: {sampling['sampled_records']:,} of {sampling['records']:,} records were "
        f"head-sampled (lowest sample_rate {sampling['min_sample_rate']:g}); counts, tokens, "
        "cost, means and percentiles are weighted by 1/sample_rate",
        f"total requests {total['requests']:,} ± {total['requests_se']:,.0f}{cost_text} "
        f"(± one standard error, sampling unit {sampling['unit']}; JSON has every *_se)",
    ]


def _footer_lines(data: dict[str, Any], failed_gates: bool = True) -> list[str]:
    lines = []
    span = data["span"]
    if span["start"] is not None:
        from genailog.render.units import duration

        lines.append(f"span: {span['start']} .. {span['end']} ({duration(span['seconds'])})")
    prices = data["prices"]
    lines.append(f"prices: {prices['source']} (as of {prices['as_of'] or 'unknown date'})")
    lines += _sampling_lines(data)
    if data.get("quantiles"):
        lines.append(f"percentiles: {data['quantiles']['bound']} "
                     f"({data['quantiles']['library']})")
    for item in data["unpriced_models"]:
        lines.append(
            f"unpriced model: {item['model'] or '(unknown)'} ({item['requests']:,} requests, "
            "cost unknown; " + ("add it with --prices)" if item["model"] else
                                "name it with --model)")
        )
    if data["skipped_records"]:
        lines.append(f"skipped invalid records: {data['skipped_records']:,}")
    lines += _cost_view_lines(data)
    order = data.get("sort")
    if order:
        first = "highest" if order["descending"] else "lowest"
        lines.append(f"sorted by {order['metric']} ({first} first)" + (
            f"; first {len(data['groups']):,} of {order['groups']:,} groups"
            if order["top"] is not None else ""))
    from genailog.render.checks import gate_lines

    # the terminal says a failed gate once, on stderr; markdown keeps it with the table
    lines += [line for g in data["gates"] if failed_gates or g["passed"]
              for line in gate_lines(g)]
    return lines


def _cost_view_lines(data: dict[str, Any]) -> list[str]:
    """--top: what the shown groups add up to; --window: the windows whose cost jumped."""
    lines = []
    top = data.get("top")
    if top:
        share = "-" if top["cost_share"] is None else f"{top['cost_share']:.1%}"
        lines.append(f"top {len(data['groups']):,} of {top['groups']:,} groups by cost: "
                     f"{share} of the total cost ("
                     + ", ".join(f"{_label(g, data['by'])} {_fmt('pct', g, 'cost_share')}"
                                 for g in data["groups"]) + ")")
    for anomaly in data.get("cost_anomalies") or []:
        lines.append(f"cost anomaly: {anomaly['window']} {_label(anomaly, data['by'])} "
                     f"${anomaly['cost_usd']:,.4f} vs median ${anomaly['median_cost_usd']:,.4f}"
                     f" (modified z {anomaly['score']:.1f} > 3.5)")
    return lines


def _label(row: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys) or "all"


def safety_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The safety view as a header and rows of cells (groups, then the total)."""
    safety, keys = data["safety"], _keys(data)
    header = [*(keys or [""]), "requests", "refusals", "content_filter", "moderated",
              *safety["categories"]]
    rows = []
    for row, total in [*((g, False) for g in safety["groups"]), (safety["total"], True)]:
        labels = _label_cells(row, keys, total) if keys else ["all"]
        rows.append([*labels, f"{row['requests']:,}",
                     *(f"{row[n]:,} ({_fmt('pct', row, r)})" for n, r in (
                         ("refusals", "refusal_rate"), ("content_filter", "content_filter_rate"),
                         ("moderated", "moderation_rate"))),
                     *(f"{row['categories'].get(c, 0):,}" for c in safety["categories"])])
    return header, rows


def render_safety_table(data: dict[str, Any]) -> Table:
    """The safety view as a rich table; every user value is escaped."""
    from rich import box
    from rich.table import Table

    from genailog.cli.render import esc

    header, rows = safety_rows(data)
    threshold = data["safety"]["moderation_threshold"]
    table = Table(title=f"safety (rates over records that logged the field; moderation "
                  f"scores >= {threshold:g} count)", title_justify="left", box=box.SIMPLE_HEAD)
    for j, title in enumerate(header):
        widest = max(len(title), *(len(cells[j]) for cells in rows))
        table.add_column(esc(title), justify="left" if j < max(1, len(_keys(data))) else "right",
                         no_wrap=True, min_width=min(widest, 40))
    for cells in rows:
        table.add_row(*(esc(c) for c in cells))
    return table


def render_table(data: dict[str, Any]) -> Table:
    """A rich table; every user value is escaped."""
    from rich import box
    from rich.table import Table

    from genailog.cli.render import esc

    keys = _keys(data)
    rows = [([*_label_cells(row, keys, total), *(_fmt(k, row, m) for m, _, k in _TABLE)], total)
            for row, total in _rows(data)]  # fmt: skip
    table = Table(
        caption="\n".join(esc(line) for line in _footer_lines(data, failed_gates=False)),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for i, key in enumerate(keys):  # group names stay whole; long ones fold
        widest = max(len(cells[i]) for cells, _ in rows)
        table.add_column(esc(key), min_width=max(min(widest, 40), len(key)), overflow="fold")
    sketched = data.get("quantiles")
    for j, (metric, title, _) in enumerate(_TABLE, start=len(keys)):
        if sketched and metric.rsplit("_", 1)[-1] in ("p50", "p90", "p95", "p99"):
            # estimates: the bound beside the figures
            title = f"{title} ±{sketched['relative_accuracy']:.0%}"
        # numbers are never cut: a column is at least as wide as its widest value
        widest = max(len(cells[j]) for cells, _ in rows)
        table.add_column(title, justify="right", no_wrap=True,
                         min_width=max(len(title), widest))  # headers whole too
    for cells, total in rows:
        table.add_row(*(esc(c) for c in cells), style="bold" if total else None)
    return table


#: (metric, column title) drawn as sparklines under a --window table.
_TRENDS = (("requests", "requests"), ("cost_usd", "cost USD"), ("latency_ms_p95", "p95 ms"),
           ("error_rate", "errors"))
#: More windows than this make a sparkline wider than a terminal; then none is drawn.
MAX_SPARK_WINDOWS = 60


def _spark_cell(values: list[float | None], kind: str) -> str:
    from genailog.report.spark import sparkline

    known = [v for v in values if v is not None]
    if not known:
        return "-"
    low, high = (_fmt(kind, {"v": v, "cost_usd": v}, "v") for v in (min(known), max(known)))
    return f"{sparkline(values)} {low}..{high}"


def render_trends(data: dict[str, Any]) -> Table | None:
    """Per group, a sparkline of each trend metric over the windows (None without
    --window, with one window, or with too many to draw)."""
    from rich import box
    from rich.table import Table

    from genailog.cli.render import esc

    if not data["window"]:
        return None
    windows = sorted({g["window"] for g in data["groups"] if g["window"] is not None})
    if not 1 < len(windows) <= MAX_SPARK_WINDOWS:
        return None
    slot = {w: i for i, w in enumerate(windows)}
    keys = list(data["by"])
    series: dict[tuple[str, ...], dict[str, list[float | None]]] = {}
    for group in data["groups"]:
        label = tuple(_label_cells(group, keys, False))
        row = series.setdefault(label, {m: [None] * len(windows) for m, _ in _TRENDS})
        if group["window"] is not None:
            for metric, _ in _TRENDS:
                row[metric][slot[group["window"]]] = group[metric]
    kinds = {m: k for m, _, k in _SHOWN}
    rows = [[*(label or ("all",)), *(_spark_cell(row[m], kinds[m]) for m, _ in _TRENDS)]
            for label, row in series.items()]
    cut = 10 if data["window"].endswith(("d", "w", "mo")) else 16
    table = Table(title=f"trend per {esc(data['window'])}, {esc(windows[0][:cut])} .. "
                  f"{esc(windows[-1][:cut])} (lowest..highest)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for j, title in enumerate([*(keys or [""]), *(t for _, t in _TRENDS)]):
        widest = max(len(title), *(len(cells[j]) for cells in rows))
        table.add_column(esc(title), no_wrap=True, min_width=widest)
    for cells in rows:
        table.add_row(*(esc(c) for c in cells))
    return table


def _md_cell(text: str) -> str:
    from genailog.textsafe import markdown

    return markdown(text)


def render_markdown(data: dict[str, Any]) -> str:
    """A GitHub-flavoured table plus notes, ready for ``$GITHUB_STEP_SUMMARY``."""
    keys = _keys(data)
    header = [*keys, *(title for _, title, _ in _SHOWN)]
    lines = [
        "## genailog summarize",
        "",
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join([" --- "] * len(keys) + [" ---: "] * len(_SHOWN)) + "|",
    ]
    for row, total in _rows(data):
        cells = [_md_cell(c) for c in (*_label_cells(row, keys, total),
                                        *(_fmt(k, row, m) for m, _, k in _SHOWN))]
        if total and keys:
            cells[0] = "**TOTAL**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- {_md_cell(line)}" for line in _footer_lines(data))
    if data.get("safety"):
        header, rows = safety_rows(data)
        lines += ["", "### safety", "", "| " + " | ".join(_md_cell(h) for h in header) + " |",
                  "|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_csv(data: dict[str, Any]) -> str:
    """Every metric, one row per group then the total row (``scope`` says which)."""
    keys = _keys(data)
    metrics = list(data["total"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", *keys, *metrics])
    for row, total in _rows(data):
        labels = [None] * len(keys) if total else [row[k] for k in keys]
        values = [_csv_safe(v) for v in (*labels, *(row[m] for m in metrics))]
        writer.writerow(["total" if total else "group", *values])
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    """Keep spreadsheet formulas inert (the one guard: textsafe.csv_cell)."""
    from genailog.textsafe import csv_cell

    return csv_cell(value) if isinstance(value, str) else ("" if value is None else value)


def parse_sort(sort: str | None, by: list[str], top: int | None) -> tuple[str, bool] | None:
    """``--sort METRIC`` or ``METRIC:asc``/``:desc`` checked before any log is read."""
    from genailog.analysis.summarize import METRICS
    from genailog.errors import UsageError

    if sort is None:
        return None
    metric, _, order = sort.partition(":")
    if metric not in METRICS:
        raise UsageError(f"--sort {metric}: not a metric; valid metrics: {', '.join(METRICS)}")
    if order not in ("", "asc", "desc"):
        raise UsageError(f"--sort {sort}: the order after ':' is asc or desc")
    if top is not None and not by:
        raise UsageError("--top ranks --by groups: give --by (e.g. --by user_id)")
    return metric, order != "asc"


def sort_groups(data: dict[str, Any], sort: tuple[str, bool] | None,
                top: int | None) -> dict[str, Any]:
    """The groups ordered by a metric as numbers (nulls last), the first ``top`` kept."""
    if sort is None:
        return data
    metric, descending = sort
    groups = data["groups"]
    known = sorted((g for g in groups if g.get(metric) is not None),
                   key=lambda g: g[metric], reverse=descending)
    ordered = known + [g for g in groups if g.get(metric) is None]
    if top is not None and top < 1:
        from genailog.errors import UsageError

        raise UsageError(f"--top must be at least 1, not {top}")
    shown = ordered[:top] if top is not None else ordered
    return {**data, "groups": shown,
            "sort": {"metric": metric, "descending": descending, "top": top,
                     "groups": len(groups)}}


def summarize_command(
    paths: Paths,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by these fields (comma-separated or repeated); "
            "any column, your own fields included.",
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option("--window", help="Also bucket by time: 15m, 1h, 1d, 1w, 1mo."),
    ] = None,
    where: Where = None,
    since: Since = None,
    until: Until = None,
    prices: Prices = None,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-if",
            help="Exit 1 when this condition over metric names (docs/expressions.md) "
            "holds for any group or the total, e.g. 'latency_ms_p95 > 2000'. "
            "Repeatable.",
        ),
    ] = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="Output format.")] = (
        SummaryFormat.table
    ),
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
    top: Annotated[
        int | None,
        typer.Option("--top", help="Keep the N costliest --by groups, costliest first, each "
                     "with its share of the total cost (e.g. --by user_id --top 10)."),
    ] = None,
    safety: Annotated[
        bool,
        typer.Option("--safety", help="Add the safety view: refusals, content_filter finish "
                     "reasons, moderation flags per category, per group."),
    ] = False,
    sort: Annotated[
        str | None,
        typer.Option("--sort", help="Order the groups by this metric, highest first "
                     "(METRIC:asc for lowest first); with --top N keep the first N.",
                     show_default=False),
    ] = None,
    allow_empty: AllowEmpty = False,
    min_records: MinRecords = 0,
    quantiles: Annotated[
        QuantileMode,
        typer.Option("--quantiles", help="Percentiles from every value (exact) or from "
                     "DDSketch buckets within 1% (sketch: memory flat in the number of "
                     "records, and partials that merge)."),
    ] = QuantileMode.exact,
    engine: Engine = None,
    partial_out: Annotated[
        Path | None,
        typer.Option("--partial-out", help="Also write the mergeable partial result to this "
                     "JSON file (combine files with `genailog merge`).", show_default=False),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="Reference logs (e.g. main's artifact) or their "
                     "summary JSON: show each group's change from them; gates may name "
                     "reference.METRIC, e.g. 'cost_per_request > 1.1 * "
                     "reference.cost_per_request'. Repeatable.", show_default=False),
    ] = None,
) -> None:
    """Cost, latency, token and quality summary, per group and in total, with CI gates.

    Example: genailog summarize logs/ --by model --window 1d --fail-if "latency_ms_p95 > 2000"
    """
    if engine is None:  # the file's checks run while the rest of the command loads
        from genailog.ingest.parquet import read_ahead

        read_ahead(paths, input_format)
    from genailog.api import summarize
    from genailog.config import config_default, config_gates

    if reference:  # PR against main: deltas per group (genailog.analysis.reference)
        from genailog.cli.summarize_reference import summarize_reference_command

        if summarize_reference_command(
            paths, reference, fmt.value, on_invalid=on_invalid, input_format=input_format,
            by=split_names(by), window=window, where=where, since=since, until=until,
            prices=config_default("summarize", "prices", prices, None),
            fail_if=fail_if or config_gates("summarize"), top=top, safety=safety,
            allow_empty=config_default("summarize", "allow_empty", allow_empty, False),
            min_records=config_default("summarize", "min_records", min_records, 0),
            quantiles=quantiles.value, refused={"--sort": sort is not None, "--engine":
                                                engine is not None,
                                                "--partial-out": partial_out is not None}):
            raise typer.Exit(1)
        return
    order = parse_sort(sort, split_names(by), top)
    if engine is not None:  # per file on a cluster, merged: the same answer
        from genailog.cli.engine_run import summarize_on_engine

        result = summarize_on_engine(
            engine, paths, safety=safety, on_invalid=on_invalid, input_format=input_format,
            fail_if=fail_if or config_gates("summarize"), top=None if sort else top,
            allow_empty=config_default("summarize", "allow_empty", allow_empty, False),
            min_records=config_default("summarize", "min_records", min_records, 0),
            by=split_names(by), window=window, where=where, since=since, until=until,
            prices=config_default("summarize", "prices", prices, None),
            quantiles=quantiles.value)
    else:
        result = summarize(
            paths,
            by=split_names(by),
            window=window,
            where=where,
            since=since,
            until=until,
            prices=config_default("summarize", "prices", prices, None),
            fail_if=fail_if or config_gates("summarize"),
            on_invalid=on_invalid,
            input_format=input_format,
            top=None if sort else top,
            safety=safety,
            allow_empty=config_default("summarize", "allow_empty", allow_empty, False),
            min_records=config_default("summarize", "min_records", min_records, 0),
            quantiles=quantiles.value,
        )
    if partial_out is not None and result.partial is not None:
        result.partial.write(partial_out)
    show_summary(result, fmt.value, order, top if order else None)


def show_summary(result: SummaryResult, fmt: str, order: tuple[str, bool] | None = None,
                 top: int | None = None) -> None:
    """Render a summary (also ``genailog merge``'s), say failed gates, exit 1 on them."""
    from genailog.cli import render
    from genailog.cli.render import Renderers, emit, esc

    data = sort_groups(result.to_dict(), order, top)
    emit("summarize", data, Renderers(lambda: _print_tables(data), render_markdown,
                                      render_csv), fmt)
    for gate in data["gates"]:
        if not gate["passed"]:
            from genailog.render.checks import gate_lines

            for line in gate_lines(gate):
                render.stderr.print(f"[bold red]{esc(line)}[/]")
    if result.failed:
        raise typer.Exit(1)


def _print_tables(data: dict[str, Any]) -> None:
    from genailog.cli.render import print_wide, stdout

    tables = [render_table(data)]
    if stdout.encoding.lower().startswith("utf"):  # block characters need UTF-8
        trends = render_trends(data)
        if trends is not None:
            tables.append(trends)
    if data.get("safety"):
        tables.append(render_safety_table(data))
    print_wide(*tables)  # wider than the terminal rather than cut: numbers stay whole
