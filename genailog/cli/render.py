"""Output helpers shared by the commands: consoles, JSON and escaping.

Data goes to stdout; messages, warnings and progress go to stderr. Every piece of user
text reaches a console through :func:`esc` (``genailog.textsafe``: control characters made
visible, markup escaped), and the consoles never turn ``:codes:`` into emoji, so data is
shown as it is and cannot drive the terminal. Standard output is the guarded stream of
``genailog.outputs``: a full disk is exit 4, not a traceback. Atomic file writing lives in
``genailog.outputs``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from genailog.outputs import STDOUT
from genailog.textsafe import for_terminal

stdout = Console(file=STDOUT, soft_wrap=True, highlight=False, emoji=False)  # type: ignore[arg-type]
stderr = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)


def esc(value: object) -> str:
    """User text made safe for a console: control characters visible, markup escaped."""
    return for_terminal(value)


def warn(message: str) -> None:
    """One warning line on stderr; ``message`` is plain text, escaped here."""
    stderr.print(f"[yellow]warning:[/] {esc(message)}")


def info(message: str) -> None:
    stderr.print(esc(message), style="dim")


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (the ``--format json`` contract)."""
    STDOUT.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str))
    STDOUT.write("\n")
    STDOUT.flush()


def write_text(text: str) -> None:
    """Plain data to stdout, without rich interpretation."""
    STDOUT.write(text)
    if not text.endswith("\n"):
        STDOUT.write("\n")
    STDOUT.flush()


class ReadProgress:
    """A transient progress bar on stderr for long reads (installed on a terminal only)."""

    def __init__(self) -> None:
        from rich.progress import Progress

        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, name: str, done: int, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self._progress is None:
            self._progress = Progress(TextColumn("reading {task.description}"), BarColumn(),
                                      DownloadColumn(), TimeRemainingColumn(), console=stderr,
                                      transient=True)
            self._progress.start()
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(esc(Path(name).name), total=total)
        self._progress.update(self._tasks[name], completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
