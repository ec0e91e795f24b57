"""Command-line values converted without a pydantic model per option.

Typer 0.29 converts each option's value through a pydantic ``TypeAdapter`` it builds on
first use, even for an option left unset: importing pydantic and building the adapters
costs about 90 ms per command, 7% of a 1M-record ``summarize`` over Parquet. Our options
are plain types (text, whole numbers, decimals, flags, paths, choices and lists of them),
so their usual values are converted here directly; any other value (one that needs
pydantic's lax parsing, or is wrong and needs Typer's error message) and any other type
go to Typer's own conversion, so what is accepted and every message stay Typer's.
``tests/test_cli_coerce.py`` pins this to Typer's result for every option of every
command.

Installed by :func:`install` (``genailog.cli.app``); a Typer without the hook it replaces
keeps its own conversion.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

#: What :func:`convert` returns when it leaves the value to Typer.
UNSURE: Any = object()

_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?")


def convert(annotation: Any, info: Any, value: Any) -> Any:
    """``value`` converted as Typer would for ``annotation`` and the option's ``info``
    (its ``ParameterInfo``), or :data:`UNSURE`."""
    if get_origin(annotation) is list:
        item = get_args(annotation)[0]
        if not isinstance(value, list | tuple):
            return UNSURE
        items = [convert(item, info, v) for v in value]
        return UNSURE if any(v is UNSURE for v in items) else items
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None):
        return UNSURE
    if annotation is str:
        return value if type(value) is str else UNSURE
    if annotation is bool:
        return value if type(value) is bool else UNSURE
    if annotation is int or annotation is float:
        return _number(annotation, info, value)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation, info, value)
    if annotation is Path:
        return _path(info, value)
    return UNSURE


def _number(kind: type[Any], info: Any, value: Any) -> Any:
    if type(value) is kind or (kind is float and type(value) is int):
        number = kind(value)
    elif type(value) is str and (_INT if kind is int else _FLOAT).fullmatch(value):
        number = kind(value)
    else:
        return UNSURE
    if info.clamp or (info.min is not None and number < info.min) or (
            info.max is not None and number > info.max):
        return UNSURE  # clamped, or out of range: Typer's message
    return number


def _choice(kind: type[Enum], info: Any, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    if type(value) is not str or not info.case_sensitive:
        return UNSURE
    found = [member for member in kind if str(member.value) == value]
    return found[0] if len(found) == 1 else UNSURE


def _path(info: Any, value: Any) -> Any:
    """A plain path option (no existence, dash or resolve settings): ``Path(value)``,
    unless it names something unreadable (Typer's message)."""
    if (type(value) is not str or not value or "\x00" in value or info.exists
            or info.allow_dash or info.resolve_path or info.path_type is not None
            or info.writable or not info.file_okay or not info.dir_okay):
        return UNSURE
    path = Path(value)
    if info.readable and os.path.lexists(value) and not os.access(value, os.R_OK):
        return UNSURE
    return path


def install() -> None:
    """Convert options through :func:`convert` first (Typer 0.29's runtime parameters)."""
    try:
        from typer import core
        from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    except ImportError:  # another Typer: its own conversion
        return
    parameter = getattr(core, "_TyperParameter", None)
    if parameter is None or not hasattr(parameter, "get_runtime_param"):
        return

    @dataclass(frozen=True)
    class Direct(RuntimeParam):
        descriptor: TypeDescriptor

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if getattr(ctx, "token_normalize_func", None) is None:  # choices as typed
                converted = convert(self.annotation, self.parameter_info, value)
                if converted is not UNSURE:
                    return converted
            typer_own = build_runtime_param(self.descriptor)
            return typer_own._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            self._runtime_param = (
                build_runtime_param(descriptor) if descriptor.file_annotation is not None
                else Direct(parameter_info=descriptor.parameter_info,
                            annotation=descriptor.annotation, descriptor=descriptor))
        return self._runtime_param

    parameter.get_runtime_param = get_runtime_param
