"""Locating the bundled JSON Schemas, installed or in a source checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

RECORD_SCHEMA_NAME = "genailog.record.v2.schema.json"


def schemas_dir() -> Path:
    """The folder holding the bundled schemas (wheel: genailog/_schemas; checkout: schemas/)."""
    installed = Path(__file__).resolve().parent.parent / "_schemas"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((schemas_dir() / name).read_text(encoding="utf-8"))
    return data


def load_record_schema() -> dict[str, Any]:
    """The canonical record schema (JSON Schema 2020-12)."""
    return _load(RECORD_SCHEMA_NAME)


def load_output_schema(command: str) -> dict[str, Any]:
    """The schema of a command's ``--format json`` output, e.g. ``"summarize"``."""
    return _load(f"{command}.output.schema.json")
