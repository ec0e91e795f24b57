"""``genailog summarize PATHS --reference MAIN``: read both, call the library, render deltas.

The deltas come from :mod:`genailog.analysis.reference`; this module only reads, calls and
formats them (pure functions of the result's dict), for ``genailog.cli.summarize``.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

#: (metric, column title, value format) of the table and markdown; json and csv have all.
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("requests", "requests", "int"),
    ("error_rate", "errors", "pct"),
    ("cost_per_1k_requests", "USD/1k req", "usd"),
    ("input_tokens_per_request", "in tok/req", "num"),
    ("output_tokens_per_request", "out tok/req", "num"),
    ("latency_ms_p50", "p50 ms", "num"),
    ("latency_ms_p95", "p95 ms", "num"),
    ("feedback_mean", "feedback", "dec"),
)
_VALUE = {"int": "{:,.0f}", "pct": "{:.1%}", "usd": "${:,.4f}", "num": "{:,.0f}",
          "dec": "{:.2f}"}


def _value(kind: str, value: Any) -> str:
    return "-" if value is None else _VALUE[kind].format(value)


def change(kind: str, cell: dict[str, Any]) -> str:
    """How the current value moved from the reference's: ``+4.1%``, ``+1.2 pp`` for a
    rate, ``new`` when the reference has no value, ``=`` when equal."""
    now, then, delta = cell["current"], cell["reference"], cell["delta"]
    if now is None:
        return "-"
    if then is None:
        return "new"
    if delta == 0:
        return "="
    if kind == "pct":
        return f"{delta * 100:+.1f} pp"
    if cell["delta_pct"] is None:  # from zero
        return "+" + _value(kind, delta) if delta > 0 else _value(kind, delta)
    return f"{cell['delta_pct']:+.1f}%"


def _cell(kind: str, metrics: dict[str, Any], name: str) -> str:
    cell = metrics.get(name)
    if cell is None or cell["current"] is None:
        return "-"
    return f"{_value(kind, cell['current'])} ({change(kind, cell)})"


def _keys(data: dict[str, Any]) -> list[str]:
    return list(data["by"])


def rows(data: dict[str, Any]) -> list[tuple[list[str], bool]]:
    """Per group then the total: the group's labels and one cell per shown metric."""
    keys, ref = _keys(data), data["reference"]
    out = []
    for group in ref["groups"]:
        labels = ["(null)" if group["group"][k] is None else str(group["group"][k])
                  for k in keys]
        out.append(([*labels, *(_cell(kind, group["metrics"], m) for m, _, kind in SHOWN)],
                    False))
    total = ["TOTAL", *[""] * (len(keys) - 1)] if keys else []
    out.append(([*total, *(_cell(kind, ref["total"], m) for m, _, kind in SHOWN)], True))
    return out


def notes(data: dict[str, Any], failed_gates: bool = True) -> list[str]:
    """What the reference was, groups it lacks or only it has, and the gates."""
    from genailog.render.checks import gate_lines

    ref = data["reference"]
    what = "its summary JSON" if ref["source"] == "summary" else "its logs"
    records = "-" if ref["records"] is None else f"{ref['records']:,}"
    lines = [f"cells: current value (change from the reference); reference read from {what}:"
             f" {records} records"
             + (f", {ref['span']['start']} .. {ref['span']['end']}" if ref["span"]["start"]
                else "")]
    new = [g["label"] for g in ref["groups"] if not g["in_reference"]]
    if new:
        lines.append(f"not in the reference (new): {', '.join(new)}")
    if ref["only_reference"]:
        lines.append(f"only in the reference (gone): {', '.join(ref['only_reference'])}")
    theirs, ours = ref.get("prices") or {}, data["prices"]
    if theirs and (theirs.get("source"), theirs.get("as_of")) != (ours["source"],
                                                                  ours["as_of"]):
        lines.append(f"prices differ: the reference was priced by {theirs.get('source')} (as "
                     f"of {theirs.get('as_of') or 'unknown date'}), this run by "
                     f"{ours['source']} (as of {ours['as_of'] or 'unknown date'}); cost "
                     "deltas include the price change")
    if data["skipped_records"] or ref["skipped_records"]:
        lines.append(f"skipped invalid records: {data['skipped_records']:,} current, "
                     f"{ref['skipped_records']:,} reference")
    lines += [line for g in data["gates"] if failed_gates or g["passed"]
              for line in gate_lines(g)]
    return lines


def render_table(data: dict[str, Any]) -> Table:
    """A rich table of current values and their changes; every user value is escaped."""
    from rich import box
    from rich.table import Table

    from genailog.cli.render import esc

    keys, body = _keys(data), rows(data)
    table = Table(caption="\n".join(esc(line) for line in notes(data, failed_gates=False)),
                  caption_justify="left", box=box.SIMPLE_HEAD)
    titles = [*keys, *(title for _, title, _ in SHOWN)]
    for j, title in enumerate(titles):
        widest = max(len(title), *(len(cells[j]) for cells, _ in body))
        table.add_column(esc(title), justify="left" if j < len(keys) else "right",
                         no_wrap=True, min_width=widest)
    for cells, total in body:
        table.add_row(*(esc(c) for c in cells), style="bold" if total else None)
    return table


def print_table(data: dict[str, Any]) -> None:
    """The table at its natural width: a number is never cut, even in a narrow CI log."""
    from genailog.cli.render import print_wide

    print_wide(render_table(data))


def render_markdown(data: dict[str, Any]) -> str:
    """GitHub-flavoured markdown for ``$GITHUB_STEP_SUMMARY``."""
    from genailog.textsafe import markdown

    keys = _keys(data)
    titles = [*keys, *(title for _, title, _ in SHOWN)]
    lines = ["## genailog summarize: current vs reference", "",
             "| " + " | ".join(markdown(t) for t in titles) + " |",
             "|" + "|".join([" --- "] * len(keys) + [" ---: "] * len(SHOWN)) + "|"]
    for cells, total in rows(data):
        shown = [markdown(c) for c in cells]
        if total and keys:
            shown[0] = "**TOTAL**"
        lines.append("| " + " | ".join(shown) + " |")
    lines += ["", *(f"- {markdown(line)}" for line in notes(data))]
    return "\n".join(lines) + "\n"


def render_csv(data: dict[str, Any]) -> str:
    """One row per group (then the total) and metric: current, reference, delta, delta_pct."""
    from genailog.textsafe import csv_cell

    keys, ref = _keys(data), data["reference"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", *keys, "metric", "current", "reference", "delta", "delta_pct"])
    scoped = [("group", [g["group"][k] for k in keys], g["metrics"]) for g in ref["groups"]]
    scoped.append(("total", [None] * len(keys), ref["total"]))
    for scope, labels, metrics in scoped:
        for name, cell in metrics.items():
            values = [*labels, name, cell["current"], cell["reference"], cell["delta"],
                      cell["delta_pct"]]
            writer.writerow([scope, *("" if v is None else csv_cell(v) if isinstance(v, str)
                                      else v for v in values)])
    return out.getvalue()


def summarize_reference_command(paths: list[str], reference: list[str], fmt: str, *,
                                on_invalid: str, input_format: str,
                                refused: dict[str, bool] | None = None,
                                **options: Any) -> bool:
    """Read both sides, compare, emit every requested output; True when a gate failed.
    ``refused``: options given that do not combine with ``--reference`` (refused first)."""
    from genailog.errors import UsageError

    given = [name for name, on in (refused or {}).items() if on]
    if given:
        raise UsageError(f"{', '.join(given)} does not combine with --reference (the "
                         "comparison keeps the groups in --by order and runs here)")
    from genailog.analysis.reference import (
        check_one_stdin,
        check_reference_options,
        load_reference,
        summarize_against,
    )
    from genailog.cli.render import Renderers, emit, esc, stderr
    from genailog.ingest import read_logs
    from genailog.query.prune import partition_prune
    from genailog.render.checks import gate_lines

    check_one_stdin(paths, reference)
    check_reference_options(by=options.get("by", ()), window=options.get("window"),
                            fail_if=options.get("fail_if", ()))
    # the filters apply to both sides: partitions they exclude are skipped unopened on both
    prune = partition_prune(options.get("where"), options.get("since"), options.get("until"))
    theirs = load_reference(reference) or read_logs(
        reference, on_invalid=on_invalid, input_format=input_format, prune=prune)
    ours = read_logs(paths, on_invalid=on_invalid, input_format=input_format, prune=prune)
    result = summarize_against(ours, theirs, **options)
    data = result.to_dict()
    emit("summarize", data, Renderers(lambda: print_table(data), render_markdown, render_csv),
         fmt)
    for gate in data["gates"]:
        for line in gate_lines(gate) if not gate["passed"] else []:
            stderr.print(f"[bold red]{esc(line)}[/]")
    return result.failed
