"""``genailog drift`` end to end: exit codes, JSON == library, schema, markdown, escaping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from drift_synthetic import synthetic_logs
from typer.testing import CliRunner

from genailog.analysis.drift import DriftOptions
from genailog.api import detect_drift
from genailog.cli.app import app

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas/drift.output.schema.json").read_text())


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["drift", *args])


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drift")
    paths = {"changed": root / "changed.parquet", "stationary": root / "stationary.parquet"}
    synthetic_logs(days=6, per_day=250, change_day=4, seed=31).write_parquet(paths["changed"])
    synthetic_logs(days=6, per_day=250, seed=32).write_parquet(paths["stationary"])
    return paths


def test_drifted_logs_exit_1_and_stationary_logs_exit_0(logs: dict[str, Path]) -> None:
    drifted = run(str(logs["changed"]))
    assert drifted.exit_code == 1, drifted.output
    assert "DRIFT" in drifted.stdout and "latency_ms: drifted in 2 windows" in drifted.stdout
    assert "2 of 5 judged windows drifted" in drifted.stderr
    quiet = run(str(logs["stationary"]))
    assert quiet.exit_code == 0, quiet.output
    assert "0 of 5 judged windows drifted" in quiet.stdout


def test_json_is_the_library_result_and_matches_the_schema(logs: dict[str, Path]) -> None:
    result = run(str(logs["changed"]), "--format", "json", "--seed", "4")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        data)
    library = detect_drift([str(logs["changed"])], options=DriftOptions(seed=4)).to_dict()
    assert data == json.loads(json.dumps(library))
    assert [w["drifted"] for w in data["windows"]] == [False, False, False, True, True]


def test_markdown_has_the_verdict_the_matrix_and_what_moved(logs: dict[str, Path]) -> None:
    result = run(str(logs["changed"]), "--format", "markdown")
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert text.startswith("## genailog drift: drift detected")
    assert "| window | records | verdict | latency_ms PSI |" in text
    assert "### What moved" in text and "crypto wallet" in text


def test_reference_files_and_reference_window_options(logs: dict[str, Path],
                                                      tmp_path: Path) -> None:
    frame = pl.read_parquet(logs["changed"])
    early = pl.col("timestamp") < pl.datetime(2026, 1, 7, time_zone="UTC")
    frame.filter(early).write_parquet(tmp_path / "ref.parquet")
    frame.filter(~early).write_parquet(tmp_path / "cur.parquet")
    by_files = run(str(tmp_path / "cur.parquet"), "--reference", str(tmp_path / "ref.parquet"),
                   "--format", "json")
    by_range = run(str(logs["changed"]), "--reference-window", "2026-01-05..2026-01-07",
                   "--format", "json")
    assert by_files.exit_code == by_range.exit_code == 1, by_files.output + by_range.output
    files, window = json.loads(by_files.stdout), json.loads(by_range.stdout)
    assert files["reference"]["records"] == window["reference"]["records"] == 500
    assert ([w["drifted"] for w in files["windows"]] == [w["drifted"] for w in window["windows"]]
            == [False, False, True, True])


def test_invalid_records_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    synthetic_logs(days=3, per_day=150, seed=33).select(
        "timestamp", "model", "prompt", "latency_ms", "status").write_ndjson(path)
    with path.open("a") as handle:
        handle.write("{not json\n")
    failed = run(str(path))
    assert failed.exit_code == 3, failed.output
    result = run(str(path), "--on-invalid", "skip", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["skipped_records"] == 1


def test_every_score_column_names_its_statistic_and_the_legend_its_threshold(
        logs: dict[str, Path]) -> None:
    """``7.27!`` alone says nothing: the title names the statistic, the legend what it is,
    its threshold, and what ``!`` marks."""
    table = run(str(logs["changed"]), "--method", "latency_ms=ks", "--threshold",
                "ks=0.15").stdout
    assert "latency_ms KS D" in table and "latency_ms ┃" not in table
    assert "…" not in table.split("reference (")[0]  # no title or date cut, even at 80 columns
    assert "KS D = Kolmogorov-Smirnov statistic D (threshold 0.15)" in table
    assert "! = drifted: score at or above its threshold" in table
    markdown = run(str(logs["changed"]), "--format", "markdown").stdout
    header = next(line for line in markdown.splitlines() if line.startswith("| window"))
    titles = [t.strip() for t in header.strip("|").split("|")][3:]
    names = ("PSI", "Cramer's V", "AUC")
    assert titles and all(t.endswith(names) for t in titles), titles
    assert "AUC = held-out ROC AUC" in markdown and "(threshold 0.55)" in markdown


def test_user_text_is_escaped_in_the_table(tmp_path: Path) -> None:
    frame = synthetic_logs(days=3, per_day=200, seed=34).with_columns(
        pl.when(pl.col("timestamp").dt.day() == 7).then(pl.lit("[bold]evil[/bold]"))
        .otherwise(pl.col("model")).alias("model"))
    frame.write_parquet(tmp_path / "logs.parquet")
    result = run(str(tmp_path / "logs.parquet"), "--features", "model")
    assert result.exit_code == 1, result.output
    assert "'[bold]evil[/bold]' 0.0% → 100.0%" in result.stdout


@pytest.mark.parametrize("args", [
    ["--window", "daily"],
    ["--method", "latency_ms"],
    ["--threshold", "psi=high"],
    ["--reference-window", "2026-01-05"],
    ["--features", "nope"],
])
def test_usage_errors_exit_2(logs: dict[str, Path], args: list[str]) -> None:
    result = run(str(logs["stationary"]), *args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr
