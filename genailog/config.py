"""The project's settings file: ``genailog.toml`` or ``[tool.genailog]`` in ``pyproject.toml``.

Found from the working directory upwards, stopping at the repository root (a folder with
``.git``); ``genailog.toml`` beats ``pyproject.toml`` in the same folder. The command line
always wins over it.

Keys (docs/config.md): at the top ``map`` (a table ``{field = "path"}`` or a list of
``"FIELD=PATH"``), ``model``, ``timezone``, ``prices``; per command, in a table named after
it (``[tool.genailog.summarize]``): ``output``, and what that command reads (``fail_if``,
``min_records``, ``allow_empty``, ``min_effect``, ``alpha``, ``threshold``,
``fail_on_insufficient``: see EXTRA_KEYS). An unknown key is an error, not ignored: a
typo in a gate's name must not turn CI green.

The file is configuration, reviewed like code: it can set gates, prices, field maps and
outputs inside the working tree, never turn on network access (no key does, and the
network switches are refused by name) or name a path outside the repository. Relative
paths are relative to the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genailog.errors import UsageError

#: Keys at the top of the settings, with the type each must have.
TOP_KEYS: dict[str, tuple[type, ...]] = {
    "map": (dict, list), "model": (str,), "timezone": (str,), "prices": (str,),
}
#: Keys every command's table may hold (gates and outputs are per command: one
#: command's metric names mean nothing to another).
COMMAND_KEYS: dict[str, tuple[type, ...]] = {"output": (list,)}
#: Keys of one command's table beyond COMMAND_KEYS: only what that command reads, so a
#: key that would be ignored is an error instead.
EXTRA_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "summarize": {"fail_if": (list,), "min_records": (int,), "allow_empty": (bool,)},
    "traces": {"fail_if": (list,)},
    "diff-prompts": {"min_effect": (list,), "alpha": (float, int),
                     "fail_on_insufficient": (bool,)},
    "drift": {"threshold": (list,), "alpha": (float, int), "min_records": (int,),
              "allow_empty": (bool,)},
    "validate": {}, "export-dataset": {}, "inspect": {}, "retrieval": {}, "redact": {},
    "convert": {}, "sample": {},
}
#: Keys that would let a reviewed file open network access; refused by name.
NETWORK_KEYS = frozenset({"allow_https", "allow_http", "network", "allow_network"})
#: Keys holding paths: resolved against the file's folder and kept inside the repository.
PATH_KEYS = frozenset({"prices", "output"})


@dataclass(frozen=True)
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    root: Path | None = None

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

    def section(self, command: str) -> dict[str, Any]:
        """The command's own table (``[tool.genailog.summarize]``), or empty."""
        value = self.values.get(command)
        return value if isinstance(value, dict) else {}

    def setting(self, command: str, key: str) -> Any:
        """A command's setting (its table, then the top), None when unset; paths come
        back resolved against the file's folder."""
        value = self.section(command).get(key, self.values.get(key))
        if value is None or key not in PATH_KEYS:
            return value
        return ([self.path(v, key) for v in value] if isinstance(value, list)
                else self.path(value, key))

    def where(self, command: str, key: str) -> str:
        """Where ``setting(command, key)`` comes from, for ``genailog config``."""
        prefix = "tool.genailog." if self.source and self.source.name == "pyproject.toml" \
            else ""
        if key in self.section(command):
            return f"{self.source} [{prefix}{command}]"
        if key in self.values:
            return f"{self.source} [{prefix.rstrip('.')}]" if prefix else f"{self.source}"
        return "default"

    def path(self, text: str, key: str) -> Path:
        """``text`` resolved against the file's folder; outside the repository it is an
        error (the file is reviewed with the code it sits beside, nothing else)."""
        if "://" in text:
            raise UsageError(f"{self.source}: {key} = {text!r}: the config names files in "
                             "the repository, never URLs")
        assert self.source is not None and self.root is not None
        resolved = (self.source.parent / text).resolve()
        if not resolved.is_relative_to(self.root):
            raise UsageError(f"{self.source}: {key} = {text!r} is outside the repository "
                             f"({self.root}); the config reads and writes only inside it")
        return resolved


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
    import tomllib  # here: only a run with a settings file parses TOML

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None


def _root(folder: Path) -> Path:
    """The repository holding ``folder`` (the nearest folder with ``.git``), else
    ``folder`` itself."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


#: The settings read so far in this command's run, by folder (see :func:`read_once`).
_READ: ContextVar[dict[Path, Config] | None] = ContextVar("genailog_config", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """Within the block (one command's run: the CLI wraps each), the settings file is found
    and parsed once, however many options ask for a setting."""
    token = _READ.set({})
    try:
        yield
    finally:
        _READ.reset(token)


def load_config(start: Path | None = None) -> Config:
    """The settings in force here, or empty settings when there is no file."""
    read = _READ.get()
    if read is None:
        return _read_config(start)
    folder = (start or Path.cwd()).resolve()
    if folder not in read:
        read[folder] = _read_config(folder)
    return read[folder]


def _read_config(start: Path | None) -> Config:
    path = find_config(start)
    if path is None:
        return Config()
    data = _load(path)
    values = data if path.name == "genailog.toml" else data.get("tool", {}).get("genailog", {})
    if not isinstance(values, dict):
        raise UsageError(f"{path}: [tool.genailog] must be a table")
    _check(values, path)
    return Config(values, path, _root(path.parent))


def _check(values: dict[str, Any], path: Path) -> None:
    """Unknown keys, wrong types and network switches are errors, each named."""
    for key, value in values.items():
        if key in EXTRA_KEYS:
            if not isinstance(value, dict):
                raise UsageError(f"{path}: {key} must be a table of that command's settings")
            known = {**COMMAND_KEYS, **EXTRA_KEYS[key]}
            for sub, item in value.items():
                _check_key(path, f"{key}.{sub}", sub, item, known)
        else:
            _check_key(path, key, key, value, TOP_KEYS)


def _check_key(path: Path, name: str, key: str, value: Any,
               known: dict[str, tuple[type, ...]]) -> None:
    if key in NETWORK_KEYS:
        raise UsageError(f"{path}: {name}: the config cannot turn on network access; set "
                         "the environment variable for that one job instead")
    if key not in known:
        import difflib

        guess = difflib.get_close_matches(key, [*known, *EXTRA_KEYS], n=1)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        raise UsageError(f"{path}: unknown setting {name}{hint}; see docs/config.md")
    kinds = known[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(_TYPE_NAMES[k] for k in kinds)
        raise UsageError(f"{path}: {name} must be {names}")
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: {name} must be a list of strings")


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


def config_gates(command: str, start: Path | None = None) -> list[str]:
    """The command's ``fail_if`` gates from the settings file (none when unset)."""
    value = load_config(start).setting(command, "fail_if")
    return list(value) if value else []


def config_default(command: str, key: str, given: Any, default: Any) -> Any:
    """``given`` when the command line set it (differs from ``default``), else the
    settings file's value, else ``default``."""
    if given != default:
        return given
    value = load_config().setting(command, key)
    return default if value is None else value
