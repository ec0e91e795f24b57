"""Charts drawn at build time as inline SVG, from small aggregates (never from records).

Every chart is a pure function of labels and numbers returning a :class:`Chart`: the SVG
text plus the table behind it. Every piece of text from the data goes through
:func:`esc`; colours come from the Okabe-Ito palette (safe for colour-blind readers) and
every series also has its own marker shape or fill pattern and a text label, so a chart
reads without colour. No script: the page's Content-Security-Policy forbids them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Okabe-Ito, then two neutral greys; past these, series repeat colours but not markers.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#999999", "#000000")  # fmt: skip
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "down", "plus", "star")
PATTERNS = ("solid", "hatch", "dots", "cross", "vert", "back", "grid", "horiz")
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 16, 46

Number = float | None
Fmt = Callable[[float], str]


def esc(value: object) -> str:
    """Text made safe for HTML and SVG, quotes included (for attributes)."""
    from genailog.textsafe import html

    return html(value)  # control characters shown as escapes, then HTML-escaped


@dataclass(frozen=True)
class Chart:
    """One drawn chart: its SVG, how many series it draws, and the table behind it."""

    svg: str
    series: int
    header: list[str]
    rows: list[list[str]]


def num(value: float, digits: int = 3) -> str:
    """A compact label: 1.2k, 35, 0.042."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.{digits - 1}g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.{digits}g}k"
    return f"{value:.{digits}g}" if magnitude < 1000 else f"{value:,.0f}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values spanning ``[low, high]``."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= step * factor:
            step *= factor
            break
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - step * 1e-9:  # the last tick is at or above the highest value
        ticks.append(start + len(ticks) * step)
    return ticks


def _log_ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**e for e in range(first, last + 1)]


@dataclass(frozen=True)
class _Axis:
    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        low, high, value = self.low, self.high, value
        if self.log:
            low, high, value = math.log10(low), math.log10(high), math.log10(max(value, 1e-9))
        share = 0.0 if high == low else (value - low) / (high - low)
        return round(self.start + share * (self.end - self.start), 1)


def _frame(title: str, body: list[str], defs: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
        + (f"<defs>{defs}</defs>" if defs else "")
        + "".join(body)
        + "</svg>"
    )


def _y_axis(axis: _Axis, ticks: list[float], fmt: Fmt) -> list[str]:
    out = []
    for tick in ticks:
        y = axis(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">'
                   f"{esc(fmt(tick))}</text>")
    return out


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    """At most ~10 labels along the x axis, evenly thinned."""
    every = max(1, math.ceil(len(labels) / 10))
    return [f'<text class="tick" x="{x}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{esc(label)}</text>"
            for i, (label, x) in enumerate(zip(labels, xs, strict=True)) if i % every == 0]


def marker(kind: str, x: float, y: float, colour: str) -> str:
    """A small shape, different per series, so lines are told apart without colour."""
    shapes = {
        "circle": f'<circle cx="{x}" cy="{y}" r="3.5"/>',
        "square": f'<rect x="{x - 3.5}" y="{y - 3.5}" width="7" height="7"/>',
        "triangle": f'<path d="M{x} {y - 4.5}L{x + 4.5} {y + 3.5}L{x - 4.5} {y + 3.5}Z"/>',
        "diamond": f'<path d="M{x} {y - 5}L{x + 5} {y}L{x} {y + 5}L{x - 5} {y}Z"/>',
        "cross": f'<path d="M{x - 4} {y - 4}L{x + 4} {y + 4}M{x + 4} {y - 4}L{x - 4} {y + 4}" '
                 f'stroke="{colour}" stroke-width="2"/>',
        "down": f'<path d="M{x} {y + 4.5}L{x + 4.5} {y - 3.5}L{x - 4.5} {y - 3.5}Z"/>',
        "plus": f'<path d="M{x - 5} {y}L{x + 5} {y}M{x} {y - 5}L{x} {y + 5}" '
                f'stroke="{colour}" stroke-width="2"/>',
        "star": f'<path d="M{x} {y - 5}L{x + 1.5} {y - 1.5}L{x + 5} {y}L{x + 1.5} {y + 1.5}'
                f'L{x} {y + 5}L{x - 1.5} {y + 1.5}L{x - 5} {y}L{x - 1.5} {y - 1.5}Z"/>',
    }
    return f'<g fill="{colour}">{shapes[kind]}</g>'


def _legend(names: Sequence[str], swatch: Callable[[int, float, float], str]) -> list[str]:
    out = []
    x = WIDTH - RIGHT + 14
    for i, name in enumerate(names[:14]):
        y = TOP + 10 + i * 18
        label = name if len(name) <= 20 else name[:19] + "…"
        out.append(f'{swatch(i, x, y)}<text class="legend" x="{x + 12}" y="{y + 4}">'
                   f"{esc(label)}</text>")
    if len(names) > 14:
        out.append(f'<text class="legend" x="{x}" y="{TOP + 10 + 14 * 18}">'
                   f"+{len(names) - 14} more (see data)</text>")
    return out


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number]]],
               fmt: Fmt = num, *, log: bool = False, y_title: str = "") -> Chart:
    """Lines over ordered labels (time windows); a gap where a value is missing."""
    values = [v for _, vs in series for v in vs if v is not None and (v > 0 or not log)]
    low = min(values, default=0.0) if log else min(0.0, *values) if values else 0.0
    high = max(values, default=1.0)
    y_ticks = _log_ticks(low, high) if log else _ticks(low, high)
    y = _Axis(y_ticks[0], y_ticks[-1], HEIGHT - BOTTOM, TOP, log)
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels) - 1)
    xs = [round(LEFT + i * step, 1) if len(labels) > 1 else (LEFT + WIDTH - RIGHT) / 2
          for i in range(len(labels))]
    body = [*_y_axis(y, y_ticks, fmt), *_x_labels(labels, xs), _y_title(y_title)]
    for i, (name, vs) in enumerate(series):
        colour, shape = _colour(i), MARKERS[i % len(MARKERS)]
        runs: list[list[str]] = []
        run: list[str] = []
        points = []
        for x, v in zip(xs, vs, strict=True):
            if v is None or (log and v <= 0):
                runs, run = runs + [run] if run else runs, []
                continue
            run.append(f"{x},{y(v)}")
            points.append(marker(shape, x, y(v), colour))
        runs += [run] if run else []
        dash = "" if i < len(PALETTE) else ' stroke-dasharray="6 3"'
        lines = "".join(f'<polyline points="{" ".join(r)}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"{dash}/>' for r in runs)
        body.append(f'<g class="series" data-name="{esc(name)}">{lines}{"".join(points)}</g>')
    body += _legend([n for n, _ in series],
                    lambda i, x, yy: marker(MARKERS[i % len(MARKERS)], x, yy, _colour(i)))
    rows = [[label, *(_cell(vs[j], fmt) for _, vs in series)] for j, label in enumerate(labels)]
    return Chart(_frame(title, body), len(series), ["", *(n for n, _ in series)], rows)


def _cell(value: Number, fmt: Fmt) -> str:
    return "-" if value is None else fmt(value)


def _y_title(text: str) -> str:
    if not text:
        return ""
    return (f'<text class="tick" x="14" y="{(HEIGHT - BOTTOM + TOP) / 2}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(HEIGHT - BOTTOM + TOP) / 2})">{esc(text)}</text>')


def _patterns(prefix: str, count: int) -> str:
    """One fill per series: colour plus a pattern, so stacked parts differ without colour."""
    lines = {
        "hatch": '<path d="M0 8L8 0" stroke="#fff" stroke-width="1.5"/>',
        "dots": '<circle cx="4" cy="4" r="1.5" fill="#fff"/>',
        "cross": '<path d="M0 8L8 0M0 0L8 8" stroke="#fff" stroke-width="1"/>',
        "vert": '<path d="M4 0L4 8" stroke="#fff" stroke-width="1.5"/>',
        "back": '<path d="M0 0L8 8" stroke="#fff" stroke-width="1.5"/>',
        "grid": '<path d="M0 4L8 4M4 0L4 8" stroke="#fff" stroke-width="1"/>',
        "horiz": '<path d="M0 4L8 4" stroke="#fff" stroke-width="1.5"/>',
        "solid": "",
    }
    return "".join(
        f'<pattern id="{prefix}-p{i}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{_colour(i)}"/>{lines[PATTERNS[i % len(PATTERNS)]]}'
        "</pattern>"
        for i in range(count)
    )


def stacked_bars(title: str, chart_id: str, labels: Sequence[str],
                 series: Sequence[tuple[str, Sequence[Number]]], fmt: Fmt = num,
                 *, y_title: str = "") -> Chart:
    """One bar per label, stacked by series (missing counts as nothing drawn)."""
    totals = [sum(vs[j] or 0.0 for _, vs in series) for j in range(len(labels))]
    y_ticks = _ticks(0.0, max(totals, default=1.0) or 1.0)
    y = _Axis(0.0, y_ticks[-1], HEIGHT - BOTTOM, TOP)
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    xs = [round(LEFT + (j + 0.5) * slot, 1) for j in range(len(labels))]
    width = round(max(1.0, slot * 0.8), 1)
    body = [*_y_axis(y, y_ticks, fmt), *_x_labels(labels, xs), _y_title(y_title)]
    base = [0.0] * len(labels)
    for i, (name, vs) in enumerate(series):
        rects = []
        for j, v in enumerate(vs):
            if not v:
                continue
            top, bottom = y(base[j] + v), y(base[j])
            base[j] += v
            rects.append(f'<rect x="{round(xs[j] - width / 2, 1)}" y="{top}" width="{width}" '
                         f'height="{round(bottom - top, 1)}"/>')
        body.append(f'<g class="series" data-name="{esc(name)}" fill="url(#{chart_id}-p{i})" '
                    f'stroke="var(--bg)" stroke-width="0.5">{"".join(rects)}</g>')
    body += _legend([n for n, _ in series],
                    lambda i, x, yy: f'<rect x="{x - 5}" y="{yy - 5}" width="10" height="10" '
                                     f'fill="url(#{chart_id}-p{i})"/>')
    rows = [[label, *(_cell(vs[j], fmt) for _, vs in series), fmt(totals[j])]
            for j, label in enumerate(labels)]
    return Chart(_frame(title, body, _patterns(chart_id, len(series))), len(series),
                 ["", *(n for n, _ in series), "total"], rows)


def hbars(title: str, items: Sequence[tuple[str, float]], fmt: Fmt = num) -> Chart:
    """Horizontal bars, one per item, labelled with their value (a single series)."""
    height = TOP + 22 * max(1, len(items)) + 24
    high = max((v for _, v in items), default=1.0) or 1.0
    x = _Axis(0.0, high, 200, WIDTH - 110)
    bars, texts = [], []
    for i, (name, value) in enumerate(items):
        top = TOP + i * 22
        label = name if len(name) <= 28 else name[:27] + "…"
        bars.append(f'<rect x="200" y="{top}" width="{max(1.0, x(value) - 200)}" height="16"/>')
        texts.append(f'<text class="tick" x="194" y="{top + 12}" text-anchor="end">'
                     f'{esc(label)}</text><text class="tick" x="{x(value) + 6}" y="{top + 12}">'
                     f"{esc(fmt(value))}</text>")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
           f'<g class="series" data-name="{esc(title)}" fill="{PALETTE[0]}">{"".join(bars)}</g>'
           f'{"".join(texts)}</svg>')
    return Chart(svg, 1, ["", "value"], [[name, fmt(value)] for name, value in items])


def ecdf(title: str, series: Sequence[tuple[str, Sequence[float]]], fmt: Fmt = num,
         *, x_title: str = "") -> Chart:
    """Empirical CDFs on a log x axis; each series is its values at quantiles 0..1."""
    values = [v for _, vs in series for v in vs if v > 0]
    low, high = min(values, default=1.0), max(values, default=10.0)
    x_ticks = _log_ticks(low, max(high, low * 10))
    x = _Axis(x_ticks[0], x_ticks[-1], LEFT, WIDTH - RIGHT, log=True)
    y = _Axis(0.0, 1.0, HEIGHT - BOTTOM, TOP)
    body = [*_y_axis(y, [0.0, 0.25, 0.5, 0.75, 1.0], lambda v: f"{v:.0%}")]
    body += [f'<text class="tick" x="{x(t)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
             f"{esc(fmt(t))}</text>" for t in x_ticks]
    if x_title:
        body.append(f'<text class="tick" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" '
                    f'text-anchor="middle">{esc(x_title)}</text>')
    for i, (name, vs) in enumerate(series):
        colour, shape = _colour(i), MARKERS[i % len(MARKERS)]
        qs = [k / (len(vs) - 1) for k in range(len(vs))] if len(vs) > 1 else [1.0]
        pts = [(x(v), y(q)) for v, q in zip(vs, qs, strict=True) if v > 0]
        line = " ".join(f"{a},{b}" for a, b in pts)
        marks = "".join(marker(shape, a, b, colour) for a, b in pts[:: max(1, len(pts) // 4)])
        body.append(f'<g class="series" data-name="{esc(name)}"><polyline points="{line}" '
                    f'fill="none" stroke="{colour}" stroke-width="2"/>{marks}</g>')
    body += _legend([n for n, _ in series],
                    lambda i, xx, yy: marker(MARKERS[i % len(MARKERS)], xx, yy, _colour(i)))
    picks = (0.5, 0.9, 0.95, 0.99)
    rows = [[name, *(_at(vs, q, fmt) for q in picks)] for name, vs in series]
    return Chart(_frame(title, body), len(series), ["", "p50", "p90", "p95", "p99"], rows)


def _at(values: Sequence[float], q: float, fmt: Fmt) -> str:
    """The value at quantile ``q`` of a series sampled at evenly spaced quantiles."""
    if not values:
        return "-"
    return fmt(values[round(q * (len(values) - 1))])


@dataclass(frozen=True)
class Interval:
    """One row of a forest plot: a change with its confidence interval, in percent."""

    label: str
    point: float | None
    low: float | None
    high: float | None
    significant: bool
    text: str


def forest(title: str, rows: Sequence[Interval]) -> Chart:
    """Changes with confidence intervals around zero; significant rows drawn solid and
    marked with a star (not by colour alone)."""
    height = TOP + 26 * max(1, len(rows)) + 40
    spans = [abs(v) for r in rows for v in (r.low, r.high, r.point) if v is not None]
    edge = max(spans, default=10.0) * 1.1 or 10.0
    x = _Axis(-edge, edge, 260, WIDTH - 40)
    body = [f'<line class="axis" x1="{x(0)}" x2="{x(0)}" y1="{TOP - 4}" y2="{height - 30}"/>']
    for tick in _ticks(-edge, edge, 6):
        if -edge <= tick <= edge:
            body.append(f'<text class="tick" x="{x(tick)}" y="{height - 14}" '
                        f'text-anchor="middle">{esc(f"{tick:+.0f}%")}</text>')
    series = []
    for i, row in enumerate(rows):
        top = TOP + i * 26 + 10
        body.append(f'<text class="tick" x="252" y="{top + 4}" text-anchor="end">'
                    f'{esc(row.label + (" *" if row.significant else ""))}</text>')
        parts = ""
        if row.low is not None and row.high is not None:
            dash = "" if row.significant else ' stroke-dasharray="4 3"'
            parts += (f'<line x1="{x(row.low)}" x2="{x(row.high)}" y1="{top}" y2="{top}" '
                      f'stroke="{PALETTE[5] if row.significant else PALETTE[0]}" '
                      f'stroke-width="3"{dash}/>')
        if row.point is not None:
            parts += marker("diamond" if row.significant else "circle", x(row.point), top,
                            PALETTE[5] if row.significant else PALETTE[0])
        series.append(f'<g class="series" data-name="{esc(row.label)}">{parts}</g>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-label="{esc(title)}"><title>{esc(title)}</title>{"".join(body)}'
           f'{"".join(series)}</svg>')
    return Chart(svg, len(rows), ["metric", "change (CI)", "significant"],
                 [[r.label, r.text, "yes" if r.significant else "no"] for r in rows])


def heatmap(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Number]]],
            marks: Sequence[Sequence[bool]]) -> Chart:
    """Cells shaded by value (score / threshold, capped at 1); a marked (drifted) cell is
    orange and carries a bold ✕, so it reads without colour; a missing value is hatched."""
    cell_w = max(14.0, min(48.0, (WIDTH - 230) / max(1, len(columns))))
    height = TOP + 22 * max(1, len(rows)) + 50
    width = int(200 + cell_w * len(columns) + 20)
    body = []
    for i, (name, vs) in enumerate(rows):
        top = TOP + i * 22
        label = name if len(name) <= 26 else name[:25] + "…"
        body.append(f'<text class="tick" x="194" y="{top + 15}" text-anchor="end">'
                    f"{esc(label)}</text>")
        cells = []
        for j, v in enumerate(vs):
            left = round(200 + j * cell_w, 1)
            fill = "url(#hm-none)" if v is None else _heat(v, marks[i][j])
            cells.append(f'<rect x="{left}" y="{top}" width="{round(cell_w - 2, 1)}" '
                         f'height="20" fill="{fill}"/>')
            if marks[i][j]:
                cells.append(f'<text class="mark" x="{left + cell_w / 2 - 1}" y="{top + 15}" '
                             'text-anchor="middle">✕</text>')
        body.append(f'<g class="series" data-name="{esc(name)}">{"".join(cells)}</g>')
    every = max(1, math.ceil(len(columns) / 10))
    body += [f'<text class="tick" x="{round(200 + (j + 0.5) * cell_w, 1)}" '
             f'y="{height - 24}" text-anchor="middle">{esc(c)}</text>'
             for j, c in enumerate(columns) if j % every == 0]
    defs = ('<pattern id="hm-none" width="6" height="6" patternUnits="userSpaceOnUse">'
            '<path d="M0 6L6 0" stroke="#999" stroke-width="1"/></pattern>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{esc(title)}"><title>{esc(title)}</title><defs>{defs}</defs>'
           f'{"".join(body)}</svg>')
    table = [[name, *("-" if v is None else f"{v:.2f}" + (" drifted" if marks[i][j] else "")
                      for j, v in enumerate(vs))] for i, (name, vs) in enumerate(rows)]
    return Chart(svg, len(rows), ["feature", *columns], table)


def _heat(value: float, drifted: bool) -> str:
    """Orange for a drifted cell only; otherwise blue, darker as the score nears (or
    passes, without a significant test) its threshold."""
    if drifted:
        return "#D55E00"
    share = max(0.0, min(1.0, value))
    return f"hsl(205 70% {round(92 - 45 * share)}%)"
