"""``genailog traces``: read spans, call ``analyze_traces``, render, exit 1 on a failed gate.

Rendering is pure functions of the result's dict; polars, scipy and the analysis package
are imported inside the command so ``genailog --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from genailog.cli.options import Format, Paths, ReportFormat

_MAX_ROWS = 30


def _ms(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _p(value: float) -> str:
    return f"{value:.1e}" if value < 1e-3 else f"{value:.4f}"


def _headline(data: dict[str, Any]) -> list[str]:
    s = data["summary"]
    lines = [f"{s['traces']:,} traces, {s['spans']:,} spans, {s['components']} components; "
             f"end-to-end p50 {_ms(s['p50_ms'])} ms, p95 {_ms(s['p95_ms'])} ms, "
             f"p99 {_ms(s['p99_ms'])} ms; {s['error_traces']} traces with errors "
             f"({_pct(s['error_rate'])}); root self time {_pct(s['root_self_share'])}"]
    if s["llm_spans"]:
        cost = "-" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}"
        tokens = ("-" if s["input_tokens"] is None else f"{s['input_tokens']:,}") + " in / " + (
            "-" if s["output_tokens"] is None else f"{s['output_tokens']:,}") + " out"
        lines.append(f"LLM spans {s['llm_spans']:,}: tokens {tokens}, cost {cost}; "
                     f"{s['repeated_calls']} repeated call(s) in "
                     f"{s['traces_with_repeats']} trace(s)")
    lines += [f"skipped {item['spans']:,} {item['side']} span(s): {item['reason']}"
              for item in data["skipped"]]
    return lines


def _slow_lines(data: dict[str, Any]) -> list[str]:
    info = data["slow_traces"]
    if not info["judged"]:
        return [f"slow traces: not judged ({info['reason']})"]
    head = (f"slowest {info['slow']} traces (>= {_ms(info['threshold_ms'])} ms, mean "
            f"{_ms(info['slow_mean_ms'])} ms) vs the other {info['traces'] - info['slow']} "
            f"(mean {_ms(info['rest_mean_ms'])} ms):")
    if not data["slow_trace_causes"]:
        return [head + " no component explains the difference"]
    return [head] + [f"  {i}. {c['component']}: {_pct(c['share_of_excess'])} of the excess "
                     f"time ({_ms(c['rest_mean_ms'])} -> {_ms(c['slow_mean_ms'])} ms on the "
                     f"critical path, p={_p(c['p_value'])})"
                     for i, c in enumerate(data["slow_trace_causes"], 1)]


def _changed_lines(data: dict[str, Any]) -> list[str]:
    ref = data["reference"]
    if ref is None:
        return []
    where = f"before {ref['until']}" if ref["until"] else "--reference"
    head = (f"changed against the reference ({where}: {ref['traces']:,} traces; "
            f"{ref['tested']} components tested at p < {_p(ref['alpha_per_test'])}):")
    if not data["changed_components"]:
        return [head + " none"]
    return [head] + [f"  {c['component']}: {c['direction']}, self p95 "
                     f"{_ms(c['reference_self_p95_ms'])} -> {_ms(c['current_self_p95_ms'])} "
                     f"ms, p95 {_ms(c['reference_p95_ms'])} -> {_ms(c['current_p95_ms'])} ms "
                     f"(p={_p(c['p_value'])})" for c in data["changed_components"]]


def _other_lines(data: dict[str, Any]) -> list[str]:
    lines = [f"errors start in {o['component']}: {o['spans']} span(s) in {o['traces']} "
             f"trace(s)" + (f", e.g. {o['example_message']}" if o["example_message"] else "")
             for o in data["error_origins"]]
    repeats = data["repeated_calls"]
    lines += [f"repeated LLM call: {r['calls']}x {r['prompt']} in trace {r['trace_id']}"
              for r in repeats[:10]]
    if len(repeats) > 10:
        lines.append(f"... and {len(repeats) - 10} more repeated prompts (see --format json)")
    for gate in data["gates"]:
        status = "passed" if gate["passed"] else "FAILED for " + "; ".join(
            f["label"] for f in gate["failed"])
        lines.append(f"gate {gate['expression']}: {status}")
    return lines


def _path(trace: dict[str, Any]) -> str:
    steps = [f"{s['component']} {_ms(s['ms'])}" for s in trace["critical_path"]
             if s["ms"] >= 0.01 * trace["duration_ms"]]
    return " > ".join(steps) or "-"


def _component_cells(c: dict[str, Any]) -> list[str]:
    return [c["component"], f"{c['spans']:,}", _ms(c["p50_ms"]), _ms(c["p95_ms"]),
            _ms(c["p99_ms"]), _pct(c["self_ms"] / c["total_ms"] if c["total_ms"] else None),
            _pct(c["share_of_trace_time"]), _pct(c["critical_path_share"]),
            _pct(c["error_rate"]), str(c["error_origins"])]


_COMPONENT_TITLES = ("component", "spans", "p50 ms", "p95 ms", "p99 ms", "self", "share",
                     "critical", "errors", "starts")
_COMPONENT_NOTE = ("self: self time / time; share: of end-to-end time (self time); critical: "
                   "of the critical path; errors: error rate; starts: errors starting here")


def _tree_lines(trace: dict[str, Any]) -> list[str]:
    lines = [f"trace {trace['trace_id']} at {trace['start']}: {_ms(trace['duration_ms'])} ms"]
    for span in trace["spans"]:
        marks = []
        if span["critical_ms"] > 0:
            marks.append(f"critical {_ms(span['critical_ms'])} ms")
        if span["status"] == "error":
            marks.append("ERROR STARTS HERE" if span["error_origin"] else "error")
        if span["input_tokens"] is not None or span["output_tokens"] is not None:
            marks.append(f"tokens {span['input_tokens'] or 0}/{span['output_tokens'] or 0}")
        lines.append(f"{'  ' * (span['depth'] + 1)}{span['name']} [{span['kind']}] "
                     f"+{_ms(span['start_offset_ms'])} ms, {_ms(span['duration_ms'])} ms "
                     f"(self {_ms(span['self_ms'])})" + (f"; {', '.join(marks)}" if marks
                                                         else ""))
    return lines


def render_table(data: dict[str, Any]) -> list[Any]:
    """Rich renderables: headline, components, causes, changes, slowest traces."""
    from rich.table import Table

    from genailog.cli.render import esc

    if data["trace"] is not None:
        return [esc(line) for line in _tree_lines(data["trace"])]
    out: list[Any] = [esc(line) for line in _headline(data)]
    table = Table(title="components (root spans are the requests, not components)",
                  caption=_COMPONENT_NOTE, caption_justify="left")
    for title in _COMPONENT_TITLES:
        table.add_column(title, justify="left" if title == "component" else "right",
                         no_wrap=title == "component")
    for component in data["components"][:_MAX_ROWS]:
        table.add_row(*(esc(cell) for cell in _component_cells(component)))
    out.append(table)
    if len(data["components"]) > _MAX_ROWS:
        out.append(f"... {len(data['components']) - _MAX_ROWS} more (see --format json)")
    out += [esc(line) for line in _slow_lines(data) + _changed_lines(data) + _other_lines(data)]
    if data["traces"]:
        slowest = Table(title="slowest traces and their critical path")
        for title in ("trace", "ms", "errors", "critical path (>= 1% of the trace)"):
            slowest.add_column(title, justify="right" if title in ("ms", "errors") else "left",
                               no_wrap=title == "trace")
        for trace in data["traces"]:
            slowest.add_row(esc(trace["trace_id"]), _ms(trace["duration_ms"]),
                            str(trace["errors"]), esc(_path(trace)))
        out.append(slowest)
    return out


def render_markdown(data: dict[str, Any]) -> str:
    """A GitHub-flavoured report with the same content as the table."""
    from genailog.textsafe import markdown as md

    if data["trace"] is not None:
        from genailog.textsafe import visible

        tree = (visible(line).replace("`", "'") for line in _tree_lines(data["trace"]))
        return "```\n" + "\n".join(tree) + "\n```\n"
    lines = ["## genailog traces", "", *(f"- {md(line)}" for line in _headline(data)), "",
             "| " + " | ".join(_COMPONENT_TITLES) + " |",
             "| --- |" + " ---: |" * (len(_COMPONENT_TITLES) - 1)]
    lines += ["| " + " | ".join(md(cell) for cell in _component_cells(c)) + " |"
              for c in data["components"]]
    lines += ["", md(_COMPONENT_NOTE)]
    lines += ["", "### What makes slow traces slow", "",
              *(md(line) for line in _slow_lines(data))]
    if data["reference"] is not None:
        lines += ["", "### What changed", "", *(md(line) for line in _changed_lines(data))]
    other = _other_lines(data)
    if other:
        lines += ["", "### Errors, repeated calls, gates", "", *(f"- {md(x)}" for x in other)]
    if data["traces"]:
        lines += ["", "### Slowest traces", "", "| trace | ms | errors | critical path |",
                  "| --- | ---: | ---: | --- |"]
        lines += [f"| {md(t['trace_id'])} | {_ms(t['duration_ms'])} | {t['errors']} | "
                  f"{md(_path(t))} |" for t in data["traces"]]
    return "\n".join(lines) + "\n"


def traces_command(
    paths: Paths,
    reference: Annotated[list[str] | None, typer.Option(
        "--reference", help="Reference span files (files, directories, globs): say which "
        "components changed against them. Repeatable.")] = None,
    reference_until: Annotated[str | None, typer.Option(
        "--reference-until", help="Traces starting before this date/datetime are the "
        "reference; the later ones are analysed and compared with them.")] = None,
    trace: Annotated[str | None, typer.Option(
        "--trace", help="Print one trace (id or unique prefix) as a tree with timings.")
    ] = None,
    fail_if: Annotated[list[str] | None, typer.Option(
        "--fail-if", help="Exit 1 when true, e.g. \"component_p95_ms{name='rerank'} > 500\" "
        "or \"trace_p95_ms > 3000\" (docs/traces.md lists the metrics). Repeatable.")] = None,
    slow_quantile: Annotated[float, typer.Option(
        "--slow-quantile", help="Traces above this quantile of end-to-end time are the "
        "slow ones.")] = 0.9,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Chance of naming any component wrongly, split across the "
        "components tested.")] = 0.01,
    min_change: Annotated[float, typer.Option(
        "--min-change", help="A changed component's self-time median or p95 must move by "
        "at least this fraction.")] = 0.1,
    min_spans: Annotated[int, typer.Option(
        "--min-spans", help="Spans a component needs on each side to be compared.")] = 20,
    min_traces: Annotated[int, typer.Option(
        "--min-traces", help="Traces needed to judge what makes slow traces slow.")] = 20,
    top: Annotated[int, typer.Option(
        "--top", help="Slowest traces listed with their critical path.")] = 10,
    since: Annotated[str | None, typer.Option(
        "--since", help="Keep the traces that start at or after this date/datetime.")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Keep the traces that start before this date/datetime.")] = None,
    on_invalid: Annotated[str, typer.Option(
        "--on-invalid", help="An unreadable span line: fail, or skip (counted).")] = "fail",
    fmt: Format = ReportFormat.table,
) -> None:
    """Where the time of each request goes: per-component latency, self time, critical
    path, errors, what makes slow traces slow, what changed. Exit 1 on a failed gate.

    Example: genailog traces spans/ --reference-until 2026-03-04 --fail-if
    "component_p95_ms{name='rerank'} > 500"
    """
    from genailog.analysis.traces import TracesOptions, analyze_traces, check_gates
    from genailog.cli.render import Renderers, emit, stderr, warn
    from genailog.config import config_gates
    from genailog.errors import UsageError
    from genailog.ingest.spans import read_spans
    from genailog.query.filters import parse_time

    if on_invalid not in ("fail", "skip"):
        raise UsageError(f"--on-invalid must be fail or skip, not {on_invalid!r}")
    if reference and reference_until:
        raise UsageError("use either --reference or --reference-until, not both")
    options = TracesOptions(
        slow_quantile=slow_quantile, alpha=alpha, min_traces=min_traces, min_spans=min_spans,
        min_change=min_change, top=top, trace_id=trace,
        gates=tuple(fail_if or config_gates("traces")),
        reference_until=parse_time(reference_until, "--reference-until")
        if reference_until else None,
        since=parse_time(since, "--since") if since else None,
        until=parse_time(until, "--until") if until else None)
    check_gates(options.gates)
    spans = _read(read_spans, paths, on_invalid, warn)
    ref = _read(read_spans, reference, on_invalid, warn) if reference else None
    result = analyze_traces(spans, reference=ref, options=options)
    data = result.to_dict()
    emit("traces", data, Renderers(lambda: _print_tables(data), render_markdown), fmt.value)
    if result.failed:
        from genailog.cli.render import esc
        from genailog.render.checks import gate_lines

        for gate in data["gates"]:
            for line in gate_lines(gate) if not gate["passed"] else []:
                stderr.print(f"[bold red]{esc(line)}[/]")
        raise typer.Exit(1)


def _print_tables(data: dict[str, Any]) -> None:
    from genailog.cli.render import stdout

    for item in render_table(data):
        stdout.print(item)


def _read(read: Any, paths: list[str], on_invalid: str, warn: Any) -> Any:
    """Spans and the LLM calls of the same files; a bad line fails or is counted."""
    spans = read(paths, with_calls=True)
    if spans.invalid:
        if on_invalid == "fail":
            first = spans.invalid[0]
            raise type(first)(first.file, first.line, first.detail,
                              hint="fix the line, or pass --on-invalid skip")
        warn(f"skipped {len(spans.invalid)} unreadable span line(s); first: "
             f"{spans.invalid[0]}")
    return spans
