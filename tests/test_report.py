"""genailog report without a browser: escaping, sections, numbers, size, CLI, sparklines.

The browser half (rendering, network, console, screenshot) is tests/test_report_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.api import summarize
from genailog.cli.app import app
from genailog.report import sparkline
from genailog.report.html import json_for_script, render_html
from genailog.report.model import ReportOptions, build_report
from genailog.sample import generate_sample, sample_frame

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
HOSTILE = '</script><script>alert(1)</script><img src=x onerror=alert(2)>"\'&<!--'


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return sample_frame(list(generate_sample(1500, seed=3, days=6)))


class _Tags(HTMLParser):
    """Every start tag with its attributes, as the browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_hostile_names_stay_text(frame: pl.DataFrame) -> None:
    """A model, user, session, version and eval score named with markup change no tag."""
    hostile = frame.with_columns(
        pl.when(pl.col("model") == "gpt-4.1").then(pl.lit(HOSTILE)).otherwise(pl.col("model"))
        .alias("model"),
        pl.lit(HOSTILE + "u").alias("user_id"), pl.lit(HOSTILE + "s").alias("session_id"),
        pl.when(pl.col("prompt_version") == "v3").then(pl.lit(HOSTILE))
        .otherwise(pl.col("prompt_version")).alias("prompt_version"),
        pl.lit(json.dumps({HOSTILE: 0.5})).alias("eval_scores"),
    )
    page = render_html(build_report(hostile, ReportOptions(drift=False,
                                                            title=HOSTILE)))
    tags = _tags(page)
    assert [t for t, _ in tags.tags].count("script") == 1  # the JSON data block only
    assert [t for t, _ in tags.tags].count("img") == 0
    assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")]
    assert page.count("</script") == 1 and "<!--" not in page
    assert HOSTILE in "".join(tags.data)  # shown, as text
    data = re.search(r'id="genailog-summary">(.*)</script>', page, re.S)
    assert data is not None
    assert json.loads(data.group(1)) == summarize(hostile).to_dict()


@given(st.text())
def test_json_for_script_round_trips_and_never_closes_the_element(text: str) -> None:
    encoded = json_for_script({"k": text})
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert json.loads(encoded) == {"k": text}


def test_csp_forbids_every_fetch_and_allows_only_its_own_style(frame: pl.DataFrame) -> None:
    import base64
    import hashlib

    page = render_html(build_report(frame, ReportOptions(diff=False, drift=False)))
    csp = next(a["content"] for t, a in _tags(page).tags
               if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None
    rules = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    for directive in ("default-src", "script-src", "img-src", "connect-src", "font-src"):
        assert rules[directive] == "'none'"
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert rules["style-src"] == f"'sha256-{digest}'"
    assert not re.search(r"(?:src|href)=\"(?!#)", page)  # no link leaves the page
    assert " style=" not in page  # inline style attributes would be blocked


def test_sections_on_sample_logs() -> None:
    page = render_html(build_report(str(SAMPLE)))
    ids = [a["id"] for t, a in _tags(page).tags if t == "section"]
    assert ids == ["overview", "cost", "latency", "quality", "versions", "drift"]
    # the readings state tested findings: sample_logs' v3 is worse, week two drifts
    assert "v3 against v2 (prompt_version): significantly worse in" in page
    assert re.search(r"\d+ of 13 windows drifted from the reference", page)
    for tag, attrs in _tags(page).tags:
        if tag == "figure":
            assert int(attrs["data-series"] or 0) > 0


def test_sections_absent_without_their_data(frame: pl.DataFrame) -> None:
    bare = frame.with_columns(
        pl.lit(None, pl.Float64).alias(c) for c in ("latency_ms", "ttft_ms", "feedback_rating",
                                                    "cost_usd")
    ).with_columns(pl.lit(None, pl.Boolean).alias(c) for c in ("hallucination_flag", "refusal")
    ).with_columns(pl.lit(None, pl.String).alias(c) for c in ("eval_scores", "prompt_version"))
    page = render_html(build_report(bare, ReportOptions(drift=False)))
    ids = [a["id"] for t, a in _tags(page).tags if t == "section"]
    assert "latency" not in ids
    assert "versions" in ids and "Not compared: fewer than two values" in page
    charts = [a["id"] for t, a in _tags(page).tags if t == "figure"]
    assert "latency-ecdf" not in charts and "feedback-over-time" not in charts
    assert "quality-rates" in charts  # error rate is still known


def test_overview_is_summarize_with_the_same_filters(frame: pl.DataFrame) -> None:
    options = ReportOptions(where="model != 'o4-mini'", since="2026-11-03", diff=False,
                            drift=False)
    report = build_report(frame, options)
    expected = summarize(frame, where=options.where, since=options.since).to_dict()
    assert report.overview == expected
    assert report.overview["total"]["requests"] < frame.height


def test_head_sampled_records_weighted_overview_and_a_note(frame: pl.DataFrame) -> None:
    sampled = frame.with_columns(pl.lit(0.5).alias("sample_rate"))
    report = build_report(sampled, ReportOptions(diff=False, drift=False))
    # weighted sums are not bit-reproducible between two summarize calls (summation order)
    expected = summarize(sampled).to_dict()["total"]
    for key, value in expected.items():
        got = report.overview["total"][key]
        assert got == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value)
    assert report.overview["total"]["requests"] == 2 * frame.height  # weighted estimate
    assert sum(v or 0 for s in report.by_model.values() for v in s["requests"]) == frame.height
    assert "the charts count the records as logged" in render_html(report)


def test_series_add_up_to_the_overview(frame: pl.DataFrame) -> None:
    """Per-window, per-model requests and errors sum to summarize's totals; cost to its
    cost (float sums in another order: within 1e-9)."""
    report = build_report(frame, ReportOptions(diff=False, drift=False))
    total = report.overview["total"]
    per = report.by_model.values()
    assert sum(v or 0 for s in per for v in s["requests"]) == total["requests"]
    assert sum(v or 0 for s in per for v in s["errors"]) == total["errors"]
    cost = sum(v or 0.0 for s in per for v in s["cost_usd"])
    assert cost == pytest.approx(total["cost_usd"], rel=1e-9)
    by_window = summarize(frame, window=report.window).to_dict()["groups"]
    assert [g["latency_ms_p95"] for g in by_window] == pytest.approx(
        report.timing["latency_ms"]["p95"], rel=1e-12)
    assert [g["hallucination_rate"] for g in by_window] == pytest.approx(
        report.quality_over_time["hallucination_rate"], rel=1e-12)


def test_size_depends_on_groups_not_records() -> None:
    small = sample_frame(list(generate_sample(2000, seed=5, days=7)))
    large = sample_frame(list(generate_sample(20000, seed=5, days=7)))
    sizes = [len(render_html(build_report(f, ReportOptions(diff=False, drift=False))))
             for f in (small, large)]
    assert sizes[1] < sizes[0] * 1.15, sizes  # 10x the records, about the same page


def test_cli_writes_the_file_and_maps_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(SAMPLE / "week1.jsonl"), "--out", str(out),
                                 "--no-drift", "--no-diff"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left behind
    bad = runner.invoke(app, ["report", str(SAMPLE), "--out", str(out), "--where", "nope = 1"])
    assert bad.exit_code == 2, bad.output
    missing = runner.invoke(app, ["report", str(tmp_path / "none.jsonl"), "--out", str(out)])
    assert missing.exit_code == 3, missing.output
    window = runner.invoke(app, ["report", str(SAMPLE), "--out", str(out), "--window", "1x"])
    assert window.exit_code == 2, window.output
    version = runner.invoke(app, ["report", str(SAMPLE), "--out", str(out), "--no-drift",
                                  "--baseline", "v9", "--candidate", "v1"])
    assert version.exit_code == 2 and "v9" in version.output, version.output
    empty = runner.invoke(app, ["report", str(SAMPLE), "--out", str(out),
                                "--since", "2030-01-01"])
    assert empty.exit_code == 2 and "no timestamped records" in empty.output


def test_summarize_table_draws_a_sparkline_per_group_and_metric() -> None:
    result = CliRunner().invoke(app, ["summarize", str(SAMPLE), "--by", "model",
                                      "--window", "1d"])
    assert result.exit_code == 0, result.output
    trend = result.stdout[result.stdout.index("trend per 1d, 2026-11-02 .. 2026-11-15"):]
    rows = [line for line in trend.splitlines() if line.strip().startswith(("gpt", "o4"))]
    assert len(rows) == 3  # gpt-4.1, gpt-4.1-mini, o4-mini
    for row in rows:
        lines = re.findall(r"[▁▂▃▄▅▆▇█ ]{14}", row)
        assert len([x for x in lines if x.strip()]) >= 4, row  # 14 days, four metrics
    plain = CliRunner().invoke(app, ["summarize", str(SAMPLE), "--by", "model"])
    assert "trend per" not in plain.stdout


@pytest.mark.parametrize(("values", "line"), [
    ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█"),
    ([5, None, 5], "▁ ▁"),
    ([None, None], "  "),
    ([0.0, 10.0, 5.0], "▁█▅"),
])  # fmt: skip
def test_sparkline(values: list[float | None], line: str) -> None:
    assert sparkline(values) == line


@given(st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9)), max_size=50))
def test_sparkline_keeps_one_cell_per_value_and_the_extremes(values: list[Any]) -> None:
    line = sparkline(values)
    assert len(line) == len(values)
    known = [v for v in values if v is not None]
    if known and max(known) > min(known):
        assert line[values.index(max(known))] == "█"
        assert line[values.index(min(known))] == "▁"


def test_charts_from_the_partials_equal_numbers_from_the_records(frame: pl.DataFrame) -> None:
    """The latency ECDF, per-window-and-model p95 and top users come from summarize's
    partials; here they are recomputed from the records with numpy and per-record cost."""
    import numpy as np

    from genailog.pricing import default_prices
    from genailog.pricing.cost import with_cost

    report = build_report(frame, ReportOptions(diff=False, drift=False, window="1d"))
    latency = frame.filter(pl.col("latency_ms").is_not_null())
    for model, points in report.latency_ecdf.items():
        values = latency.filter(pl.col("model") == model)["latency_ms"].to_numpy()
        expected = np.quantile(values, np.linspace(0, 1, len(points)), method="linear")
        assert points == pytest.approx(expected.tolist(), rel=1e-12)
    day = latency.with_columns(pl.col("timestamp").dt.truncate("1d").alias("d"))
    starts = sorted(day["d"].unique().to_list())
    for model, series in report.timing["latency_ms_p95_by_model"].items():
        for start, got in zip(starts, series, strict=True):
            values = day.filter((pl.col("d") == start) & (pl.col("model") == model))
            want = (None if values.height == 0 else
                    float(np.quantile(values["latency_ms"].to_numpy(), 0.95)))
            assert got == (None if want is None else pytest.approx(want, rel=1e-12))
    priced = with_cost(frame.lazy(), default_prices()).collect()
    per_user = (priced.group_by("user_id").agg(pl.col("_cost").sum())
                .sort(["_cost", "user_id"], descending=[True, False]).head(10))
    assert [u["key"] for u in report.top_users] == per_user["user_id"].to_list()
    assert [u["cost_usd"] for u in report.top_users] == pytest.approx(
        per_user["_cost"].to_list(), rel=1e-9)


def test_version_field_may_be_a_key_the_cells_already_have(frame: pl.DataFrame) -> None:
    report = build_report(frame, ReportOptions(diff=False, drift=False, version_field="model"))
    assert {row["version"] for row in report.quality_by_version} == set(
        frame["model"].unique().to_list())


_SCORE_VALUES = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-10**6, 10**6),
                          st.booleans(), st.none(), st.text(max_size=5),
                          st.dictionaries(st.sampled_from("xy"), st.integers(0, 9), max_size=1))


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c:d", "é"]), _SCORE_VALUES,
                                max_size=3).map(json.dumps)
                | st.sampled_from(["0.5", "[1]", "{}"]), min_size=1,
                max_size=12), st.integers(1, 4))
@example(texts=['{"a": 0.0}', '{"a": false}'], sample=1)  # a boolean is not a 0.0 score
def test_eval_scores_fast_decode_equals_the_full_inference(texts: list[str],
                                                           sample: int) -> None:
    """The eval texts decoded from a sample's fields (when nothing was lost) read the same
    scores as a decode with the schema inferred from every text, or fail alike. (No text
    repeats a key: the reader refuses such records, and polars' inference over them
    differs from run to run.)"""
    import genailog.report.model as model

    series = pl.Series(texts)

    def scores(decode: Any) -> Any:
        try:
            decoded = decode(series)
        except pl.exceptions.PolarsError:
            return "error"
        if not isinstance(decoded.dtype, pl.Struct):
            return decoded.dtype
        names = [f.name for f in decoded.dtype.fields
                 if f.dtype.is_numeric() or f.dtype == pl.Boolean]
        return {n: decoded.struct.field(n).cast(pl.Float64).to_list() for n in names}

    full = scores(lambda s: s.str.json_decode(infer_schema_length=None))
    old, model._SAMPLE = model._SAMPLE, sample
    try:
        fast = scores(model._decode_objects)
    finally:
        model._SAMPLE = old
    assert fast == full


def test_version_field_may_be_the_eval_scores_column(frame: pl.DataFrame) -> None:
    """`--version-field eval_scores` once selected the column twice (exit 70)."""
    report = build_report(frame, ReportOptions(diff=False, drift=False,
                                               version_field="eval_scores"))
    texts = frame.filter(pl.col("timestamp").is_not_null())["eval_scores"]
    assert {row["version"] for row in report.quality_by_version} == {
        "(null)" if t is None else t for t in texts.unique().to_list()}
