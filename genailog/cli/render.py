"""Output helpers shared by the commands: consoles, JSON, escaping and atomic writes.

Data goes to stdout; messages, warnings and progress go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape

stdout = Console(soft_wrap=True, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, highlight=False)


def esc(value: object) -> str:
    """User text made safe for rich markup (prompts contain ``[brackets]``)."""
    return escape(str(value))


def warn(message: str) -> None:
    """One warning line on stderr; ``message`` is plain text, escaped here."""
    stderr.print(f"[yellow]warning:[/] {esc(message)}")


def info(message: str) -> None:
    stderr.print(esc(message), style="dim")


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (the ``--format json`` contract)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


def write_text(text: str) -> None:
    """Plain data to stdout, without rich interpretation."""
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


@contextmanager
def atomic_writer(path: Path, mode: str = "w", *, overwrite: bool = True) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place on success."""
    from genailog.errors import OutputError

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; outputs are shared files
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, newline="" if encoding else None) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file_mode(path: Path) -> int:
    """The replaced file's mode, else what ``open`` would give a new file (0666 less the
    umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


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
