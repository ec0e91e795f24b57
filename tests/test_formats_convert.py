"""``genailog convert`` and the whole CLI path on the real-library fixtures:
summarize gives the fake server's requests, errors, tokens and cost for every format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_formats import FIXTURES, LOGS, truth_cost, truth_of
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.dataset.convert import convert
from genailog.ingest import read_logs

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "convert.output.schema.json")
                    .read_text())
runner = CliRunner()
ALL = [str(LOGS / f) for files, _, _ in FIXTURES.values() for f in files]


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


#: fixtures whose source kept cached tokens (the openai-v2 instrumentation does not),
#: so the priced cost equals the server truth's list-price cost
COST_EXACT = ("openinference", "litellm", "langfuse_jsonl", "langfuse_csv", "mlflow", "llm")


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_summarize_matches_the_server_truth(name: str) -> None:
    files, _, key = FIXTURES[name]
    result = _invoke("summarize", *[str(LOGS / f) for f in files], "--format", "json")
    total = json.loads(result.stdout)["total"]
    requests = truth_of(key)
    ok = [r for r in requests if r["status"] == 200]
    assert total["requests"] == len(requests)
    assert total["errors"] == len(requests) - len(ok)
    assert total["input_tokens"] == sum(r["prompt_tokens"] for r in ok)
    assert total["output_tokens"] == sum(r["completion_tokens"] for r in ok)
    if name in COST_EXACT:
        assert total["cost_usd"] == pytest.approx(truth_cost(requests))


@pytest.mark.parametrize("name", ["litellm_anthropic", "otel_anthropic"])
def test_summarize_prices_claude_calls_from_canonical_tokens(name: str) -> None:
    """LiteLLM logged $0 for these calls (it could not price the model) and the OTel
    spans carry no cost: summarize prices the canonical tokens, cache reads at the cache
    price. Claude 3.5 Haiku list prices per token: input, cache read, output."""
    files, _, key = FIXTURES[name]
    requests = truth_of(key)
    result = _invoke("summarize", *[str(LOGS / f) for f in files], "--format", "json")
    total = json.loads(result.stdout)["total"]
    expected = sum((r["prompt_tokens"] - r["cached_tokens"]) * 0.8e-6
                   + r["cached_tokens"] * 0.08e-6 + r["completion_tokens"] * 4e-6
                   for r in requests)
    assert total["cost_usd"] == pytest.approx(expected)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_convert_round_trips_every_format(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"all.{fmt}"
    result = convert(ALL, out, fmt)
    before = read_logs(ALL).collect()
    after = read_logs([str(out)]).collect()
    assert result.records == before.height == after.height
    assert after.schema == before.select(after.columns).schema
    for column in ("input_tokens", "output_tokens", "cached_input_tokens", "cost_usd"):
        assert after[column].sum() == pytest.approx(before[column].sum())
    assert after.sort("timestamp")["prompt"].to_list() == before.sort("timestamp")[
        "prompt"].to_list()
    assert result.input_formats["otlp"] == 16  # four OTel fixtures of 4 calls
    assert result.input_formats["litellm"] == sum(len(truth_of(k)) for k in (
        "litellm", "litellm_anthropic"))


def test_convert_cli_json_equals_the_library_and_its_schema(tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    cli = _invoke("convert", *ALL, "--out", str(out), "--format", "json")
    printed = json.loads(cli.stdout)
    jsonschema.validate(printed, SCHEMA)
    library = convert(ALL, out, "jsonl", overwrite=True).to_dict()
    assert printed == library
    lines = out.read_text().splitlines()
    assert len(lines) == printed["records"]
    assert all(json.loads(line)["model"] for line in lines)


def test_convert_refuses_to_overwrite_and_unknown_output_format(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    out.write_text("keep\n")
    result = runner.invoke(app, ["convert", ALL[0], "--out", str(out)])
    assert result.exit_code == 4, result.output
    assert out.read_text() == "keep\n"
    result = runner.invoke(app, ["convert", ALL[0], "--out", str(tmp_path / "y"),
                                 "--format", "csv"])
    assert result.exit_code == 2, result.output


def test_unknown_format_is_an_input_error_naming_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text('{"what": "is this"}\n')
    result = runner.invoke(app, ["convert", str(path), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 3, result.output
    assert "litellm, langfuse, mlflow, llm" in result.output


def test_input_format_overrides_detection(tmp_path: Path) -> None:
    """Read as llm rows, the LiteLLM payloads lack llm's required fields: under skip each
    one is set aside at its line, and a read that keeps none is exit 3, never an empty
    success (issue 11: a forced format that matches nothing)."""
    result = runner.invoke(app, ["convert", str(LOGS / "litellm.jsonl"), "--out",
                                 str(tmp_path / "o.jsonl"), "--input-format", "llm",
                                 "--format", "json", "--on-invalid", "skip"])
    assert result.exit_code == 3, result.output
    lines = (LOGS / "litellm.jsonl").read_text().count("\n")
    assert f"no LLM call found as --input-format llm: {lines} invalid record(s)" in result.output
    assert not (tmp_path / "o.jsonl").exists()
    result = runner.invoke(app, ["convert", str(LOGS / "litellm.jsonl"), "--out",
                                 str(tmp_path / "p.jsonl"), "--input-format", "llm"])
    assert result.exit_code == 3, result.output
    assert "litellm.jsonl:1:" in result.output


def test_format_is_the_report_format_and_old_spellings_still_work(tmp_path: Path) -> None:
    new = runner.invoke(app, ["convert", ALL[0], "--out", str(tmp_path / "a.parquet"),
                              "--format", "json"])
    assert new.exit_code == 0, new.output
    assert json.loads(new.stdout)["format"] == "parquet"
    old = runner.invoke(app, ["convert", ALL[0], "--out", str(tmp_path / "b.out"),
                              "--format", "parquet", "--report-format", "json"])
    assert old.exit_code == 0, old.output
    assert json.loads(old.stdout)["format"] == "parquet"
    assert "--format parquet is now --file-format parquet" in old.stderr
    assert "--report-format is now --format json" in old.stderr
