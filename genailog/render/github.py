"""GitHub Actions workflow commands: annotations and the step summary.

GitHub reads a stdout line that starts with ``::`` as a command, so log data must never
start a line there: the CLI prints a table between ``::stop-commands::TOKEN`` and
``::TOKEN::`` (GitHub's own switch for printing untrusted text), prints JSON, CSV and
markdown as they are (a step may redirect them to a file) with a space before any line
that would start with ``::`` (:func:`no_command_lines`), and every message or
property written here is escaped as the runner's parser expects: ``%``, CR and LF in a
message; also ``:`` and ``,`` in a property. Annotations are grouped because GitHub shows
only the first few per step: one per file with the count and the first lines, one per
failed gate, regression or drifted window.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from genailog.render.checks import Check
from genailog.textsafe import visible


def escape_data(text: str) -> str:
    """A workflow command's message, as GitHub's toolkit (``escapeData``) writes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """``::name key=value,...::message``, every part escaped (control characters shown)."""
    props = ",".join(f"{key}={escape_property(visible(str(value), newlines=False))}"
                     for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(visible(message))}"


def error_annotations(checks: Sequence[Check], command_name: str, limit: int = 10,
                      workspace: str | None = None) -> list[str]:
    """``::error`` lines for the failed checks, grouped: a check that names a file points
    at its first line (relative to ``workspace``, as GitHub links it); drift says each
    window once with its features; past ``limit`` one line says how many more there are."""
    failed = [c for c in checks if c.failed]
    if command_name == "drift":
        failed = _per_suite(failed)
    lines = [command("error", check.message, file=_relative(check.file, workspace),
                     line=check.line, title=f"genailog {command_name}")
             for check in failed[:limit]]
    if len(failed) > limit:
        lines.append(command("error", f"{len(failed) - limit:,} more failed checks; see the "
                             "step summary or the JUnit file", title=f"genailog {command_name}"))
    return lines


def _per_suite(checks: list[Check]) -> list[Check]:
    """One check per suite (a drift window), naming every failed feature in it."""
    suites: dict[str, list[Check]] = {}
    for check in checks:
        suites.setdefault(check.suite, []).append(check)
    return [Check(suite, suite, "failed", f"{suite.removeprefix('genailog ')} drifted: "
                  + "; ".join(c.detail or c.name for c in cases))
            for suite, cases in suites.items()]


def _relative(file: str | None, workspace: str | None) -> str | None:
    """``file`` relative to the checkout, so GitHub can link the annotation to it."""
    if file is None or not workspace:
        return file
    from pathlib import Path

    try:
        return Path(file).resolve().relative_to(Path(workspace).resolve()).as_posix()
    except ValueError:
        return file


def no_command_lines(text: str) -> str:
    """``text`` with a space before any line that starts ``::`` (possible only inside a
    multi-line CSV cell or a hand-written markdown line; JSON never starts a line so)."""
    return "\n".join(" " + line if line.startswith("::") else line
                     for line in text.split("\n"))


def stop_token() -> str:
    """A fresh token for ``::stop-commands::``, unguessable by the data it guards."""
    return secrets.token_hex(16)
