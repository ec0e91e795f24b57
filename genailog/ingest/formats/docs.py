"""docs/formats.md's generated part: the registry's formats and the alias table.

The part between the ``generated`` markers is written from :data:`REGISTRY` (every shape,
what produces it, how it is detected) and from :mod:`aliases` (the field mapping of the
``json`` reader), so the docs cannot drift from the code; the rest of the page is prose.
"""

from __future__ import annotations

from genailog.ingest.formats import REGISTRY, aliases

START = "<!-- generated:formats:start (python scripts/gen_format_docs.py) -->"
END = "<!-- generated:formats:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    lines = [START, "", "| `--input-format` | what it reads | made by |", "| --- | --- | --- |"]
    lines += [f"| `{f.name}` | {_cell(f.summary)} | {_cell(f.producers)} |" for f in REGISTRY]
    lines += ["", "### Field names the `json` reader knows", "",
              "For each canonical field, the names tried in order after `--map`; the first "
              "one present wins, and nothing is summed across them. Dotted names are paths "
              "into nested objects.", "", "| canonical field | source names, in order |",
              "| --- | --- |"]
    lines += [f"| `{name}` | {_cell(names)} |" for name, names in aliases.table_rows()]
    lines += ["", END]
    return "\n".join(lines)


def splice(page: str) -> str:
    """The page with its generated part replaced (appended after the first section when
    the markers are missing)."""
    if START in page and END in page:
        head, _, rest = page.partition(START)
        _, _, tail = rest.partition(END)
        return head + render() + tail
    raise ValueError("docs/formats.md has no generated markers")
