"""The public API: every function takes what read_logs returns, a path string, or paths;
and one rule makes error_rate mean the same thing in every command."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import genailog
from genailog import read_logs
from genailog.analysis.drift import DriftOptions

SAMPLE = Path(__file__).parents[1] / "sample_logs"


@pytest.fixture(scope="module")
def logs() -> genailog.ingest.Logs:  # type: ignore[name-defined]
    return read_logs(str(SAMPLE))


def test_a_path_string_is_one_path_not_its_characters() -> None:
    assert genailog.validate(str(SAMPLE)).records == 3000
    assert genailog.read_logs(str(SAMPLE)).report.records == 3000


def test_every_public_function_takes_read_logs_output_and_a_path(logs: object) -> None:
    by_path = genailog.summarize(str(SAMPLE), by=["model"]).to_dict()
    by_logs = genailog.summarize(logs, by=["model"]).to_dict()
    assert by_path["total"] == by_logs["total"]
    assert genailog.validate(logs).records == 3000
    for source in (logs, str(SAMPLE)):
        diff = genailog.diff_prompts(source, "v2", "v3").to_dict()
        assert (diff["n_baseline"], diff["n_candidate"], diff["verdict"]) == (
            1190, 912, "regression")
        drift = genailog.detect_drift(source, options=DriftOptions(window="1w"),
                                      where="model = 'claude-sonnet-4'").to_dict()
        assert [w["drifted"] for w in drift["windows"]] == [True], drift["windows"]


def test_error_rate_is_the_same_in_summarize_and_diff_prompts(tmp_path: Path) -> None:
    """Records with no status but an error_type fail; with neither, they succeeded."""
    rows = []
    for version in ("v1", "v2"):
        for i in range(40):
            status = "error" if i % 5 == 0 else ("ok" if i % 2 else None)
            rows.append({"timestamp": "2026-11-01T00:00:00Z", "model": "m",
                         "prompt_version": version, "status": status,
                         "error_type": "Timeout" if status is None and i % 4 == 2 else None})
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n"
                            for r in rows))
    logs = read_logs(path)
    summary = genailog.summarize(logs, by=["prompt_version"]).to_dict()
    rates = {g["prompt_version"]: g["error_rate"] for g in summary["groups"]}
    from genailog.analysis.compare import DiffOptions

    diff = genailog.diff_prompts(logs, "v1", "v2", DiffOptions(metrics=("error_rate",)))
    row = next(r for r in diff.to_dict()["metrics"] if r["metric"] == "error_rate")
    assert (row["baseline"], row["candidate"]) == (rates["v1"], rates["v2"])
    frame = logs.collect()
    expected = frame.filter(pl.col("prompt_version") == "v1").select(
        ((pl.col("status") == "error").fill_null(False)
         | (pl.col("status").is_null() & pl.col("error_type").is_not_null())).mean()).item()
    assert rates["v1"] == pytest.approx(expected)


def test_export_dataset_takes_logs_and_a_path(tmp_path: Path, logs: object) -> None:
    from genailog.dataset.export import ExportOptions

    by_path = genailog.export_dataset(str(SAMPLE), ExportOptions(
        out=tmp_path / "a.jsonl", where="model = 'gpt-4.1'", format="csv"))
    by_logs = genailog.export_dataset(logs, ExportOptions(
        out=tmp_path / "b.jsonl", where="model = 'gpt-4.1'", format="csv"))
    assert by_path.counts.written == by_logs.counts.written == 659
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
