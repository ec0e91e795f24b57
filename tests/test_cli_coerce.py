"""genailog.cli.coerce converts option values as Typer's own pydantic conversion does, and
a command that prints JSON imports neither pydantic nor rich (nor numpy, unless a view
needs it).

For every option of every command, any value the direct conversion accepts must come out
equal, and of the same type, to what Typer gives; a value Typer refuses must be left to
Typer (so its error message is the one shown).
"""

from __future__ import annotations

import string
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer._coercion import build_runtime_param
from typer.testing import CliRunner

from genailog.cli import coerce
from genailog.cli.app import app

runner = CliRunner()
SAMPLE = str(Path(__file__).resolve().parents[1] / "sample_logs")
_ROOT = typer.main.get_command(app)
_PARAMS = [(name, param) for name, command in _ROOT.commands.items()  # type: ignore[attr-defined]
           for param in command.params if param.type_descriptor.file_annotation is None]
_KINDS = {(repr(p.type_descriptor.annotation), repr(p.type_descriptor.parameter_info.min),
           repr(p.type_descriptor.parameter_info.max)): (name, p) for name, p in _PARAMS}

_SHORT = st.text(alphabet=string.printable + "éß€\u200b\x00\udcff", max_size=8)
_NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(r"\A[ +-]?[0-9_]{0,6}(\.[0-9]{0,4})?([eE][+-]?[0-9]{1,3})?[ ]?\Z"),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    _SHORT,
)


def _values(annotation: Any) -> st.SearchStrategy[Any]:
    if get_origin(annotation) is list:
        item = get_args(annotation)[0]
        return st.lists(_values(item), max_size=3).flatmap(
            lambda items: st.sampled_from([items, tuple(items)]))
    if annotation in (int, float):
        return _NUMBERS
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        names = [m.value for m in annotation] + [m.name for m in annotation]
        return st.one_of(st.sampled_from(list(annotation)), st.sampled_from(names),
                         st.sampled_from(names).map(str.upper), _SHORT)
    if annotation is bool:
        return st.one_of(st.booleans(), _SHORT)
    if annotation is Path:
        return st.one_of(st.sampled_from([SAMPLE, SAMPLE + "/week1.jsonl", "-",
                                          "", "nowhere/x.json", ".", "a\x00b"]), _SHORT)
    return _SHORT


def _typer_says(param: Any, value: Any) -> tuple[bool, Any]:
    """(True, converted) or (False, None) when Typer refuses the value."""
    ctx = param.type_descriptor  # the descriptor is all Typer's conversion reads here
    own = build_runtime_param(ctx)
    try:
        return True, own._coerce_value(value, param=param, ctx=None)
    except Exception:  # Typer's BadParameter, or pydantic refusing the value
        return False, None


@pytest.mark.parametrize("key", sorted(_KINDS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_direct_conversion_equals_typers(key: tuple[str, str, str], data: Any) -> None:
    _, param = _KINDS[key]
    descriptor = param.type_descriptor
    value = data.draw(_values(descriptor.annotation))
    direct = coerce.convert(descriptor.annotation, descriptor.parameter_info, value)
    if direct is coerce.UNSURE:
        return
    accepted, converted = _typer_says(param, value)
    assert accepted, f"{value!r}: Typer refuses it, the direct conversion gave {direct!r}"
    assert converted == direct or (converted != converted and direct != direct), value
    assert type(converted) is type(direct), value
    if isinstance(direct, list):
        assert [type(v) for v in direct] == [type(v) for v in converted]


def test_every_option_kind_is_converted_directly_for_its_default() -> None:
    """The fast path covers the defaults and plain spellings, or it saves nothing."""
    plain = {str: "x", int: "3", float: "0.5", bool: True, Path: SAMPLE}
    for _, param in _PARAMS:
        descriptor = param.type_descriptor
        annotation = descriptor.annotation
        item = get_args(annotation)[0] if get_origin(annotation) is list else annotation
        sample = (next(iter(item)) if isinstance(item, type) and issubclass(item, Enum)
                  else plain[item])
        value = (sample,) if get_origin(annotation) is list else sample
        assert coerce.convert(annotation, descriptor.parameter_info, value) is not coerce.UNSURE


def test_a_refused_value_keeps_typers_message() -> None:
    for option, value, message in (
            ("--top", "ten", "Invalid value for '--top': Input should be a valid integer"),
            ("--format", "yaml", "Invalid value for '--format': Value error, 'yaml' is not "
                                 "one of 'table', 'json', 'markdown', 'csv'.")):
        result = runner.invoke(app, ["summarize", SAMPLE, option, value],
                               env={"COLUMNS": "300"})
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.replace("│", " ").split()), result.output


def test_a_json_summary_of_parquet_imports_no_pydantic_rich_or_numpy() -> None:
    """Option values need no pydantic, JSON on stdout no rich, a summary without --top or
    --window no numpy (90, 20 and 75-150 ms of a command's start)."""
    import subprocess
    import sys

    code = ("import sys\nfrom genailog.cli.app import main\n"
            f"sys.argv = ['genailog', 'summarize', {SAMPLE + '/codeassist.parquet'!r}, "
            "'--by', 'model', '--format', 'json', '--min-records', '1']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(*(name in sys.modules for name in ('pydantic', 'rich', 'numpy')), "
            "file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.stderr.strip().splitlines()[-1] == "False False False", done.stderr
    assert '"groups"' in done.stdout


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("compatible", [None, "0", "1", ""])
@pytest.mark.parametrize("force_color", [None, "", "1"])
def test_the_terminal_check_agrees_with_rich(monkeypatch: pytest.MonkeyPatch, tty: bool,
                                             compatible: str | None,
                                             force_color: str | None) -> None:
    import os
    import sys

    from rich.console import Console

    from genailog.cli.render import stderr_is_terminal

    for name, value in (("TTY_COMPATIBLE", compatible), ("FORCE_COLOR", force_color)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    if tty:
        leader, follower = os.openpty()
        stream = open(follower, "w")  # noqa: SIM115 - closed below
    else:
        stream = open(os.devnull, "w")  # noqa: SIM115
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        assert stderr_is_terminal() == Console(stderr=True).is_terminal
    finally:
        stream.close()
        if tty:
            os.close(leader)
