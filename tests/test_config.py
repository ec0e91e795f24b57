"""The settings file: gates, prices and outputs per command, found up to the repository
root, paths relative to the file and inside the repository, no network switch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import base_record, write_jsonl
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.config import load_config


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with logs in logs/ and the working directory in a subfolder."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "logs").mkdir()
    write_jsonl(root / "logs" / "calls.jsonl",
                [base_record(model="gpt-4.1", latency_ms=1000 + i, input_tokens=10,
                             output_tokens=5) for i in range(20)])
    (root / "src").mkdir()
    monkeypatch.chdir(root / "src")
    return root


def test_gate_only_in_pyproject_trips_and_config_names_it(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.genailog.summarize]\n'
        'fail_if = ["latency_ms_p95 > 500"]\n', encoding="utf-8")
    result = cli("summarize", "../logs", "-q")
    assert result.exit_code == 1, result.output
    assert result.stderr == "gate failed: latency_ms_p95 > 500 for total (condition true)\n"
    # the command line overrides the file's gates
    assert cli("summarize", "../logs", "-q", "--fail-if", "requests > 100").exit_code == 0
    shown = cli("config", "summarize", "--format", "json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["file"] == str(repo / "pyproject.toml")
    [gate] = [r for r in data["settings"] if r["key"] == "fail_if"]
    assert gate == {"command": "summarize", "key": "fail_if", "value": ["latency_ms_p95 > 500"],
                    "source": f"{repo / 'pyproject.toml'} [tool.genailog.summarize]"}
    table = cli("config")
    assert "pyproject.toml" in table.stdout and "latency_ms_p95 > 500" in table.stdout
    # genailog.toml in the same folder takes over
    (repo / "genailog.toml").write_text('[summarize]\nmin_records = 7\n', encoding="utf-8")
    shown = json.loads(cli("config", "summarize", "--format", "json").stdout)
    [floor] = [r for r in shown["settings"] if r["key"] == "min_records"]
    assert (floor["value"], floor["source"]) == (7, f"{repo / 'genailog.toml'} [summarize]")
    [zone] = [r for r in data["settings"] if r["key"] == "timezone"]
    assert zone["source"] == "default"


def test_genailog_toml_beats_pyproject(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.genailog]\nmodel = "from-pyproject"\n',
                                         encoding="utf-8")
    (repo / "genailog.toml").write_text('model = "from-genailog-toml"\n', encoding="utf-8")
    assert load_config().get_str("model") == "from-genailog-toml"


def test_search_stops_at_the_repository_root(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "genailog.toml").write_text('[summarize]\nfail_if = ["requests > 0"]\n',
                                            encoding="utf-8")
    inner = tmp_path / "checkout"
    (inner / ".git").mkdir(parents=True)
    monkeypatch.chdir(inner)
    assert load_config().source is None
    assert "none found" in cli("config").stdout


def test_paths_relative_to_the_file(repo: Path) -> None:
    prices = {"gpt-4.1": {"input_cost_per_token": 1.0, "output_cost_per_token": 2.0}}
    (repo / "ci").mkdir()
    (repo / "ci" / "prices.json").write_text(json.dumps(prices), encoding="utf-8")
    (repo / "genailog.toml").write_text(
        'prices = "ci/prices.json"\n[summarize]\noutput = ["out/summary.json"]\n',
        encoding="utf-8")
    result = cli("summarize", "../logs", "-q")
    assert result.exit_code == 0, result.output
    written = json.loads((repo / "out" / "summary.json").read_text(encoding="utf-8"))
    assert written["total"]["cost_usd"] == pytest.approx(20 * (10 * 1.0 + 5 * 2.0))


@pytest.mark.parametrize(("text", "message"), [
    ('prices = "../../elsewhere.json"\n', "is outside the repository"),
    ('prices = "https://example.com/p.json"\n', "never URLs"),
    ('allow_https = true\n', "cannot turn on network access"),
    ('[summarize]\nallow_network = true\n', "cannot turn on network access"),
    ('[summarize]\nfail_iff = ["requests > 0"]\n', "unknown setting summarize.fail_iff "
     "(did you mean fail_if?)"),
    ('[summarize]\nmin_records = "many"\n', "summarize.min_records must be an integer"),
    ('[drift]\nfail_if = ["requests > 0"]\n', "unknown setting drift.fail_if"),
])
def test_refused_settings_exit_2_with_one_line(repo: Path, text: str, message: str) -> None:
    (repo / "genailog.toml").write_text(text, encoding="utf-8")
    result = cli("summarize", "../logs", "-q")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_thresholds_of_diff_prompts_and_drift_from_the_file(repo: Path) -> None:
    write_jsonl(repo / "logs" / "versions.jsonl", [
        base_record(prompt_version=v, latency_ms=10 + i, timestamp=f"2026-01-0{d}T10:00:0{i}Z")
        for v, d in (("v1", 1), ("v2", 2)) for i in range(6)])
    diff = ["diff-prompts", "../logs/versions.jsonl", "--baseline", "v1", "--candidate", "v2",
            "-q"]
    drift = ["drift", "../logs/versions.jsonl", "--features", "latency_ms", "-q"]
    assert cli(*diff).exit_code == 0  # thin data is reported, not judged
    assert cli(*drift).exit_code == 2  # a reference of 6 records is under the default 100
    (repo / "genailog.toml").write_text(
        "[diff-prompts]\nfail_on_insufficient = true\n[drift]\nmin_records = 5\n",
        encoding="utf-8")
    strict = cli(*diff)
    assert strict.exit_code == 1 and strict.stderr.startswith("insufficient data: "), \
        strict.output
    judged = cli(*drift[:-1], "--format", "json")
    assert json.loads(judged.stdout)["settings"]["min_records"] == 5, judged.output


def test_the_file_is_parsed_once_per_command_and_afresh_by_the_next(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import genailog.config as config

    parsed: list[Path] = []
    load = config._load
    monkeypatch.setattr(config, "_load", lambda path: parsed.append(path) or load(path))
    (repo / "genailog.toml").write_text('[summarize]\nfail_if = ["requests > 100"]\n'
                                        'min_records = 1\n', encoding="utf-8")
    # --output, --map/--model/--timezone, the gates, min_records, allow_empty, prices:
    # six settings asked for, one parse
    assert cli("summarize", "../logs", "-q").exit_code == 0
    assert parsed == [repo / "genailog.toml"]
    (repo / "genailog.toml").write_text('[summarize]\nfail_if = ["requests > 10"]\n',
                                        encoding="utf-8")
    assert cli("summarize", "../logs", "-q").exit_code == 1  # the edit is seen
    assert len(parsed) == 2
    assert load_config().section("summarize") == {"fail_if": ["requests > 10"]}
