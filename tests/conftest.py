"""Shared test fixtures: a stable terminal and small record builders."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _stable_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
                     ) -> None:
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")


def base_record(**fields: Any) -> dict[str, Any]:
    """A minimal valid canonical record, with ``fields`` on top."""
    record: dict[str, Any] = {"timestamp": "2025-12-26T10:00:12Z", "model": "gpt-4.1"}
    record.update(fields)
    return record


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    """Write each record as one JSON line (strings are written as they are)."""
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record if isinstance(record, str) else json.dumps(record))
            handle.write("\n")
    return path
