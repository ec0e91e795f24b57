"""Markdown tables and the markdown of results that have no renderer of their own.

Every cell goes through :func:`genailog.textsafe.markdown` (the one Markdown escaper), so
log data cannot add HTML, links or table columns to a step summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genailog.textsafe import markdown as md


def table(header: Sequence[str], rows: Sequence[Sequence[object]],
          numeric: Sequence[int] = ()) -> list[str]:
    """A GitHub-flavoured table; columns in ``numeric`` are right-aligned."""
    lines = ["| " + " | ".join(md(h) for h in header) + " |",
             "|" + "|".join(" ---: " if i in numeric else " --- " for i in range(len(header)))
             + "|"]
    lines += ["| " + " | ".join(md("-" if c is None else c) for c in row) + " |"
              for row in rows]
    return lines


def validate_markdown(data: dict[str, Any]) -> str:
    """``genailog validate`` for a step summary: the verdict, invalid records per file, the
    problems listed."""
    files = data.get("files") or []
    if data["valid"]:
        return (f"## genailog validate: valid\n\n✅ {data['records']:,} records in "
                f"{len(files):,} file(s)\n")
    counts = data.get("invalid_by_file") or {}
    lines = [f"## genailog validate: {data['invalid']:,} invalid of {data['records']:,} "
             "records", "", *table(["file", "invalid records"],
                                   [[f, f"{n:,}"] for f, n in counts.items()], numeric=[1]),
             "", *table(["file:line", "path", "problem"],
                        [[f"{e['file']}:{e['line']}", e["path"] or "-", e["message"]]
                         for e in data["errors"]])]
    if data["errors_truncated"]:
        lines += ["", f"- {len(data['errors']):,} problems listed; raise --max-errors for more"]
    return "\n".join(lines) + "\n"
