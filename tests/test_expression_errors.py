"""Expression errors speak the user's language: a message, the text, a caret under the
problem, a hint for the mistake users bring from SQL, Python or shells, and nothing of
the machinery underneath (polars expressions, class names, validator prefixes)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from genailog.cli.app import app

SAMPLE = str(Path(__file__).parents[1] / "sample_logs" / "week1.jsonl")
#: Words of the machinery: polars expression echoes, exception class names, validators.
INTERNALS = re.compile(r"PG[A-Z]\w+|Value error,|\.str\.|\bExpr\b|polars|Traceback|"
                       r"Exception|Error\(|regex parse error|This error occurred")


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _message(result: Any) -> tuple[str, str, str]:
    """The error's three lines: message, the text, the caret line."""
    assert result.exit_code == 2, result.output
    assert not INTERNALS.search(result.stderr), result.stderr
    lines = result.stderr.rstrip("\n").split("\n")
    assert len(lines) == 3, lines
    return lines[0], lines[1], lines[2]


def _marked(text_line: str, caret_line: str) -> str:
    start = caret_line.index("^")
    return text_line[start:start + caret_line.count("^")]


@pytest.mark.parametrize("command", [
    ["summarize", SAMPLE], ["drift", SAMPLE], ["diff-prompts", SAMPLE, "--baseline", "v1",
                                               "--candidate", "v2"],
    ["export-dataset", SAMPLE, "--out", "/nonexistent/never-written.jsonl"],
])
def test_double_quoted_text_gets_the_single_quote_hint_in_every_command(
        command: list[str]) -> None:
    message, text, carets = _message(_run(*command, "--where", 'model = "gpt-4.1"'))
    assert "double quotes names a field" in message, message
    assert "text goes in single quotes: model = 'gpt-4.1'" in message, message
    assert _marked(text, carets) == '"gpt-4.1"'


@pytest.mark.parametrize(("where", "hint", "marked"), [
    ("latency_ms >> 3", "'>>' is not an operator; comparisons are =, !=", ">>"),
    ("latency_ms => 3", "'=>' is not an operator", "=>"),
    ("status = 'ok' && model = 'x'", "'&&' is not an operator here: join conditions "
     "with AND", "&&"),
    ("status = 'ok' || model = 'x'", "'||' is not an operator here: join conditions "
     "with OR", "||"),
    ("latency_ms::int > 3", "there are no type casts", "::"),
    ("!refusal", "negate with NOT", "!"),
    ("`model` = 'x'", "backquotes are not quotes here", "`"),
    ("model ~ '('", "invalid regular expression: unclosed group", "'('"),
    ("model ~ '(?<=a)b'", "invalid regular expression: look-around", "'(?<=a)b'"),
])
def test_mistakes_from_other_languages_are_named_with_a_caret(where: str, hint: str,
                                                             marked: str) -> None:
    message, text, carets = _message(_run("summarize", SAMPLE, "--where", where))
    assert message.startswith("error: --where: ") and hint in message, message
    assert _marked(text, carets) == marked


def test_a_reference_name_without_reference_says_what_it_needs() -> None:
    message, text, carets = _message(_run(
        "summarize", SAMPLE, "--fail-if", "cost_per_request > 1.1 * reference.cost_per_request"))
    assert "reference.cost_per_request is the reference's value of cost_per_request" in message
    assert "--reference" in message
    assert _marked(text, carets) == "reference.cost_per_request"


def test_reference_is_not_a_namespace_in_where() -> None:
    message, _, _ = _message(_run("summarize", SAMPLE, "--where", "reference.model = 'x'"))
    assert "unknown field reference.model" in message, message


@pytest.mark.parametrize("where", [
    "latency_ms >> 3", "latency_ms << 3", "model = \"x\"", "model ~ '['", "latency_ms > 'a'",
    "timestamp > 'yesterday'", "round(latency_ms, 'x') > 1", "model IN (SELECT 1)",
    "lower(latency_ms) = 'x'", "model = 'a' AND", "x::int", "a ||| b", "latency_ms = 1e999",
    "99999999999999999999999 > latency_ms", "coalesce(model, latency_ms) = 1",
])
@pytest.mark.parametrize("option", ["--where", "--fail-if"])
def test_no_internals_leak_from_any_bad_expression(where: str, option: str) -> None:
    result = _run("summarize", SAMPLE, option, where)
    assert result.exit_code == 2, result.output
    assert not INTERNALS.search(result.output), result.output
    assert "^" in result.stderr.splitlines()[-1], result.stderr
