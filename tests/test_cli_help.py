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
