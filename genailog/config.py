"""The project's settings file: ``genailog.toml`` or ``[tool.genailog]`` in ``pyproject.toml``.

Found from the working directory upwards, stopping at the repository root (a folder with
``.git``); ``genailog.toml`` beats ``pyproject.toml`` in the same folder. The command line
always wins over it. Read keys so far (ingest): ``map`` (a table ``{field = "path"}`` or a
list of ``"FIELD=PATH"``), ``model``, ``timezone``. The file is configuration, reviewed
like code: it can name fields and defaults, never turn on network access or read outside
the repository.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genailog.errors import UsageError


@dataclass(frozen=True)
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def get_str(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise UsageError(f"{self.source}: {key} must be a string")
        return value

    def get_list(self, key: str) -> list[str]:
        value = self.values.get(key)
        if value is None:
            return []
        if isinstance(value, dict):
            return [f"{k}={v}" for k, v in value.items()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise UsageError(f"{self.source}: {key} must be a table or a list of strings")


def find_config(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in ("genailog.toml", "pyproject.toml"):
            path = candidate / name
            if path.is_file() and (name == "genailog.toml" or _has_section(path)):
                return path
        if (candidate / ".git").exists():
            return None
    return None


def _has_section(path: Path) -> bool:
    try:
        return "genailog" in _load(path).get("tool", {})
    except UsageError:
        return False


def _load(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None


def load_config(start: Path | None = None) -> Config:
    """The settings in force here, or empty settings when there is no file."""
    path = find_config(start)
    if path is None:
        return Config()
    data = _load(path)
    values = data if path.name == "genailog.toml" else data.get("tool", {}).get("genailog", {})
    if not isinstance(values, dict):
        raise UsageError(f"{path}: [tool.genailog] must be a table")
    return Config(values, path)
