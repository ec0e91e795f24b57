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
import os
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genailog.outputs import STDOUT
from genailog.textsafe import for_terminal, visible

if TYPE_CHECKING:
    from rich.console import Console

    stdout: Console
    stderr: Console


def _console(name: str) -> Console:
    """The ``stdout`` or ``stderr`` console, made on first use (module ``__getattr__``):
    a command that prints JSON and nothing on stderr never imports rich (20 ms)."""
    found = globals().get(name)
    if found is None:
        from rich.console import Console

        found = (Console(file=STDOUT, soft_wrap=True, highlight=False, emoji=False)  # type: ignore[arg-type]
                 if name == "stdout"
                 else Console(stderr=True, soft_wrap=True, highlight=False, emoji=False))
        globals()[name] = found
    return found


def __getattr__(name: str) -> Any:
    if name in ("stdout", "stderr"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def stderr_is_terminal() -> bool:
    """rich's ``stderr.is_terminal``, without importing rich when it cannot be: rich says
    yes only for ``TTY_COMPATIBLE=1``, a non-empty ``FORCE_COLOR`` or a tty."""
    import sys

    try:
        maybe = (os.environ.get("TTY_COMPATIBLE") == "1" or bool(os.environ.get("FORCE_COLOR"))
                 or sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stream, or a closed one
        maybe = False
    return maybe and _console("stderr").is_terminal


def esc(value: object) -> str:
    """User text made safe for a console: control characters visible, markup escaped."""
    return for_terminal(value)


def warn(message: str) -> None:
    """One warning line on stderr; ``message`` is plain text, escaped here."""
    _console("stderr").print(f"[yellow]warning:[/] {esc(message)}")


def info(message: str) -> None:
    """One dim line on stderr; plain text, without importing rich, when stderr is no
    terminal (what rich itself would write there: no style, no wrapping)."""
    if not stderr_is_terminal():
        import sys

        sys.stderr.write(visible(message) + "\n")
        sys.stderr.flush()
        return
    _console("stderr").print(esc(message), style="dim")


def json_text(data: Any) -> str:
    """``data`` as the ``--format json`` contract writes it."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def print_wide(*renderables: Any) -> None:
    """Print at the renderables' natural width, wider than the terminal rather than cut:
    a table's numbers, titles and dates stay whole even when stdout is a narrow pipe (a CI
    log). rich clamps ``print(width=)`` to the console's width, so the console widens."""
    from rich.measure import Measurement

    stdout = _console("stdout")
    needed = max((Measurement.get(stdout, stdout.options.update_width(10_000), r).maximum
                  for r in renderables), default=0)
    before = stdout.width
    stdout.width = max(before, needed)
    try:
        for renderable in renderables:
            stdout.print(renderable)
    finally:
        stdout.width = before


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (the ``--format json`` contract)."""
    STDOUT.write(json_text(data))
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
                                      DownloadColumn(), TimeRemainingColumn(),
                                      console=_console("stderr"),
                                      transient=True)
            self._progress.start()
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(esc(Path(name).name), total=total)
        self._progress.update(self._tasks[name], completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# --------------------------------------------------------------------------- outputs

#: ``--output`` extension -> format.
EXTENSIONS = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".csv": "csv",
              ".xml": "junit"}
#: Where each output schema lives (``$schema`` of a ``--output x.json`` file).
SCHEMA_BASE = "https://genailog.dev/schemas/"


@dataclass
class OutputRequest:
    """What ``--output``/``--quiet``/``--github`` asked of the running command."""

    command: str
    outputs: list[Path] = field(default_factory=list)
    quiet: bool = False
    github: bool = False


_REQUEST: ContextVar[OutputRequest | None] = ContextVar("genailog_output", default=None)


def github_mode(flag: bool) -> bool:
    """``--github``, or running inside GitHub Actions (``GITHUB_ACTIONS=true``)."""
    return flag or os.environ.get("GITHUB_ACTIONS") == "true"


def check_outputs(command: str, outputs: list[Path], formats: frozenset[str]) -> None:
    """Refuse an ``--output`` whose extension this command cannot write, before any work."""
    from genailog.errors import UsageError

    for path in outputs:
        kind = EXTENSIONS.get(path.suffix.lower())
        if kind is None or kind not in formats:
            allowed = ", ".join(e for e, k in EXTENSIONS.items() if k in formats
                                and e != ".markdown")
            raise UsageError(f"--output {path}: {command} writes {allowed}; the format comes "
                             "from the extension")


def request() -> OutputRequest | None:
    return _REQUEST.get()


def set_request(value: OutputRequest | None) -> Any:
    return _REQUEST.set(value)


def reset_request(token: Any) -> None:
    _REQUEST.reset(token)


@dataclass
class Renderers:
    """How one command's result dict becomes each format (None: not offered)."""

    table: Callable[[], None]
    markdown: Callable[[dict[str, Any]], str] | None = None
    csv: Callable[[dict[str, Any]], str] | None = None
    #: The result's checks when the command's options change them (else checks_of).
    checks: Callable[[dict[str, Any]], list[Any]] | None = None


def emit(command: str, data: dict[str, Any], renderers: Renderers, fmt: str = "table") -> None:
    """Everything a command shows: ``--output`` files, stdout in ``fmt`` (unless
    ``--quiet``), and in GitHub mode the step summary and ``::error`` annotations."""
    req = _REQUEST.get() or OutputRequest(command, github=github_mode(False))
    checks: list[Any] = []
    if req.outputs or req.github:  # what only output files and GitHub annotations show
        from genailog.render.checks import checks_of

        checks = renderers.checks(data) if renderers.checks else checks_of(command, data)
    for path in req.outputs:
        _write_output(path, command, data, renderers, checks)
    if not req.quiet:
        _print_stdout(data, renderers, fmt, req.github)
    if req.github:
        _github(command, data, renderers, checks)


def _print_stdout(data: dict[str, Any], renderers: Renderers, fmt: str, github: bool) -> None:
    """The data formats are printed as they are (a step may redirect them to a file), in
    GitHub mode with no line starting ``::``; the table, for people only, is printed
    between ``::stop-commands::`` and its token."""
    text = None
    if fmt == "json":
        text = json_text(data)
    elif fmt == "markdown" and renderers.markdown is not None:
        text = renderers.markdown(data)
    elif fmt == "csv" and renderers.csv is not None:
        text = renderers.csv(data)
    if text is not None and github:
        from genailog.render.github import no_command_lines  # loads secrets and hmac

        write_text(no_command_lines(text))
    elif text is not None:
        write_text(text)
    elif github:
        _guarded(renderers.table)
    else:
        renderers.table()


def _guarded(show: Callable[[], None]) -> None:
    """``show`` between ``::stop-commands::TOKEN`` and ``::TOKEN::``: no line it prints
    can act as a workflow command."""
    from genailog.render.github import stop_token

    token = stop_token()
    write_text(f"::stop-commands::{token}")
    try:
        show()
    finally:
        _console("stdout").file.flush()
        write_text(f"::{token}::")


def output_text(path: Path, command: str, data: dict[str, Any], renderers: Renderers,
                checks: list[Any]) -> str:
    """The text of one ``--output`` file."""
    from genailog import __version__
    from genailog.render.junit import to_junit

    kind = EXTENSIONS[path.suffix.lower()]
    if kind == "json":
        stamp = {"genailog_version": __version__,
                 "$schema": f"{SCHEMA_BASE}{command}.output.schema.json"}
        return json_text({**stamp, **data})
    if kind == "markdown" and renderers.markdown is not None:
        return renderers.markdown(data)
    if kind == "csv":
        from genailog.render.tables import CSV

        return (renderers.csv or CSV[command])(data)
    return to_junit(checks, f"genailog {command}")


def _write_output(path: Path, command: str, data: dict[str, Any], renderers: Renderers,
                  checks: list[Any]) -> None:
    from genailog.outputs import atomic_writer

    text = output_text(path, command, data, renderers, checks)
    with atomic_writer(path) as handle:
        handle.write(text)


def _github(command: str, data: dict[str, Any], renderers: Renderers,
            checks: list[Any]) -> None:
    from genailog.render.github import error_annotations

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and renderers.markdown is not None:
        _append(Path(summary), renderers.markdown(data))
    for line in error_annotations(checks, command,
                                  workspace=os.environ.get("GITHUB_WORKSPACE")):
        write_text(line)


def _append(path: Path, text: str) -> None:
    """Append to the step summary file (GitHub concatenates what each step wrote)."""
    from genailog.outputs import write_failed

    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise write_failed(path, exc) from None
