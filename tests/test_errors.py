"""The error boundary: every ExitCode is reachable, and no traceback without --debug."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import base_record, write_jsonl
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.errors import ExitCode, OutputError
from genailog.schema import load_record_schema
from genailog.schema.fastcheck import FIELD_NAMES

runner = CliRunner()


def test_exit_codes_are_documented_and_stable() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "FAILED": 1, "USAGE": 2, "INPUT": 3, "OUTPUT": 4, "INTERNAL": 70}
    help_text = runner.invoke(app, ["--help"]).stdout
    assert "2 usage error" in help_text and "3 unreadable or invalid input" in help_text


def test_each_exit_code_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [base_record()])
    bad = write_jsonl(tmp_path / "bad.jsonl", [base_record(model=5)])
    assert runner.invoke(app, ["validate", str(good)]).exit_code == ExitCode.OK
    assert runner.invoke(app, ["validate", str(bad)]).exit_code == ExitCode.FAILED
    assert runner.invoke(app, ["validate", str(good), "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["validate", str(tmp_path / "x.jsonl")]).exit_code == 3

    def refuse(*args: object, **kwargs: object) -> None:
        raise OutputError("out.jsonl exists; pass --overwrite to replace it")

    monkeypatch.setattr("genailog.ingest.reader.write_quarantine", refuse)
    out = runner.invoke(app, ["validate", str(bad), "--quarantine", str(tmp_path / "q")])
    assert out.exit_code == ExitCode.OUTPUT and "--overwrite" in out.stderr


def test_internal_errors_hide_the_traceback_unless_debug(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-prompt-text")

    monkeypatch.setattr("genailog.ingest.validate.validate", boom)
    good = write_jsonl(tmp_path / "good.jsonl", [base_record()])
    out = runner.invoke(app, ["validate", str(good)])
    assert out.exit_code == ExitCode.INTERNAL
    assert "Traceback" not in out.output and "--debug" in out.stderr
    debug = runner.invoke(app, ["--debug", "validate", str(good)])
    assert isinstance(debug.exception, RuntimeError)


def test_invalid_input_under_fail_policy_names_file_and_line(tmp_path: Path) -> None:
    from genailog.errors import InvalidRecordError
    from genailog.ingest import read_logs

    path = write_jsonl(tmp_path / "a.jsonl", [base_record(), "{oops"])
    with pytest.raises(InvalidRecordError) as caught:
        read_logs([path])
    assert caught.value.exit_code == ExitCode.INPUT
    assert f"{path}:2:" in str(caught.value)


def test_compiled_twin_names_exactly_the_schema_fields() -> None:
    assert set(load_record_schema()["properties"]) == FIELD_NAMES


def test_record_schema_accepts_the_issue_example() -> None:
    import jsonschema

    example = json.loads(
        '{"timestamp": "2025-12-26T10:00:12Z", "user_id": "u42", "model": "gpt-4.1", '
        '"prompt": "...", "response": "...", "input_tokens": 430, "output_tokens": 210, '
        '"latency_ms": 980, "retrieval_docs": ["doc7", "doc19"], "hallucination_flag": false}')
    jsonschema.Draft202012Validator(
        load_record_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(example)


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = write_jsonl(tmp_path / "bad.jsonl", [base_record(model=5)] * 3000)
    proc = subprocess.Popen([sys.executable, "-m", "genailog", "validate", str(path),
                             "--format", "json", "--max-errors", "3000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "internal error" not in stderr and "Traceback" not in stderr


def test_help_does_not_import_the_data_stack() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom genailog.cli.app import main\nsys.argv = ['genailog', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('polars', 'numpy', 'scipy', 'sklearn') if m in sys.modules]\n"
            "sys.stderr.write(repr(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.stderr.strip().endswith("[]"), proc.stderr
