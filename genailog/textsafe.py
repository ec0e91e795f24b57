"""Untrusted text made safe for a terminal, rich markup, Markdown and HTML.

Log data (model names, prompt versions, file names, tags, error messages that quote them)
reaches every renderer; this module is the one place it is neutralised:

- ``visible``: control characters (C0 but newline and tab, DEL, C1), bidirectional
  overrides and isolates, line/paragraph separators and lone surrogates are written as
  ``\\x1b``-style escapes, so no escape sequence (colours, OSC 0 window title, OSC 52
  clipboard, cursor moves) or invisible reordering reaches a terminal or a page;
- ``for_terminal``: ``visible`` plus rich markup escaping (prompts contain ``[brackets]``);
  the consoles are built with ``emoji=False`` so ``:100:`` stays ``:100:``;
- ``markdown``: one line of inline Markdown: HTML and entities escaped, emphasis, links,
  images, code spans and table pipes neutralised;
- ``html``: ``visible`` plus ``html.escape`` (quotes included).

It must not import anything from genailog but ``errors`` (it sits below every layer).
"""

from __future__ import annotations

import re

#: Characters that must never reach a terminal or a page as themselves.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
_UNSAFE_OR_NEWLINE = re.compile(_UNSAFE.pattern[:-1] + "\n\t]")

_LINE_BREAKS = re.compile("\r\n|[\r\n\t]")

#: Inline Markdown syntax that data could use to emphasise, link, embed or break a table
#: (an underscore inside a word cannot emphasise, so ``latency_ms`` stays as it is).
_MARKDOWN_PUNCT = re.compile(r"([\\`*\[\]|~#!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: object, *, newlines: bool = True) -> str:
    """``text`` with every unsafe character written as an escape.

    Newlines and tabs stay unless ``newlines`` is false (one-line cells, annotations).
    """
    pattern = _UNSAFE if newlines else _UNSAFE_OR_NEWLINE
    return pattern.sub(_escape_char, str(text))


def for_terminal(text: object, *, newlines: bool = True) -> str:
    """Text for a rich console: unsafe characters visible, markup escaped."""
    from rich.markup import escape

    return escape(visible(text, newlines=newlines))


def markdown(text: object) -> str:
    """One line of inline Markdown (a table cell or a list item) that shows ``text`` as is.

    HTML cannot pass (``<`` and ``&`` become entities), emphasis, links, images, code
    spans, strikethrough and table pipes are backslash-escaped, and newlines become spaces.
    """
    flat = visible(_LINE_BREAKS.sub(" ", str(text)))
    flat = _MARKDOWN_PUNCT.sub(r"\\\1", flat)
    return flat.replace("&", "&amp;").replace("<", "&lt;")


def html(text: object) -> str:
    """Text for an HTML page or attribute: unsafe characters visible, then HTML-escaped."""
    import html as _html  # here: it loads html.entities (4-6 ms), which most commands never need

    return _html.escape(visible(text), quote=True)


#: Cells a spreadsheet would run as a formula (OWASP CSV injection): the one guard that
#: every CSV writer applies (dataset writers as a polars expression, summarize's CSV).
FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA = re.compile(FORMULA_START)


def csv_cell(text: str) -> str:
    """A CSV cell that stays text in a spreadsheet: a leading quote before a formula."""
    return "'" + text if _FORMULA.match(text) else text
