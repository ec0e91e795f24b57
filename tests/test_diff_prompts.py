"""Behaviour of ``diff_prompts`` and ``genailog diff-prompts`` on synthetic A/B logs.

The logs are built with known effects (a latency shift, a hallucination-rate change, a
rating drop on some cases) so each test knows the right answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from genailog.analysis.compare import (
    DiffOptions,
    DiffResult,
    MinEffect,
    diff_prompts,
    parse_min_effect,
)
from genailog.cli.app import app
from genailog.errors import InputError, UsageError
from genailog.ingest.frame import canonical_frame

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "schemas" / "diff-prompts.output.schema.json").read_text())


def ab_records(n: int, version: str, seed: int, *, latency: float = 1.0,
               hallucination: float = 0.04, **extra: Any) -> list[dict[str, Any]]:
    """``n`` canonical records of one version; ``latency`` scales every call's latency."""
    rng = np.random.default_rng(seed)
    lat = rng.lognormal(6.5, 0.5, n) * latency
    cost, tok_in, tok_out = rng.gamma(2, 0.001, n), rng.poisson(400, n), rng.poisson(200, n)
    hall, errors = rng.random(n) < hallucination, rng.random(n) < 0.02
    rating, faith = rng.integers(3, 6, n), rng.beta(8, 2, n)
    return [
        {"timestamp": "2026-11-01T00:00:00Z", "model": "gpt-4.1", "prompt_version": version,
         "latency_ms": float(lat[i]), "cost_usd": float(cost[i]),
         "input_tokens": int(tok_in[i]), "output_tokens": int(tok_out[i]),
         "status": "error" if errors[i] else "ok", "hallucination_flag": bool(hall[i]),
         "feedback_rating": float(rating[i]), "eval_scores": {"faithfulness": float(faith[i])},
         "case_id": f"case-{i}", "prompt": f"question {i}", "response": f"answer {i}", **extra}
        for i in range(n)
    ]


def ab_frame(n: int = 2000, seed: int = 0, **candidate: Any) -> pl.DataFrame:
    frame, _ = canonical_frame(ab_records(n, "v1", seed) + ab_records(n, "v2", seed + 1,
                                                                      **candidate))
    return frame


def _row(result: DiffResult, metric: str, statistic: str | None = None) -> dict[str, Any]:
    rows = [m for m in result.to_dict()["metrics"] if m["metric"] == metric
            and (statistic is None or m["statistic"] == statistic)]
    assert len(rows) == 1, rows
    return rows[0]


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["diff-prompts", *args])


# --- the "Done when" scenarios -------------------------------------------------------


def test_latency_and_hallucination_regressions_flagged_cost_and_tokens_not() -> None:
    result = diff_prompts(ab_frame(latency=1.2, hallucination=0.08), "v1", "v2")
    assert result.verdict == "regression"
    flagged = {(m.metric, m.statistic) for m in result.regressions}
    assert {("latency_ms", "median"), ("hallucination_rate", "rate")} <= flagged
    for metric in ("cost_usd", "input_tokens", "output_tokens"):
        assert not _row(result, metric)["regression"], metric
    latency = _row(result, "latency_ms", "median")
    assert latency["delta_pct"] == pytest.approx(20, abs=5)
    assert latency["ci_low"] > 0 and latency["test"] == "mann-whitney-u"
    hall = _row(result, "hallucination_rate")
    assert hall["test"] == "fisher-exact" and hall["ci_low"] > 0 and hall["direction"] == "worse"


def test_improvement_is_better_and_exits_0(tmp_path: Path) -> None:
    records = ab_records(2000, "v1", 3, hallucination=0.08) + ab_records(
        2000, "v2", 4, latency=0.8, hallucination=0.04)
    result = _cli(str(_write(tmp_path / "ab.jsonl", records)), "--baseline", "v1",
                  "--candidate", "v2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "no regression"
    directions = {(m["metric"], m["statistic"]): m["direction"] for m in data["metrics"]}
    assert directions[("latency_ms", "median")] == "better"
    assert directions[("hallucination_rate", "rate")] == "better"


def test_identical_versions_rarely_alarm_across_seeds() -> None:
    alarms = [seed for seed in range(20)
              if diff_prompts(ab_frame(seed=100 * seed), "v1", "v2",
                              DiffOptions(seed=seed)).regressions]
    assert len(alarms) <= 2, alarms


def test_paired_rating_drop_on_a_fifth_of_cases_is_caught() -> None:
    rng = np.random.default_rng(21)
    base = ab_records(300, "v1", 21)
    cand = [dict(r, prompt_version="v2") for r in base]
    for i in rng.choice(300, size=60, replace=False):
        cand[i]["feedback_rating"] = 1.0
        cand[i]["response"] = "worse answer"
    frame, _ = canonical_frame(base + cand)
    result = diff_prompts(frame, "v1", "v2", DiffOptions(pair_on="case_id"))
    rating = _row(result, "feedback_rating")
    assert rating["regression"] and rating["test"] == "wilcoxon-signed-rank"
    assert rating["n_baseline"] == rating["n_candidate"] == 300
    assert result.n_matched == 300
    changes = result.to_dict()["paired_changes"]
    assert changes["responses_changed"] == 60 and changes["cases_worse"] <= 60
    assert changes["examples"] and all(
        e["candidate_response"] == "worse answer" for e in changes["examples"])
    assert all(any(w.startswith("feedback_rating") for w in e["worse"])
               for e in changes["examples"])


# --- statistics details --------------------------------------------------------------


def test_insufficient_data_tails_need_more_than_medians() -> None:
    result = diff_prompts(ab_frame(n=50), "v1", "v2")
    assert _row(result, "latency_ms", "median")["direction"] != "insufficient data"
    p95 = _row(result, "latency_ms", "p95")
    assert p95["direction"] == "insufficient data" and p95["p_value"] is None
    assert "100" in p95["note"]
    tiny = diff_prompts(ab_frame(n=10), "v1", "v2")
    assert tiny.verdict == "insufficient data" and not tiny.regressions


def test_min_effect_gates_small_significant_changes() -> None:
    frame = ab_frame(n=6000, seed=5, latency=1.04)
    default = _row(diff_prompts(frame, "v1", "v2"), "latency_ms", "median")
    assert default["significant"] and default["direction"] == "worse"
    assert not default["regression"] and default["min_effect"] == "5%"
    strict = diff_prompts(frame, "v1", "v2",
                          DiffOptions(min_effect={"latency_ms": MinEffect(2.0)}))
    assert _row(strict, "latency_ms", "median")["regression"]


def test_results_reproducible_with_seed() -> None:
    frame = ab_frame(n=300, latency=1.1)
    one = diff_prompts(frame, "v1", "v2", DiffOptions(seed=7)).to_dict()
    assert one == diff_prompts(frame, "v1", "v2", DiffOptions(seed=7)).to_dict()
    other = diff_prompts(frame, "v1", "v2", DiffOptions(seed=8)).to_dict()
    assert _row_ci(one) != _row_ci(other)


def _row_ci(data: dict[str, Any]) -> tuple[float, float]:
    row = next(m for m in data["metrics"] if m["statistic"] == "p95")
    return row["ci_low"], row["ci_high"]


def test_eval_scores_expand_to_higher_is_better_metrics() -> None:
    base = ab_records(500, "v1", 1)
    cand = ab_records(500, "v2", 2)
    for r in cand:
        r["eval_scores"] = {"faithfulness": r["eval_scores"]["faithfulness"] * 0.8}
    frame, _ = canonical_frame(base + cand)
    row = _row(diff_prompts(frame, "v1", "v2"), "eval_scores.faithfulness")
    assert row["better_when"] == "higher" and row["regression"]


def test_user_fields_compare_with_their_direction() -> None:
    base = ab_records(400, "v1", 1, score=0.9, flagged=False)
    cand = ab_records(400, "v2", 2, score=0.5, flagged=True)
    frame, _ = canonical_frame(base + cand)
    result = diff_prompts(frame, "v1", "v2", DiffOptions(metrics=["score:higher", "flagged"]))
    assert [m.metric for m in result.metrics] == ["score", "flagged"]
    assert all(m.regression for m in result.metrics)
    with pytest.raises(UsageError, match="unknown metric 'nope'"):
        diff_prompts(frame, "v1", "v2", DiffOptions(metrics=["nope"]))
    with pytest.raises(UsageError, match="not compared: ttft_ms"):
        diff_prompts(frame, "v1", "v2",
                     DiffOptions(metrics=["score"], min_effect={"ttft_ms": MinEffect(1)}))


def test_where_filters_before_comparing() -> None:
    frame = ab_frame(n=200, latency=1.5)
    result = diff_prompts(frame, "v1", "v2", DiffOptions(where="latency_ms < 400"))
    assert result.n_baseline < 200 and result.n_candidate < 200


def test_parse_min_effect() -> None:
    assert parse_min_effect("latency_ms=10%") == ("latency_ms", MinEffect(10.0, True))
    assert parse_min_effect("error_rate=0.01") == ("error_rate", MinEffect(0.01, False))
    with pytest.raises(UsageError, match="METRIC=VALUE"):
        parse_min_effect("latency_ms")


# --- CLI -----------------------------------------------------------------------------


def test_cli_json_equals_library_and_matches_schema(tmp_path: Path) -> None:
    records = ab_records(300, "v1", 1) + ab_records(300, "v2", 2, latency=1.3)
    path = _write(tmp_path / "ab.jsonl", records)
    for extra in ([], ["--pair-on", "case_id"]):
        result = _cli(str(path), "--baseline", "v1", "--candidate", "v2", "--format", "json",
                      "--seed", "3", *extra)
        assert result.exit_code == 1, result.output
        data = json.loads(result.stdout)
        jsonschema.validate(data, SCHEMA)
        frame, _ = canonical_frame(records)
        library = diff_prompts(frame, "v1", "v2", DiffOptions(
            seed=3, pair_on=extra[1] if extra else None)).to_dict()
        assert {k: v for k, v in data.items() if k not in ("input", "skipped_records")} == {
            k: v for k, v in library.items() if k not in ("input", "skipped_records")}
        assert "latency_ms median" in data["regressions"]


def test_cli_missing_version_lists_versions_and_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path / "ab.jsonl", ab_records(30, "v1", 1) + ab_records(20, "v2", 2))
    result = _cli(str(path), "--baseline", "v1", "--candidate", "v9")
    assert result.exit_code == 2, result.output
    assert "v9" in result.stderr and "v1 (30)" in result.stderr and "v2 (20)" in result.stderr


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path / "ab.jsonl", ab_records(30, "v1", 1) + ab_records(30, "v2", 2))
    for args in (["--min-effect", "latency"], ["--pair-on", "no_such_field"],
                 ["--alpha", "2"], ["--metrics", "prompt"]):
        result = _cli(str(path), "--baseline", "v1", "--candidate", "v2", *args)
        assert result.exit_code == 2, (args, result.output)


def test_cli_table_and_markdown_escape_user_text(tmp_path: Path) -> None:
    records = ab_records(150, "[red]v1|x", 1) + ab_records(150, "v2", 2, latency=1.5)
    path = _write(tmp_path / "ab.jsonl", records)
    table = _cli(str(path), "--baseline", "[red]v1|x", "--candidate", "v2")
    assert table.exit_code == 1, table.output
    assert "[red]v1|x (150 records)" in table.stdout and "REGRESSION" in table.stdout
    assert "regression: latency_ms median" in table.stderr
    md = _cli(str(path), "--baseline", "[red]v1|x", "--candidate", "v2", "--format", "markdown")
    assert md.exit_code == 1, md.output
    assert "| metric | baseline |" in md.stdout and "\\[red\\]v1\\|x" in md.stdout
    assert "**REGRESSION**" in md.stdout


def test_cli_reports_skipped_invalid_records(tmp_path: Path) -> None:
    path = tmp_path / "ab.jsonl"
    _write(path, ab_records(40, "v1", 1) + ab_records(40, "v2", 2))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    result = _cli(str(path), "--baseline", "v1", "--candidate", "v2", "--format", "json",
                  "--on-invalid", "skip")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["skipped_records"] == 1


def test_hand_made_frame_without_canonical_columns() -> None:
    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"prompt_version": ["a"] * 200 + ["b"] * 200,
                          "latency_ms": np.concatenate([rng.normal(100, 10, 200),
                                                        rng.normal(130, 10, 200)])})
    result = diff_prompts(frame, "a", "b")
    assert [(m.metric, m.statistic) for m in result.metrics] == [
        ("latency_ms", "median"), ("latency_ms", "p95")]
    assert result.verdict == "regression"


def test_bad_eval_scores_text_is_an_input_error() -> None:
    frame = pl.DataFrame({"prompt_version": ["a", "b"] * 30, "latency_ms": [1.0] * 60,
                          "eval_scores": ['{"x": 1}', "not json"] * 30})
    with pytest.raises(InputError, match="eval_scores"):
        diff_prompts(frame, "a", "b")
    result = diff_prompts(frame, "a", "b", DiffOptions(metrics=["latency_ms", "latency_ms"]))
    assert len(result.metrics) == 2


def test_swapping_versions_mirrors_every_row() -> None:
    frame = ab_frame(n=300, seed=9, latency=1.2, hallucination=0.1)
    forward = diff_prompts(frame, "v1", "v2").to_dict()["metrics"]
    backward = diff_prompts(frame, "v2", "v1").to_dict()["metrics"]
    for f, b in zip(forward, backward, strict=True):
        assert (f["metric"], f["baseline"]) == (b["metric"], b["candidate"])
        assert f["delta"] == pytest.approx(-b["delta"], abs=1e-12)
        if f["test"] != "bootstrap":  # bootstrap p-values are Monte Carlo
            assert f["p_value"] == pytest.approx(b["p_value"])
        flipped = {"better": "worse", "worse": "better"}
        assert b["direction"] == flipped.get(f["direction"], f["direction"])


def test_cli_paired_markdown_shows_worsened_cases(tmp_path: Path) -> None:
    base = ab_records(100, "v1", 4)
    cand = [dict(r, prompt_version="v2") for r in base]
    for r in cand[:30]:
        r.update(feedback_rating=1.0, response="<b>bad</b> | answer")
    path = _write(tmp_path / "paired.jsonl", base + cand)
    result = _cli(str(path), "--baseline", "v1", "--candidate", "v2", "--pair-on", "case_id",
                  "--format", "markdown", "--examples", "2")
    assert result.exit_code == 1, result.output
    assert "### Cases that got worse" in result.stdout
    assert result.stdout.count("  - candidate: &lt;b>bad&lt;/b> \\| answer") == 2
    assert "responses changed: 30 of 100 compared" in result.stdout


def test_nan_and_constant_values() -> None:
    frame = pl.DataFrame({"prompt_version": ["a"] * 40 + ["b"] * 40,
                          "latency_ms": [float("nan")] * 10 + [5.0] * 70})
    result = diff_prompts(frame, "a", "b")
    median = _row(result, "latency_ms", "median")
    assert median["n_baseline"] == 30 and median["n_candidate"] == 40
    assert median["p_value"] == 1.0 and median["delta"] == 0.0
    assert median["direction"] == "no significant change"
