"""``genailog retrieval``: parse options, read, call :func:`analyze_retrieval`, render.

Rendering is a pure function of the result's dict: a list of sections, each a title, a
header and rows of cells, drawn as rich tables or GitHub Markdown.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from genailog.cli.options import (
    Format,
    InputFormat,
    OnInvalid,
    Paths,
    ReportFormat,
    Since,
    Until,
    Where,
    split_names,
)

Section = tuple[str, list[str], list[list[str]]]


def _num(value: Any, spec: str = ",.3f") -> str:
    return "-" if value is None else format(value, spec)


def _pct(value: Any) -> str:
    return _num(value, ".1%")


def _p(value: Any) -> str:
    return "-" if value is None else f"{value:.2g}"


_SCORES = ["scored", "score p25", "p50", "p75", "< threshold"]


def _score_cells(row: dict[str, Any]) -> list[str]:
    return [f"{row['scored']:,}", _num(row["score_p25"]), _num(row["score_p50"]),
            _num(row["score_p75"]), _pct(row["share_below_threshold"])]


def _retrievers(data: dict[str, Any]) -> Section:
    keys = data["options"]["by"] or ["retriever"]
    rows = [[*("(null)" if r[k] is None else str(r[k]) for k in keys), f"{r['calls']:,}",
             _pct(r["empty_rate"]), _num(r["documents_per_call"], ".2f"), *_score_cells(r)]
            for r in data["retrievers"]]
    threshold = data["options"]["score_threshold"]
    return (f"retrievers (score threshold {threshold:g})",
            [*keys, "calls", "empty", "docs/call", *_SCORES], rows)


def _sources(data: dict[str, Any]) -> Section:
    rows = [["(none)" if r["source"] is None else r["source"], f"{r['calls']:,}",
             f"{r['documents']:,}", _num(r["documents_per_call"], ".2f"), *_score_cells(r)]
            for r in data["sources"]]
    return "document sources", ["source", "calls", "documents", "docs/call", *_SCORES], rows


def _documents(data: dict[str, Any], top: int) -> Section:
    shown = data["documents"][:top]
    rows = [[d["id"], f"{d['retrieved']:,}", _pct(d["hallucination_rate"]),
             _pct(d["rest_hallucination_rate"]), _num(d["feedback_mean"], ".2f"),
             _num(d["rest_feedback_mean"], ".2f"), _p(d["p_value"]), _p(d["q_value"]),
             ", ".join(d["flagged_for"]) if d["flagged"] else ""]
            for d in shown]
    title = (f"documents: {data['flagged_documents']:,} flagged of {len(data['documents']):,} "
             f"(false discovery rate {data['options']['alpha']:g}; top {len(shown)} shown)")
    return title, ["id", "calls", "halluc.", "rest", "feedback", "rest", "p", "q",
                   "flagged for"], rows


def _ranking(data: dict[str, Any]) -> Section | None:
    ranking = data["ranking"]
    if ranking is None:
        return None
    rows = [[str(m["k"]), *(_num(m[n]) for n in ("hit_rate", "mrr", "precision", "recall",
                                                  "ndcg"))] for m in ranking["metrics"]]
    return (f"ranking over {ranking['calls']:,} labelled calls "
            f"({ranking['calls_with_relevant']:,} with a relevant document)",
            ["k", "hit rate", "MRR", "precision", "recall", "NDCG"], rows)


def _groundedness(data: dict[str, Any]) -> Section | None:
    found = data["groundedness"]
    if found is None:
        return None
    rows = [["calls with texts", f"{found['calls']:,}"], ["mean groundedness",
            _pct(found["mean"])], ["ungrounded calls", f"{found['ungrounded_calls']:,} ("
                                   f"{_pct(found['ungrounded_rate'])})"]]
    agreement = found["agreement"]
    if agreement is not None:
        rows += [["agreement: labelled calls", f"{agreement['calls']:,} "
                  f"({agreement['hallucinated']:,} hallucinated)"],
                 ["agreement: accuracy", _pct(agreement["accuracy"])],
                 ["agreement: precision / recall",
                  f"{_pct(agreement['precision'])} / {_pct(agreement['recall'])}"],
                 ["agreement: ROC AUC", _num(agreement["roc_auc"])]]
    return ("groundedness (lexical heuristic: share of response sentences supported by the "
            "retrieved text)", ["measure", "value"], rows)


def sections(data: dict[str, Any], top: int) -> list[Section]:
    found = [_retrievers(data), _sources(data), _documents(data, top), _ranking(data),
             _groundedness(data)]
    return [s for s in found if s is not None and s[2]]


def _summary_line(data: dict[str, Any]) -> str:
    skipped = data["skipped_calls"] + data["skipped_documents"]
    if data["skipped_records"]:
        line_end = f"; skipped invalid records: {data['skipped_records']:,}"
    else:
        line_end = ""
    line = (f"{data['calls']:,} calls with retrieval_docs of {data['records']:,} records; "
            f"{data['documents_logged']:,} documents")
    if not data["calls"]:
        line += " (no record logged retrieval_docs: nothing to analyse)"
    if skipped:
        line += (f"; skipped {data['skipped_calls']:,} unreadable retrieval_docs values and "
                 f"{data['skipped_documents']:,} entries that are neither id nor object")
    return line + line_end


def render_markdown(data: dict[str, Any], top: int) -> str:
    from genailog.textsafe import markdown

    lines = ["## genailog retrieval", "", markdown(_summary_line(data))]
    for title, header, rows in sections(data, top):
        lines += ["", f"### {markdown(title)}", "",
                  "| " + " | ".join(markdown(h) for h in header) + " |",
                  "|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join(markdown(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_tables(data: dict[str, Any], top: int) -> None:
    from rich import box
    from rich.table import Table

    from genailog.cli.render import esc, print_wide, stdout

    stdout.print(esc(_summary_line(data)))
    for title, header, rows in sections(data, top):
        table = Table(title=esc(title), title_justify="left", box=box.SIMPLE_HEAD)
        widths = [max(len(esc(c)) for c in column) for column in zip(header, *rows, strict=True)]
        for i, (name, width) in enumerate(zip(header, widths, strict=True)):
            # numbers are never cut; a long id or source folds at 40 characters
            table.add_column(esc(name), justify="left" if i == 0 else "right",
                             min_width=min(width, 40) if i == 0 else width,
                             no_wrap=i != 0, overflow="fold")
        for row in rows:
            table.add_row(*(esc(cell) for cell in row))
        print_wide(table)


def retrieval_command(
    paths: Paths,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Record fields naming the retriever (e.g. app), comma-separated or "
        "repeated; default: all calls in one row.")] = None,
    score_threshold: Annotated[float, typer.Option(
        "--score-threshold", help="Scores below this count as low.")] = 0.5,
    ks: Annotated[list[str] | None, typer.Option(
        "--k", help="Cut-offs of the ranking metrics, e.g. --k 1,3,5,10.")] = None,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="False discovery rate at which a document is flagged.")] = 0.05,
    min_calls: Annotated[int, typer.Option(
        "--min-calls", help="Fewest labelled calls with a document (and without it) "
        "before it is tested.")] = 5,
    top: Annotated[int, typer.Option(
        "--top", help="Documents shown in table and markdown output (JSON has all).")] = 10,
    where: Where = None,
    since: Since = None,
    until: Until = None,
    output: Format = ReportFormat.table,
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
) -> None:
    """Retrieval quality: retrievers and sources, the documents that go with bad answers,
    ranking metrics from relevance labels, and groundedness from document texts.

    Exit codes: 0 ok, 2 usage error, 3 unreadable or invalid input.

    Example: [bold]genailog retrieval sample_logs/ --by app --k 1,5[/]
    """
    from genailog.analysis.retrieval import RetrievalOptions, analyze_retrieval
    from genailog.cli.render import Renderers, emit
    from genailog.errors import UsageError
    from genailog.ingest import read_logs
    from genailog.query.prune import partition_prune

    try:
        cutoffs = tuple(int(k) for k in split_names(ks)) or (1, 3, 5, 10)
    except ValueError:
        raise UsageError("--k takes whole numbers, e.g. --k 1,3,5,10") from None
    if top < 0:
        raise UsageError("--top must be 0 or more")
    options = RetrievalOptions(by=tuple(split_names(by)), score_threshold=score_threshold,
                               ks=cutoffs, alpha=alpha, min_calls=min_calls, where=where,
                               since=since, until=until)
    options.check()
    logs = read_logs(paths, on_invalid=on_invalid, input_format=input_format,
                     prune=partition_prune(where, since, until))
    result = analyze_retrieval(logs.frame, options)
    result.skipped_records = logs.report.skipped
    data = result.to_dict()
    emit("retrieval", data, Renderers(lambda: render_tables(data, top),
                                      lambda d: render_markdown(d, top)), output.value)
