"""cli.render.info: one plain line on a non-terminal stderr, data kept inert, rich not
loaded for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from genailog.cli import render


def test_info_writes_one_visible_line_when_stderr_is_no_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    render.info("wrote out\x1b[31m[bold]x[/bold].html (3 KB)")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert err == render.visible("wrote out\x1b[31m[bold]x[/bold].html (3 KB)") + "\n"
    assert "[bold]x[/bold]" in err  # markup is text here, not styling


def test_info_does_not_import_rich_when_stderr_is_a_pipe() -> None:
    code = ("import sys; from genailog.cli import render; render.info('hi'); "
            "print('rich' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={"PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "False" and done.stderr == "hi\n"
