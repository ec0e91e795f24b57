"""``genailog config``: the settings in force here and where each comes from."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from genailog.cli.options import Format, ReportFormat

#: What a setting is when neither the command line nor the file sets it.
DEFAULTS: dict[str, Any] = {
    "map": {}, "model": None, "timezone": "UTC", "prices": "bundled LiteLLM prices",
    "fail_if": [], "min_records": 0, "allow_empty": False, "output": [],
    "min_effect": ["5% for every metric"], "alpha": None, "threshold": [],
    "fail_on_insufficient": False,
}
#: Per-command defaults that differ from DEFAULTS.
COMMAND_DEFAULTS: dict[tuple[str, str], Any] = {
    ("drift", "min_records"): 100, ("drift", "alpha"): 0.01, ("diff-prompts", "alpha"): 0.05,
}


def effective(command: str | None = None) -> dict[str, Any]:
    """The settings file, the repository root and every setting with its source."""
    from genailog.config import COMMAND_KEYS, EXTRA_KEYS, TOP_KEYS, load_config

    config = load_config()
    rows = [_row(config, None, key) for key in TOP_KEYS]
    commands = [command] if command else [c for c in EXTRA_KEYS if config.section(c)]
    for name in commands:
        rows += [_row(config, name, key) for key in (*COMMAND_KEYS, *EXTRA_KEYS[name])]
    return {"file": str(config.source) if config.source else None,
            "root": str(config.root) if config.root else None, "settings": rows}


def _row(config: Any, command: str | None, key: str) -> dict[str, Any]:
    value = config.setting(command or "", key) if config.source else None
    source = config.where(command or "", key) if config.source else "default"
    if value is None or source == "default":
        value = COMMAND_DEFAULTS.get((command or "", key), DEFAULTS.get(key))
    if isinstance(value, list):
        value = [str(v) for v in value]
    elif value is not None and not isinstance(value, bool | int | float | str | dict):
        value = str(value)
    return {"command": command, "key": key, "value": value, "source": source}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
    return "(none)" if value is None else str(value).lower() if isinstance(value, bool) \
        else str(value)


def _lines(data: dict[str, Any]) -> tuple[str, list[list[str]]]:
    head = (f"settings file: {data['file']} (repository root {data['root']})" if data["file"]
            else "settings file: none found from here up to the repository root")
    rows = [[r["command"] or "(all)", r["key"], _text(r["value"]), r["source"]]
            for r in data["settings"]]
    return head, rows


def config_command(
    command: Annotated[str | None, typer.Argument(
        help="Also show every setting of this command, defaults included "
        "(e.g. summarize).", show_default=False)] = None,
    fmt: Format = ReportFormat.table,
) -> None:
    """Show the settings in force here (genailog.toml or [tool.genailog] in
    pyproject.toml, found from this folder up to the repository root) and where each
    comes from. The command line overrides every one of them (docs/config.md).

    Example: genailog config summarize
    """
    from genailog.config import EXTRA_KEYS
    from genailog.errors import UsageError

    if command is not None and command not in EXTRA_KEYS:
        raise UsageError(f"genailog config {command}: not a command; one of "
                         f"{', '.join(EXTRA_KEYS)}")
    _show(effective(command), fmt.value)


def _show(data: dict[str, Any], fmt: str) -> None:
    from genailog.cli.render import esc, print_json, stdout, write_text
    from genailog.render.markdown import table

    if fmt == "json":
        print_json(data)
        return
    head, rows = _lines(data)
    if fmt == "markdown":
        write_text("\n".join(["## genailog config", "", f"{head}", "",
                              *table(["command", "setting", "value", "source"], rows)]))
        return
    from rich.table import Table

    grid = Table("command", "setting", "value", "source", caption=esc(head),
                 caption_justify="left")
    for column in grid.columns:  # long paths fold onto the next line, never cut
        column.overflow = "fold"
    for row in rows:
        grid.add_row(*(esc(cell) for cell in row))
    stdout.print(grid)
