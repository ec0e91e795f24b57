"""Every command's --help: flags shown as flags, an example, and the shared read options."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize("args", [
    ["summarize", "--help"], ["validate", "-h"], ["drift", "--help"],
    ["summarize", "sample_logs", "--top", "ten"], ["summarize", "--bogus"],
    ["diff-prompts", "sample_logs", "--format", "yaml"]])
def test_the_one_command_app_main_runs_says_what_the_whole_app_says(args: list[str]) -> None:
    """main registers only the command asked for; help and usage errors are unchanged."""
    from genailog.cli.app import asked_command, build_app

    name = asked_command(args)
    assert name == args[0]
    alone = runner.invoke(build_app(name), args, env={"COLUMNS": "200"})
    whole = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)


def test_asked_command() -> None:
    from genailog.cli.app import asked_command

    assert asked_command(["--debug", "summarize", "x"]) == "summarize"
    assert asked_command(["merge", "a.json"]) == "merge"
    for args in ([], ["--help"], ["--version"], ["sumarize", "x"], ["--debug"],
                 ["--install-completion"], ["x", "summarize"]):
        assert asked_command(args) is None, args


def test_main_imports_only_the_command_it_runs_and_reads_on_every_core() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom genailog.cli.app import main\nfrom genailog.ingest import parallel\n"
            "sys.argv = ['genailog', 'summarize', 'sample_logs', '--format', 'json', '-q']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('genailog.cli.') and "
            "m not in ('genailog.cli.app', 'genailog.cli.coerce', 'genailog.cli.options', "
            "'genailog.cli.render')), parallel._enabled, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).resolve().parents[1])
    assert done.stderr.strip().splitlines()[-1] == "['genailog.cli.summarize'] True", done.stderr
