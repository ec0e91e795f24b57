"""Every command's --help: flags shown as flags, an example, and the shared read options."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genailog.cli.app import COMMANDS, READS_LOGS, app

runner = CliRunner()


@pytest.mark.parametrize("name", [name for name, _, _ in COMMANDS])
def test_help_shows_flags_as_flags_and_an_example(name: str) -> None:
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "Example" in result.output or "example" in result.output
    if name in READS_LOGS:
        for option in ("--map", "--model", "--timezone"):
            assert option in result.output, option


def test_input_format_help_names_every_registered_reader() -> None:
    from genailog.ingest.formats import INPUT_FORMATS

    result = runner.invoke(app, ["summarize", "--help"], env={"COLUMNS": "400"})
    text = " ".join(result.output.split())
    for name in INPUT_FORMATS:
        assert name in text, name
