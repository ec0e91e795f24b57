"""``summarize PATHS --reference MAIN``: deltas per group, and gates naming the reference.

Numbers are checked against a plain-Python computation over the records written; gates
against the groups whose cost was raised on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.analysis.reference import compare_summaries, deltas, summarize_against
from genailog.analysis.summarize import summarize
from genailog.cli.app import app
from genailog.ingest import read_logs

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "schemas" / "summarize.output.schema.json").read_text())
GATE = "cost_per_request > 1.1 * reference.cost_per_request"


def _records(seed: int, models: dict[str, float], n: int = 120) -> list[dict[str, Any]]:
    """``n`` calls per model; the model's value scales its cost."""
    rng = np.random.default_rng(seed)
    out = []
    for model, scale in models.items():
        for i in range(n):
            out.append({"timestamp": f"2026-11-0{1 + i % 5}T10:00:00Z", "model": model,
                        "status": "error" if rng.random() < 0.05 else "ok",
                        "latency_ms": float(rng.lognormal(6.5, 0.4)),
                        "cost_usd": float(rng.gamma(2, 0.001)) * scale,
                        "input_tokens": int(rng.poisson(300)),
                        "output_tokens": int(rng.poisson(120))})
    return out


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["summarize", *args])


@pytest.fixture
def artifacts(tmp_path: Path) -> tuple[Path, Path]:
    """main: three models; the PR: gpt-4.1 costs 50% more, o4-mini is new, llama gone."""
    main = _write(tmp_path / "main.jsonl",
                  _records(1, {"gpt-4.1": 1.0, "gpt-4.1-mini": 1.0, "llama": 1.0}))
    head = _write(tmp_path / "pr.jsonl",
                  _records(1, {"gpt-4.1": 1.5, "gpt-4.1-mini": 1.0, "o4-mini": 1.0}))
    return head, main


def _by_model(path: Path) -> dict[str, dict[str, float]]:
    """The independent computation: plain Python over the JSON lines."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        rows.setdefault(record["model"], []).append(record)
    return {model: {
        "requests": len(rs),
        "error_rate": sum(r["status"] == "error" for r in rs) / len(rs),
        "cost_per_request": sum(r["cost_usd"] for r in rs) / len(rs),
        "latency_ms_p95": float(np.percentile([r["latency_ms"] for r in rs], 95)),
    } for model, rs in rows.items()}


def test_deltas_per_group_match_an_independent_computation(artifacts: tuple[Path, Path]
                                                           ) -> None:
    head, main = artifacts
    result = _cli(str(head), "--reference", str(main), "--by", "model", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    ours, theirs = _by_model(head), _by_model(main)
    groups = {g["group"]["model"]: g for g in data["reference"]["groups"]}
    for model in ("gpt-4.1", "gpt-4.1-mini"):
        for metric, want in ours[model].items():
            cell = groups[model]["metrics"][metric]
            assert cell["current"] == pytest.approx(want, rel=1e-9), (model, metric)
            assert cell["reference"] == pytest.approx(theirs[model][metric], rel=1e-9)
            assert cell["delta"] == pytest.approx(want - theirs[model][metric], abs=1e-9)
    cost = groups["gpt-4.1"]["metrics"]["cost_per_request"]
    assert cost["delta_pct"] == pytest.approx(50, abs=1e-6)
    assert groups["o4-mini"]["in_reference"] is False
    assert groups["o4-mini"]["metrics"]["requests"]["reference"] is None
    assert data["reference"]["only_reference"] == ["model=llama"]
    assert data["reference"]["source"] == "logs"
    assert data["reference"]["records"] == 360


def test_a_gate_on_the_reference_trips_where_cost_rose_and_fails_closed_on_new_groups(
        artifacts: tuple[Path, Path]) -> None:
    head, main = artifacts
    result = _cli(str(head), "--reference", str(main), "--by", "model", "--fail-if", GATE,
                  "--format", "json")
    assert result.exit_code == 1, result.output
    gate = json.loads(result.stdout)["gates"][0]
    reasons = {f["label"]: f["reason"] for f in gate["failed"]}
    assert reasons["model=gpt-4.1"] == "condition true"
    assert "reference.cost_per_request" in reasons["model=o4-mini"]  # no reference: null
    assert set(reasons) == {"model=gpt-4.1", "model=o4-mini", "total"}
    assert "gate failed: " + GATE + " for model=gpt-4.1" in result.stderr


def test_allow_empty_lets_a_new_group_pass_but_not_a_real_rise(artifacts: tuple[Path, Path]
                                                               ) -> None:
    head, main = artifacts
    result = _cli(str(head), "--reference", str(main), "--by", "model", "--fail-if", GATE,
                  "--allow-empty", "--format", "json")
    assert result.exit_code == 1, result.output
    failed = {f["label"] for f in json.loads(result.stdout)["gates"][0]["failed"]}
    assert failed == {"model=gpt-4.1", "total"}


def test_an_unchanged_artifact_passes_its_gate(artifacts: tuple[Path, Path]) -> None:
    _, main = artifacts
    result = _cli(str(main), "--reference", str(main), "--by", "model", "--fail-if", GATE)
    assert result.exit_code == 0, result.output
    assert "(=)" in result.stdout


def test_a_summary_json_reference_gives_the_same_deltas_as_its_logs(
        artifacts: tuple[Path, Path], tmp_path: Path) -> None:
    head, main = artifacts
    summary = tmp_path / "main-summary.json"
    summary.write_text(_cli(str(main), "--by", "model", "--format", "json").stdout)
    from_json = json.loads(_cli(str(head), "--reference", str(summary), "--by", "model",
                                "--format", "json").stdout)
    from_logs = json.loads(_cli(str(head), "--reference", str(main), "--by", "model",
                                "--format", "json").stdout)
    assert from_json["reference"]["source"] == "summary"
    stamped = tmp_path / "main.json"  # what --output writes: the summary and a stamp
    assert _cli(str(main), "--by", "model", "--output", str(stamped), "--quiet").exit_code == 0
    from_output = json.loads(_cli(str(head), "--reference", str(stamped), "--by", "model",
                                  "--format", "json").stdout)
    assert from_output["reference"] == from_json["reference"]
    assert from_json["reference"]["groups"] == from_logs["reference"]["groups"]
    assert from_json["reference"]["total"] == from_logs["reference"]["total"]


def test_library_equals_cli_and_keeps_the_summary_contract(artifacts: tuple[Path, Path]
                                                          ) -> None:
    head, main = artifacts
    library = summarize_against(read_logs([head]), read_logs([main]), by=["model"],
                                fail_if=[GATE]).to_dict()
    cli = json.loads(_cli(str(head), "--reference", str(main), "--by", "model", "--fail-if",
                          GATE, "--format", "json").stdout)
    assert library == cli
    plain = summarize(read_logs([head]), by=["model"]).to_dict()
    assert {k: v for k, v in library.items() if k not in ("reference", "gates", "passed")} \
        == {k: v for k, v in plain.items() if k not in ("gates", "passed")}


def test_markdown_and_csv(artifacts: tuple[Path, Path]) -> None:
    head, main = artifacts
    md = _cli(str(head), "--reference", str(main), "--by", "model", "--format", "markdown")
    assert "## genailog summarize: current vs reference" in md.stdout
    assert "| gpt-4.1 | 120 (=) |" in md.stdout
    assert "only in the reference (gone): model=llama" in md.stdout
    assert "not in the reference (new): model=o4-mini" in md.stdout
    rows = _cli(str(head), "--reference", str(main), "--by", "model", "--format",
                "csv").stdout.splitlines()
    assert rows[0] == "scope,model,metric,current,reference,delta,delta_pct"
    assert any(r.startswith("group,gpt-4.1,cost_per_request,") for r in rows)
    assert any(r.startswith("total,,requests,360,360,0.0,0.0") for r in rows)


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--window", "1d"], "windows of two artifacts do not line up"),
    (["--sort", "cost_usd"], "--sort does not combine with --reference"),
    (["--partial-out", "p.json"], "--partial-out does not combine with --reference"),
    (["--fail-if", "cost_per_request > reference.cost_per_requests"],
     "unknown metric reference.cost_per_requests (did you mean reference.cost_per_request?)"),
])
def test_refused_before_any_log_is_read(tmp_path: Path, args: list[str], message: str
                                        ) -> None:
    result = _cli(str(tmp_path / "none.jsonl"), "--reference", str(tmp_path / "none2.jsonl"),
                  *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_a_summary_grouped_otherwise_is_refused(artifacts: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    head, main = artifacts
    summary = tmp_path / "main-summary.json"
    summary.write_text(_cli(str(main), "--by", "model", "--format", "json").stdout)
    result = _cli(str(head), "--reference", str(summary))
    assert result.exit_code == 2, result.output
    assert "grouped by model, this one by nothing" in result.stderr


def test_a_broken_summary_json_is_one_line_exit_3(artifacts: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    head, _ = artifacts
    broken = tmp_path / "s.json"
    broken.write_text(json.dumps({"by": [], "window": None, "groups": {}, "total": {}}))
    result = _cli(str(head), "--reference", str(broken))
    assert result.exit_code == 3, result.output
    assert "groups must be a list" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_compare_summaries_refuses_a_windowed_reference(artifacts: tuple[Path, Path]) -> None:
    head, main = artifacts
    windowed = summarize(read_logs([main]), window="1d").to_dict()
    with pytest.raises(Exception, match="time windows"):
        compare_summaries(summarize(read_logs([head])), windowed)


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@given(finite, finite)
def test_delta_is_current_minus_reference_and_swaps_sign(a: float, b: float) -> None:
    forward = deltas({"cost_usd": a}, {"cost_usd": b})["cost_usd"]
    back = deltas({"cost_usd": b}, {"cost_usd": a})["cost_usd"]
    assert forward["delta"] == a - b and back["delta"] == b - a
    if b != 0:
        assert forward["delta_pct"] == pytest.approx((a - b) / abs(b) * 100)
    else:
        assert forward["delta_pct"] is None


def test_sketch_quantiles_apply_to_both_sides(artifacts: tuple[Path, Path]) -> None:
    head, main = artifacts
    data = json.loads(_cli(str(head), "--reference", str(main), "--quantiles", "sketch",
                           "--format", "json").stdout)
    exact = json.loads(_cli(str(head), "--reference", str(main), "--format", "json").stdout)
    assert data["quantiles"]["method"] == "sketch"
    for side in ("current", "reference"):
        got = data["reference"]["total"]["latency_ms_p95"][side]
        want = exact["reference"]["total"]["latency_ms_p95"][side]
        assert got == pytest.approx(want, rel=0.011)


def test_partitions_the_filters_exclude_are_skipped_on_both_sides(tmp_path: Path) -> None:
    for side in ("main", "pr"):
        for day in ("2026-11-01", "2026-11-02"):
            folder = tmp_path / side / f"day={day}"
            folder.mkdir(parents=True)
            _write(folder / "a.jsonl", [dict(r, timestamp=f"{day}T10:00:00Z")
                                        for r in _records(3, {"gpt-4.1": 1.0}, n=30)])
    result = _cli(str(tmp_path / "pr"), "--reference", str(tmp_path / "main"), "--where",
                  "day = '2026-11-02'", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["reference"]["total"]["requests"] == {"current": 30, "reference": 30,
                                                      "delta": 0.0, "delta_pct": 0.0}
    assert result.stderr.count("1 of 2 file(s) skipped unopened") == 2, result.stderr


def test_ci_outputs_carry_the_reference_gates(artifacts: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    """--output .xml has one failure per failed gate row, .md the delta table, .json the
    summarize schema with its reference object."""
    import xml.etree.ElementTree as ET

    head, main = artifacts
    paths = [tmp_path / name for name in ("r.xml", "r.md", "r.json")]
    result = _cli(str(head), "--reference", str(main), "--by", "model", "--fail-if", GATE,
                  *(a for p in paths for a in ("--output", str(p))), "--quiet")
    assert result.exit_code == 1, result.output
    failures = ET.parse(paths[0]).getroot().iter("failure")
    assert len(list(failures)) == 3  # gpt-4.1, o4-mini (not in main), total
    assert "current vs reference" in paths[1].read_text()
    stamped = json.loads(paths[2].read_text())
    jsonschema.validate(stamped, SCHEMA)
    assert stamped["reference"]["only_reference"] == ["model=llama"]


def test_a_reference_priced_otherwise_is_said(artifacts: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    head, main = artifacts
    summary = json.loads(_cli(str(main), "--format", "json").stdout)
    summary["prices"] = {**summary["prices"], "source": "old.json", "as_of": "2025-01-01"}
    (tmp_path / "s.json").write_text(json.dumps(summary))
    result = _cli(str(head), "--reference", str(tmp_path / "s.json"), "--format", "markdown")
    assert "prices differ: the reference was priced by old.json (as of 2025-01-01)" \
        in result.stdout
    same = _cli(str(head), "--reference", str(main), "--format", "json")
    assert json.loads(same.stdout)["reference"]["prices"] == summary["prices"] | {
        "source": json.loads(same.stdout)["prices"]["source"],
        "as_of": json.loads(same.stdout)["prices"]["as_of"]}
    assert "prices differ" not in _cli(str(head), "--reference", str(main)).stdout
