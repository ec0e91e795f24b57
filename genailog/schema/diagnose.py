"""Exact, per-line verdicts and messages, by jsonschema (Draft 2020-12, formats checked)
plus the parse-level rules of :mod:`genailog.schema.limits`.

This is the slow path: the fast reader sends here only the lines it rejected, and
``genailog validate --schema`` sends every line. jsonschema has the last word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from genailog.schema import limits
from genailog.schema.files import load_record_schema

_MAX_MESSAGE = 240


@dataclass(frozen=True)
class Problem:
    """One reason a line is not a valid record: JSON pointer and message."""

    path: str
    message: str


def make_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A 2020-12 validator with format checking on; raises UsageError for a bad schema."""
    from genailog.errors import UsageError

    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UsageError(f"--schema is not a valid JSON Schema 2020-12: {exc.message}") from None
    return _offline_validator(schema)


def _offline_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """References resolved inside the schema only (no download), checked before any data."""
    from genailog.schema.refs import check_refs, offline_registry

    check_refs(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER,
                                registry=offline_registry())


@cache
def record_validator() -> Draft202012Validator:
    return make_validator(load_record_schema())


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def parse_line(line: bytes, *, last_unterminated: bool = False) -> tuple[Any, Problem | None]:
    """Decode one line as JSON under the parse-level rules of :mod:`genailog.schema.limits`;
    a problem explains why it is not a usable JSON value."""
    too_long = limits.long_line_message(line)
    if too_long is not None:
        return None, Problem("", too_long)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Problem("", f"invalid UTF-8 at byte {exc.start + 1}; save the file as UTF-8")
    try:
        return limits.loads(text), None
    except limits.Rejected as exc:
        return None, Problem("", str(exc))
    except json.JSONDecodeError as exc:
        if last_unterminated and re.match(r"(Unterminated|Expecting)", exc.msg):
            return None, Problem(
                "", "truncated last line: the JSON ends early (was the file cut off while "
                "being written?); remove or complete the line")
        return None, Problem("", f"not valid JSON: {exc.msg} at column {exc.colno}")


def check_value(value: Any, validator: Draft202012Validator | None = None) -> list[Problem]:
    """Schema problems of one decoded JSON value (empty when valid)."""
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(value), "a number")
        return [Problem("", f"expected a JSON object per line, got {kind}")]
    checker = validator or record_validator()
    problems = [
        Problem(_pointer(err.absolute_path), _short(err.message))
        for err in checker.iter_errors(value)
    ]
    problems += [Problem(path, message) for path, message in limits.record_problems(value)]
    return sorted(problems, key=lambda p: (p.path, p.message))


def diagnose(
    line: bytes,
    validator: Draft202012Validator | None = None,
    *,
    last_unterminated: bool = False,
) -> tuple[Any, list[Problem]]:
    """Parse and check one line: the value (None if not JSON) and its problems."""
    value, problem = parse_line(line, last_unterminated=last_unterminated)
    if problem is not None:
        return None, [problem]
    return value, check_value(value, validator)
