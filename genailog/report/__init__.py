"""``genailog report``: one self-contained HTML page with charts, from aggregates only.

:func:`build_report` computes the numbers (:mod:`.model`), :func:`render_html` draws them
(:mod:`.html`, charts in :mod:`.svg`); :func:`sparkline` is the terminal taste of the same
series. See docs/report.md.
"""

from __future__ import annotations

from genailog.report.spark import sparkline

__all__ = ["Report", "ReportOptions", "build_report", "render_html", "sparkline"]


def __getattr__(name: str) -> object:
    # polars and friends load only when a report is built, so sparklines stay light.
    if name in ("Report", "ReportOptions", "build_report"):
        from genailog.report import model

        return getattr(model, name)
    if name == "render_html":
        from genailog.report.html import render_html

        return render_html
    raise AttributeError(f"module 'genailog.report' has no attribute {name!r}")
