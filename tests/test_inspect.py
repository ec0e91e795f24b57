"""``genailog inspect``: what was read and how, for a user whose log is not canonical."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from genailog.cli.app import app

REAL = Path(__file__).parent / "fixtures" / "real" / "logs"
SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "inspect.output.schema.json")
                    .read_text(encoding="utf-8"))
runner = CliRunner()


def test_the_tutorial_log_is_explained() -> None:
    """The seed's tutorial log: prefixed lines mixed with other loggers', no model, no time."""
    result = runner.invoke(app, ["inspect", str(REAL / "tutorial_basic" / "genai.log")])
    assert result.exit_code == 0, result.output
    assert "text prefix ('INFO:root:'" in result.stdout
    assert "other lines 14" in result.stdout
    assert "timestamp 0%: drift, --window and --since/--until are unavailable" in result.stdout
    assert "model 0%" in result.stdout and "--model" in result.stdout


def test_json_output_names_the_mapping_and_passes_its_schema() -> None:
    path = REAL / "openai_chat_dump" / "chat_completions.jsonl"
    result = runner.invoke(app, ["inspect", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    [file] = data["files"]
    assert file["mapping"]["cached_input_tokens"] == "usage.prompt_tokens_details.cached_tokens"
    assert file["records"] == 6 and data["coverage"]["model"] == 1.0


def test_a_file_with_no_call_is_described_not_failed(tmp_path: Path) -> None:
    """inspect explains; the analysis commands refuse (exit 3) the same file."""
    path = tmp_path / "app.log"
    path.write_text('INFO:httpx:HTTP Request: POST x\n{"event": "started", "user_id": "u1"}\n')
    shown = runner.invoke(app, ["inspect", str(path), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["files"][0]["other_lines"] == 2
    refused = runner.invoke(app, ["summarize", str(path)])
    assert refused.exit_code == 3
    assert "no LLM call found" in refused.output


def test_map_and_model_options_read_a_teams_own_names(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"meta": {"tok_in": 10, "tok_out": 3}, "q": "hi"}\n'
                    '{"meta": {"tok_in": 5, "tok_out": 2}, "q": "yo"}\n')
    result = runner.invoke(app, ["summarize", str(path), "--map", "input_tokens=meta.tok_in",
                                 "--map", "output_tokens=meta.tok_out", "--model", "gpt-4.1",
                                 "--by", "model", "--format", "json"])
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["total"]
    assert (total["requests"], total["input_tokens"], total["output_tokens"]) == (2, 15, 5)
    assert [g["model"] for g in json.loads(result.stdout)["groups"]] == ["gpt-4.1"]
