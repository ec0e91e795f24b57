"""``genailog diff-prompts``: parse options, read logs, call the library, render, gate.

Renderers are pure functions of the result's dict (no statistics here); polars and scipy
are imported only inside the command so ``genailog --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from genailog.cli.options import (
    Engine,
    Format,
    InputFormat,
    OnInvalid,
    PartialOut,
    Paths,
    ReportFormat,
    Seed,
    Since,
    Until,
    Where,
    split_names,
)

if TYPE_CHECKING:
    from rich.table import Table

    from genailog.analysis.compare import DiffResult

_HEADERS = ("metric", "baseline", "candidate", "delta", "CI", "p", "p adj", "test",
            "n base/cand", "result")  # fmt: skip
_NUMERIC_COLUMNS = range(1, 7)
_SHORT_TESTS = {"mann-whitney-u": "mann-whitney", "wilcoxon-signed-rank": "wilcoxon",
                "paired-bootstrap": "pair-bootstrap"}


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"


def _signed(value: float | None, rate: bool) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f} pp" if rate else ("+" if value > 0 else "") + _num(value)


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _result(row: dict[str, Any]) -> str:
    if row["regression"]:
        return "REGRESSION"
    if row["direction"] == "worse":
        return f"worse (< min effect {row['min_effect']})"
    return str(row["direction"])


def _cells(row: dict[str, Any]) -> list[str]:
    rate = row["statistic"] == "rate"
    value = (lambda v: "-" if v is None else f"{v:.2%}") if rate else _num
    ci = ("-" if row["ci_low"] is None
          else f"[{_signed(row['ci_low'], rate)}, {_signed(row['ci_high'], rate)}]")
    pct = "" if row["delta_pct"] is None else f" ({row['delta_pct']:+.1f}%)"
    test = row["test"] or "-"
    label = row["metric"] if rate else f"{row['metric']} {row['statistic']}"
    return [label, value(row["baseline"]),
            value(row["candidate"]), _signed(row["delta"], rate) + pct, ci, _p(row["p_value"]),
            _p(row["p_adjusted"]), _SHORT_TESTS.get(test, test),
            f"{row['n_baseline']:,}/{row['n_candidate']:,}", _result(row)]


def _notes(data: dict[str, Any]) -> list[str]:
    mode = f"paired on {data['pair_on']} ({data['n_matched']:,} matched)" if data["paired"] \
        else "unpaired"
    sides = data.get("reference")
    picked = sides is None or sides["baseline_version"] or sides["candidate_version"]
    what = f"{data['version_field']}: " if picked else ""
    lines = [
        f"{what}{data['baseline']} ({data['n_baseline']:,} records) -> "
        f"{data['candidate']} ({data['n_candidate']:,} records), {mode}",
        f"alpha {data['alpha']:g}, {data['correction']} correction, CI {data['confidence']:.0%}, "
        f"{data['resamples']:,} bootstrap resamples, seed {data['seed']}",
    ]
    lines += [f"{r['metric']} {r['statistic']}: {r['note']}" for r in data["metrics"]
              if r["note"]]
    if data["skipped_records"]:
        lines.append(f"skipped invalid records: {data['skipped_records']:,}")
    changes = data["paired_changes"]
    if changes:
        lines.append(f"responses changed: {changes['responses_changed']:,} of "
                     f"{changes['responses_compared']:,} compared; cases worse on a quality "
                     f"metric: {changes['cases_worse']:,}")
    lines.append(f"verdict: {data['verdict']}")
    return lines


def render_table(data: dict[str, Any]) -> Table:
    """A rich table, regressions in red; every user value is escaped. Cells never wrap."""
    from rich.table import Table

    from genailog.cli.render import esc

    table = Table(caption="\n".join(esc(line) for line in _notes(data)),
                  caption_justify="left")
    for i, header in enumerate(_HEADERS):
        table.add_column(header, justify="right" if i in _NUMERIC_COLUMNS else "left",
                         no_wrap=True)
    for row in data["metrics"]:
        style = "bold red" if row["regression"] else (
            "green" if row["direction"] == "better" else None)
        table.add_row(*(esc(c) for c in _cells(row)), style=style)
    return table


def _md(text: object) -> str:
    """Table-cell-safe markdown text: HTML, links, emphasis and pipes escaped, one line."""
    from genailog.textsafe import markdown

    return markdown(text)


def _md_examples(changes: dict[str, Any]) -> list[str]:
    lines = ["", "### Cases that got worse", ""] if changes["examples"] else []
    for case in changes["examples"]:
        lines.append(f"- **{_md(case['key'])}**: {_md('; '.join(case['worse']))}")
        for label, key in (("prompt", "prompt"), ("baseline", "baseline_response"),
                           ("candidate", "candidate_response")):
            if case[key] is not None:
                lines.append(f"  - {label}: {_md(case[key])}")
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    """GitHub-flavoured markdown for ``$GITHUB_STEP_SUMMARY``."""
    icon = {"regression": "❌", "no regression": "✅"}.get(data["verdict"], "⚠️")
    lines = [f"## genailog diff-prompts: {_md(data['baseline'])} → {_md(data['candidate'])}",
             "", f"{icon} **{_md(data['verdict'])}**", "",
             "| " + " | ".join(_HEADERS) + " |",
             "|" + "|".join(" ---: " if i in _NUMERIC_COLUMNS else " --- "
                            for i in range(len(_HEADERS)))
             + "|"]
    for row in data["metrics"]:
        cells = [_md(c) for c in _cells(row)]
        if row["regression"]:
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {_md(line)}" for line in _notes(data)]
    if data["paired_changes"]:
        lines += _md_examples(data["paired_changes"])
    return "\n".join(lines) + "\n"


def _print_examples(changes: dict[str, Any]) -> None:
    from genailog.cli.render import esc, stdout

    for case in changes["examples"]:
        stdout.print(f"[bold]{esc(case['key'])}[/] got worse: {esc('; '.join(case['worse']))}")
        for label, key in (("baseline", "baseline_response"), ("candidate", "candidate_response")):
            if case[key] is not None:
                stdout.print(f"  {label}: {esc(case[key])}")


def diff_prompts_command(
    paths: Paths,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="The version to compare against (with --reference: the version "
        "kept in the reference logs; default all).")] = None,
    candidate: Annotated[str | None, typer.Option(
        "--candidate", help="The new version (with --reference: the version kept in "
        "PATHS; default all).")] = None,
    reference: Annotated[list[str] | None, typer.Option(
        "--reference", help="Reference logs (files, directories, globs), e.g. main's "
        "artifact: PATHS are compared with them, no version field needed. Repeatable.",
    )] = None,
    version_field: Annotated[str, typer.Option(
        "--version-field", help="Field holding the version (any field, e.g. model).",
    )] = "prompt_version",
    metrics: Annotated[list[str] | None, typer.Option(
        "--metrics", help="Metrics to compare (comma-separated or repeated): latency_ms, "
        "ttft_ms, cost_usd, input_tokens, output_tokens, error_rate, refusal_rate, "
        "hallucination_rate, feedback_rating, eval_scores.NAME, or any numeric/boolean "
        "field as FIELD, FIELD:higher or FIELD:lower. Default: all built-ins with data.",
    )] = None,
    pair_on: Annotated[str | None, typer.Option(
        "--pair-on", help="Field identifying the same test case under both versions "
        "(e.g. case_id): paired tests on matched cases only.",
    )] = None,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Family-wise significance level (after correction).")] = 0.05,
    min_effect: Annotated[list[str] | None, typer.Option(
        "--min-effect", help="Smallest change that counts as a regression, METRIC=PCT% "
        "(relative) or METRIC=VALUE (absolute). Default 5% for every metric. Repeatable.",
    )] = None,
    correction: Annotated[str, typer.Option(
        "--correction", help="Multiple-testing correction: holm, bonferroni or none.")] = "holm",
    resamples: Annotated[int, typer.Option(
        "--resamples", help="Bootstrap resamples per confidence interval.")] = 2000,
    examples: Annotated[int, typer.Option(
        "--examples", help="Paired mode: how many worsened cases to show.")] = 3,
    where: Where = None,
    since: Since = None,
    until: Until = None,
    fmt: Format = ReportFormat.table,
    seed: Seed = 0,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
    fail_on_insufficient: Annotated[bool, typer.Option(
        "--fail-on-insufficient", help="Exit 1 when a metric has too little data to judge "
        "(by default it is reported and skipped), so an empty or thin PR artifact cannot "
        "pass.")] = False,
    engine: Engine = None,
    partial_out: PartialOut = None,
) -> None:
    """Is the candidate prompt version worse than the baseline? Exit 1 on a regression.

    Example: genailog diff-prompts logs/ --baseline v3 --candidate v4 --min-effect latency_ms=10%

    PR against main: genailog diff-prompts pr-logs/ --reference main-logs/
    """
    from genailog.analysis.compare import DiffOptions, check_sides, parse_min_effect
    from genailog.analysis.reference import check_one_stdin
    from genailog.api import diff_prompts
    from genailog.config import config_default
    from genailog.query.filters import check_where

    options = DiffOptions(
        version_field=version_field, metrics=split_names(metrics) or None, pair_on=pair_on,
        alpha=config_default("diff-prompts", "alpha", alpha, 0.05),
        min_effect=dict(parse_min_effect(m) for m in min_effect
                        or config_default("diff-prompts", "min_effect", [], [])),
        correction=correction,
        seed=seed, resamples=resamples, examples=examples, where=where, since=since,
        until=until,
    )
    check_where(where)  # before any log is opened
    check_sides(baseline, candidate, reference=bool(reference))
    check_one_stdin(paths, reference or [])
    if partial_out is not None:  # this part's partial only (genailog merge compares)
        from genailog.cli.engine_run import write_diff_partial

        write_diff_partial(partial_out, paths, baseline, candidate, options,
                           reference=reference, on_invalid=on_invalid,
                           input_format=input_format, engine=engine)
        return
    if engine is not None:  # per file on a cluster, merged: the same answer
        from genailog.cli.engine_run import diff_on_engine

        result = diff_on_engine(engine, paths, baseline, candidate, options,
                                reference=reference, on_invalid=on_invalid,
                                input_format=input_format)
    else:  # the facade reads both sides, skipping partitions the filters exclude
        result = diff_prompts(paths, baseline, candidate, options, reference=reference or None,
                              on_invalid=on_invalid, input_format=input_format)
    strict = config_default("diff-prompts", "fail_on_insufficient", fail_on_insufficient, False)
    show_diff(result, fmt.value, strict)


def show_diff(result: DiffResult, fmt: str, strict: bool = False) -> None:
    """Render a comparison (also ``genailog merge``'s); exit 1 on a regression, and with
    ``strict`` on a metric left unjudged."""
    from genailog.cli.render import Renderers, emit, esc, stderr
    from genailog.render.checks import diff_checks

    data = result.to_dict()
    emit("diff-prompts", data, Renderers(lambda: _print_all(data), render_markdown,
                                         checks=lambda d: list(diff_checks(d, strict))),
         fmt)
    if result.regressions:
        stderr.print("[bold red]regression:[/] " + esc(", ".join(data["regressions"])))
        raise typer.Exit(1)
    unjudged = [c.name for c in diff_checks(data, True) if c.failed]
    if strict and (unjudged or data["verdict"] == "insufficient data"):
        stderr.print(f"[bold red]insufficient data:[/] {len(unjudged)} metric(s) not judged "
                     f"({esc(', '.join(unjudged))}); --fail-on-insufficient asks for a verdict")
        raise typer.Exit(1)


def _print_all(data: dict[str, Any]) -> None:
    from genailog.cli.render import print_wide

    print_wide(render_table(data))
    if data["paired_changes"]:
        _print_examples(data["paired_changes"])
