"""CSV of the tabular results that have no CSV renderer of their own in the CLI.

One row per diff-prompts metric, one row per drift window x feature; every column of the
JSON row, nested values as JSON text. Text cells go through ``textsafe.csv_cell`` (the one
formula guard) so a spreadsheet shows them as text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from genailog.textsafe import csv_cell


def records_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV with ``columns`` (a missing value is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return csv_cell(value) if isinstance(value, str) else value


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def diff_csv(data: dict[str, Any]) -> str:
    """diff-prompts: one row per metric and statistic."""
    return records_csv(data["metrics"], _columns(data["metrics"]))


def drift_csv(data: dict[str, Any]) -> str:
    """drift: one row per window x feature (a window too small to judge: one row)."""
    rows = []
    for window in data["windows"]:
        head = {f"window_{k}": window[k] for k in ("start", "end", "records", "judged",
                                                   "drifted")}
        rows += [{**head, **feature} for feature in window["features"]] or [head]
    return records_csv(rows, _columns(rows))


#: command -> its CSV when the CLI has none.
CSV: dict[str, Callable[[dict[str, Any]], str]] = {"diff-prompts": diff_csv,
                                                    "drift": drift_csv}
