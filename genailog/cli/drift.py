"""``genailog drift``: parse options, call ``detect_drift``, render, exit 1 on drift.

Rendering is pure functions of the result's dict; polars and the analysis package are
imported inside the command so ``genailog --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from genailog.cli.options import (
    AllowEmpty,
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
)  # fmt: skip
from genailog.errors import UsageError

if TYPE_CHECKING:
    from genailog.analysis.drift import DriftResult


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"{option} {item!r}: use KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def _thresholds(items: list[str] | None) -> dict[str, float]:
    out = {}
    for key, value in _pairs(items, "--threshold").items():
        try:
            out[key] = float(value)
        except ValueError:
            raise UsageError(f"--threshold {key}={value}: the value must be a number") from None
    return out


def _reference_window(text: str | None) -> Any:
    from genailog.query.filters import parse_time

    if text is None:
        return None
    start, sep, end = text.partition("..")
    if not sep:
        raise UsageError(f"--reference-window {text!r}: use START..END, e.g. "
                         "2026-01-01..2026-01-08")
    return parse_time(start, "--reference-window"), parse_time(end, "--reference-window")


def _label(iso: str | None, window: str) -> str:
    if iso is None:
        return "-"
    if window[-1] in "dw" and iso.endswith("T00:00:00Z"):
        return iso[:10]
    return iso.replace("T", " ").removesuffix("Z").removesuffix(":00")


def _features(data: dict[str, Any]) -> list[str]:
    return list(data["settings"]["methods"])


#: The short name of each method's score, shown in column titles (the registry holds what
#: each one means; the legend under the table quotes it).
SCORE_NAMES = {"psi": "PSI", "ks": "KS D", "wasserstein": "W/sd", "jensenshannon": "JS",
               "chisquare": "Cramer's V", "domain_classifier": "AUC",
               "centroid_cosine": "cos dist"}


def _score_name(data: dict[str, Any], feature: str) -> str:
    method = str(data["settings"]["methods"].get(feature, ""))
    return SCORE_NAMES.get(method, method)


def _title(data: dict[str, Any], feature: str) -> str:
    """``prompt_length PSI``: a column says which statistic its cells are."""
    return f"{feature} {_score_name(data, feature)}".strip()


def legend(data: dict[str, Any], features: list[str]) -> list[str]:
    """What each score shown means, its threshold, and what ``!`` marks."""
    from genailog.analysis.drift.registry import METHODS

    settings = data["settings"]
    thresholds: dict[str, set[float]] = {}
    for name in features:
        thresholds.setdefault(settings["methods"][name], set()).add(
            settings["thresholds"][name])
    parts = [f"{SCORE_NAMES.get(m, m)} = {METHODS[m].summary if m in METHODS else m} "
             f"(threshold {', '.join(f'{t:g}' for t in sorted(ts))})"
             for m, ts in thresholds.items()]
    lines = [f"scores: {'; '.join(parts)}"] if parts else []
    return [*lines, "! = drifted: score at or above its threshold and, for tests with a "
            f"p-value, significant at alpha {settings['alpha_per_test']:.2g} per test"]


def _cell(feature: dict[str, Any] | None) -> tuple[str, bool]:
    if feature is None or not feature["judged"] or feature["score"] is None:
        return "-", False
    return f"{feature['score']:.3g}", feature["drifted"]


def _verdict(window: dict[str, Any]) -> str:
    if not window["judged"]:
        return "insufficient"
    return "DRIFT" if window["drifted"] else "ok"


def _notes(data: dict[str, Any]) -> list[str]:
    ref, summary = data["reference"], data["summary"]
    every = data["settings"]["window"]
    lines = [f"reference ({ref['source'].replace('_', ' ')}): {_label(ref['start'], every)} .. "
             f"{_label(ref['end'], every)}, {ref['records']:,} records",
             f"{summary['drifted']} of {summary['judged']} judged windows drifted"
             + (f"; {summary['insufficient']} too small to judge" if summary["insufficient"]
                else "")]
    reasons: dict[str, list[str]] = {}
    for item in data["skipped_features"]:
        reasons.setdefault(item["reason"], []).append(item["feature"])
    lines += [f"not monitored ({why}): {', '.join(names)}" for why, names in reasons.items()]
    if data["skipped_records"]:
        lines.append(f"skipped invalid records: {data['skipped_records']:,}")
    return lines


def moved(data: dict[str, Any]) -> list[str]:
    """Per drifted feature: in how many windows, first and last, and the latest change."""
    every = data["settings"]["window"]
    first: dict[str, str] = {}
    last: dict[str, tuple[str, str]] = {}
    count: dict[str, int] = {}
    for window in data["windows"]:
        for feature in window["features"] if window["drifted"] else []:
            if feature["drifted"]:
                name, label = feature["feature"], _label(window["start"], every)
                first.setdefault(name, label)
                last[name] = (label, feature["summary"])
                count[name] = count.get(name, 0) + 1
    return [f"{name}: drifted in {first[name]}: {last[name][1]}" if count[name] == 1 else
            f"{name}: drifted in {count[name]} windows, {first[name]} .. {last[name][0]}; "
            f"latest: {last[name][1]}" for name in first]


def _drifting(data: dict[str, Any]) -> list[str]:
    """Features that drifted in at least one window, in monitoring order."""
    hit = {f["feature"] for w in data["windows"] for f in w["features"] if f["drifted"]}
    return [name for name in _features(data) if name in hit]


def render_table(data: dict[str, Any]) -> Any:
    """Windows by the features that drifted anywhere (the full matrix is in markdown and
    JSON), scores with drifted ones marked; every user value escaped."""
    from rich.table import Table

    from genailog.cli.render import esc

    names = _drifting(data)
    table = Table(caption="\n".join(esc(line) for line in [*_notes(data),
                                                           *legend(data, names)]),
                  caption_justify="left")
    for title in ("window", "records", "verdict", *(_title(data, n) for n in names)):
        table.add_column(esc(title), justify="left" if title in ("window", "verdict")
                         else "right", no_wrap=True)
    for window in data["windows"]:
        by_name = {f["feature"]: f for f in window["features"]}
        cells = []
        for name in names:
            text, drifted = _cell(by_name.get(name))
            cells.append(f"[bold red]{esc(text)}![/]" if drifted else esc(text))
        verdict = _verdict(window)
        table.add_row(esc(_label(window["start"], data["settings"]["window"])),
                      f"{window['records']:,}",
                      f"[bold red]{verdict}[/]" if window["drifted"] else verdict, *cells)
    return table


def _md(text: str) -> str:
    from genailog.textsafe import markdown

    return markdown(text)


def render_markdown(data: dict[str, Any]) -> str:
    """A GitHub-flavoured report: verdict, windows-by-features table, what moved."""
    names = _features(data)
    verdict = "drift detected" if data["drifted"] else "no drift"
    lines = [f"## genailog drift: {verdict}", "",
             "| window | records | verdict | " + " | ".join(_md(_title(data, n)) for n in names)
             + " |",
             "| --- | ---: | --- |" + " ---: |" * len(names)]
    for window in data["windows"]:
        by_name = {f["feature"]: f for f in window["features"]}
        cells = []
        for name in names:
            text, drifted = _cell(by_name.get(name))
            cells.append(f"**{text}** ⚠" if drifted else text)
        lines.append(f"| {_label(window['start'], data['settings']['window'])} | "
                     f"{window['records']:,} | {_verdict(window)} | " + " | ".join(cells) + " |")
    lines += ["", *(f"- {_md(line)}" for line in [*_notes(data), *legend(data, names)])]
    changes = moved(data)
    if changes:
        lines += ["", "### What moved", "", *(f"- {_md(line)}" for line in changes)]
    return "\n".join(lines) + "\n"


def drift_command(
    paths: Paths,
    window: Annotated[str, typer.Option("--window", help="Window length: 1h, 1d, 1w "
                                        "(or e.g. 6h).")] = "1d",
    reference: Annotated[list[str] | None, typer.Option(
        "--reference", help="Separate reference logs (files, directories, globs); every "
        "window of PATHS is compared with them. Repeatable.")] = None,
    reference_window: Annotated[str | None, typer.Option(
        "--reference-window", help="Reference time range in the same logs, START..END "
        "(END excluded), e.g. 2026-01-01..2026-01-08. Default: the first window.")] = None,
    features: Annotated[list[str] | None, typer.Option(
        "--features", help="Features to monitor (comma-separated or repeated); NAME or "
        "NAME:TYPE with TYPE numeric, categorical, text or embedding. Default: latency, "
        "tokens, cost, prompt/response length, rating, model, status, error_type, "
        "finish_reason, prompt_version, refusal, hallucination_flag, prompt, response, "
        "embedding.")] = None,
    method: Annotated[list[str] | None, typer.Option(
        "--method", help="FEATURE=METHOD or TYPE=METHOD, e.g. latency_ms=ks or numeric="
        "wasserstein. Methods: psi, ks, wasserstein, jensenshannon, chisquare, "
        "domain_classifier, centroid_cosine.")] = None,
    threshold: Annotated[list[str] | None, typer.Option(
        "--threshold", help="FEATURE=VALUE or METHOD=VALUE: the effect size that counts "
        "as drift, e.g. psi=0.2.")] = None,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Chance of any false alarm over the whole run (split across all "
        "features and windows).")] = 0.01,
    drift_share: Annotated[float | None, typer.Option(
        "--drift-share", help="A window drifts when at least this share of its judged "
        "features drift (default: any one).")] = None,
    min_records: Annotated[int, typer.Option(
        "--min-records", help="Windows with fewer records are reported, not judged.")] = 100,
    sample_size: Annotated[int, typer.Option(
        "--sample-size", help="Rows per window sampled for text and embedding drift.")] = 2000,
    where: Where = None,
    since: Since = None,
    until: Until = None,
    fmt: Format = ReportFormat.table,
    seed: Seed = 0,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
    allow_empty: AllowEmpty = False,
    engine: Engine = None,
    partial_out: PartialOut = None,
) -> None:
    """Compare each time window with a reference and say what drifted. Exit 1 on drift.

    Example: genailog drift logs/ --window 1d --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from genailog.analysis.drift import DriftOptions
    from genailog.api import detect_drift
    from genailog.config import config_default

    options = DriftOptions(
        window=window, reference_window=_reference_window(reference_window),
        features=tuple(split_names(features)), methods=_pairs(method, "--method"),
        thresholds=_thresholds(threshold or config_default("drift", "threshold", [], [])),
        alpha=config_default("drift", "alpha", alpha, 0.01),
        min_records=config_default("drift", "min_records", min_records, 100),
        drift_share=drift_share, sample_size=sample_size, seed=seed,
    )
    if reference and options.reference_window:
        raise UsageError("use either --reference or --reference-window, not both")
    if partial_out is not None:  # this part's partial only (genailog merge judges)
        from genailog.cli.engine_run import write_drift_partial

        write_drift_partial(partial_out, paths, options, reference=reference or None,
                            where=where, since=since, until=until, on_invalid=on_invalid,
                            input_format=input_format, engine=engine)
        return
    if engine is not None:  # per file on a cluster, merged: the same answer
        from genailog.cli.engine_run import drift_on_engine

        result = drift_on_engine(engine, paths, options, reference=reference or None,
                                 where=where, since=since, until=until,
                                 on_invalid=on_invalid, input_format=input_format)
    else:
        result = detect_drift(paths, reference=reference or None, options=options,
                              where=where, since=since, until=until, on_invalid=on_invalid,
                              input_format=input_format)
    show_drift(result, fmt.value, config_default("drift", "allow_empty", allow_empty, False))


def show_drift(result: DriftResult, fmt: str, allow_empty: bool = False) -> None:
    """Render a drift result (also ``genailog merge``'s); exit 1 on drift, or when no
    window could be judged unless ``allow_empty``."""
    from genailog.cli.render import Renderers, emit, stderr

    data = result.to_dict()
    emit("drift", data, Renderers(lambda: _print_table(data), render_markdown), fmt)
    summary = data["summary"]
    stderr.print(f"drift: {summary['drifted']} of {summary['judged']} judged windows drifted")
    if result.drifted:
        raise typer.Exit(1)
    if not summary["judged"] and not allow_empty:
        stderr.print(f"[bold red]drift: no window could be judged[/] (each under --min-records "
                     f"{data['settings']['min_records']:,}); pass --allow-empty to accept "
                     "that")
        raise typer.Exit(1)


def _print_table(data: dict[str, Any]) -> None:
    from genailog.cli.render import print_wide, write_text

    print_wide(render_table(data))  # titles and dates whole, even in a narrow CI log
    for line in moved(data):
        write_text(line)
