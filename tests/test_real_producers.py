"""Logs made by real producers, read with no option at all, against the fake server's truth.

Each folder ``tests/fixtures/real/<group>/<fixture>/`` holds files written by a real
library (its generator and pinned venv beside them) and ``truth.json``: what the fake
model server answered, per model (see tests/fixtures/real/*/README.md). The test runs
``genailog summarize --by model --format json`` on the files a user would name and
compares calls, errors and input/output/cached tokens per model. ``null`` in the truth
means the source does not record that count, and genailog must say null, never 0.

A second test forces every ``--input-format`` on every fixture: the answer is records
(exit 0) or a clear error (exit 3), never exit 0 with no record from non-empty input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.ingest.formats import INPUT_FORMATS

REAL = Path(__file__).parent / "fixtures" / "real"
TRUTHS = sorted(REAL.glob("*/*/truth.json"))
COUNTS = ("requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens")
#: Shapes this reader does not read yet, each with the reason; the test asserts they fail
#: with a clear message (exit 3), so the list cannot go stale silently.
NOT_YET: dict[str, str] = {}

runner = CliRunner()


def _truth(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _inputs(path: Path, truth: dict[str, Any]) -> list[str]:
    return [str(path.parent / name) for name in truth["read"]]


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _by_model(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {(g["model"] if g["model"] is not None else "(unknown)"): g for g in data["groups"]}


@pytest.mark.parametrize("truth_path", TRUTHS, ids=lambda p: f"{p.parent.parent.name}/"
                         f"{p.parent.name}")
def test_summarize_equals_the_servers_truth(truth_path: Path) -> None:
    truth = _truth(truth_path)
    name = truth_path.parent.name
    result = _run("summarize", *_inputs(truth_path, truth), "--by", "model", "--format", "json")
    if truth.get("expect") == "request_file" or name in NOT_YET:
        assert result.exit_code == 3, result.output
        assert "request" in result.output or name in NOT_YET, result.output
        return
    assert result.exit_code == 0, result.output
    groups = _by_model(json.loads(result.stdout))
    assert sorted(groups) == sorted(truth["by_model"]), truth.get("not_recorded")
    for model, want in truth["by_model"].items():
        got = {key: groups[model][key] for key in COUNTS}
        assert got == {key: want[key] for key in COUNTS}, (model, truth.get("not_recorded"))


def _case_ids() -> list[Any]:
    return [pytest.param(p, fmt, id=f"{p.parent.name}-{fmt}") for p in TRUTHS
            for fmt in INPUT_FORMATS if fmt != "auto"]


@pytest.mark.parametrize(("truth_path", "fmt"), _case_ids())
def test_no_forced_format_reads_as_silent_zero(truth_path: Path, fmt: str) -> None:
    truth = _truth(truth_path)
    result = _run("summarize", *_inputs(truth_path, truth), "--input-format", fmt,
                  "--on-invalid", "skip", "--format", "json")
    assert result.exit_code in (0, 3), result.output
    if result.exit_code == 0:
        data = json.loads(result.stdout)
        assert data["total"]["requests"] > 0, (fmt, result.output)
    else:
        assert result.output.strip(), "exit 3 must say why"


def test_duckdb_parquet_copy_of_sample_logs_summarizes_the_same(tmp_path: Path) -> None:
    """Parquet written by another tool (DuckDB: nested columns as LIST/STRUCT, timestamps
    as TIMESTAMPTZ) gives the same summary as the JSONL it came from."""
    duckdb = pytest.importorskip("duckdb")
    sample = Path(__file__).parents[1] / "sample_logs"
    out = tmp_path / "copy.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json_auto('{sample}/week*.jsonl', format='newline_"
                f"delimited', union_by_name=true)) TO '{out}' (FORMAT parquet)")
    kinds = {str(row[1]) for row in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()}
    assert any(k.startswith(("STRUCT", "MAP")) or k.endswith("[]") for k in kinds), kinds
    jsonl = _run("summarize", *map(str, sorted(sample.glob("week*.jsonl"))), "--by", "model",
                 "--format", "json")
    parquet = _run("summarize", str(out), "--by", "model", "--format", "json")
    assert jsonl.exit_code == 0 and parquet.exit_code == 0, (jsonl.output, parquet.output)
    left, right = json.loads(jsonl.stdout), json.loads(parquet.stdout)
    assert left["groups"] == right["groups"] and left["total"] == right["total"]
