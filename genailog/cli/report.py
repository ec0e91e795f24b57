"""``genailog report``: parse options, build the report, write the HTML atomically.

The numbers and the page are the library's (genailog.report); this module only reads the
inputs, calls it, writes the file and says what it wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genailog.cli.options import InputFormat, OnInvalid, Paths, Prices, Since, Until, Where


def report_command(
    paths: Paths,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.",
                                      show_default=False)],
    window: Annotated[
        str | None,
        typer.Option("--window", help="Time bucket of the charts: 1h, 1d, 1w... "
                     "(default: 1h up to 2 days of data, 1d up to 120 days, else 1w)."),
    ] = None,
    where: Where = None,
    since: Since = None,
    until: Until = None,
    prices: Prices = None,
    version_field: Annotated[
        str, typer.Option("--version-field", help="Field holding the prompt version.")
    ] = "prompt_version",
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Prompt version compared against "
                                 "(default: the second most recently first-seen).")
    ] = None,
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="Prompt version compared "
                                 "(default: the most recently first-seen).")
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff/--no-diff", help="Include the prompt-version comparison.")
    ] = True,
    drift: Annotated[
        bool, typer.Option("--drift/--no-drift", help="Include the drift heat map.")
    ] = True,
    top: Annotated[int, typer.Option("--top", min=1, max=100,
                                     help="Users and sessions listed by cost.")] = 10,
    title: Annotated[str, typer.Option("--title", help="Page title.")] = "genailog report",
    on_invalid: OnInvalid = "fail",
    input_format: InputFormat = "auto",
) -> None:
    """One self-contained HTML report with charts: cost, latency, quality, prompt
    versions, drift. Opens offline; makes no network request.

    Example: genailog report sample_logs/ --out report.html
    """
    from genailog.cli.render import info
    from genailog.ingest import read_logs
    from genailog.outputs import atomic_writer
    from genailog.query.prune import partition_prune
    from genailog.report.html import render_html
    from genailog.report.model import ReportOptions, build_report, check_window

    if window is not None:
        check_window(window)  # a usage error before a long read
    logs = read_logs(list(paths), on_invalid=on_invalid, input_format=input_format,
                     prune=partition_prune(where, since, until))
    options = ReportOptions(window=window, where=where, since=since, until=until,
                            prices=prices, version_field=version_field, baseline=baseline,
                            candidate=candidate, diff=diff, drift=drift, top=top, title=title)
    page = render_html(build_report(logs, options))
    with atomic_writer(out) as handle:
        handle.write(page)
    info(f"wrote {out} ({len(page.encode()) / 1024:,.0f} KB)")
