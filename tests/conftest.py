"""Shared test fixtures: a stable terminal, small record builders, and the rule for tests
that need an optional heavy tool."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import pytest


@pytest.fixture(autouse=True)
def _stable_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
                     ) -> None:
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")


def require_or_skip(reason: str, *, module: bool = False) -> NoReturn:
    """A test whose heavy optional tool (a browser, litellm, an emulator, an engine) is
    missing: skipped with ``reason`` on a user's machine, failed under
    ``GENAILOG_REQUIRE_ALL=1``, which CI sets after installing every tool."""
    if os.environ.get("GENAILOG_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} (GENAILOG_REQUIRE_ALL=1)")
    pytest.skip(reason, allow_module_level=module)


@pytest.fixture(scope="module")
def compiled() -> Any:
    """genailog's C scanner module (``genailog._scan``), whatever GENAILOG_NO_EXTENSION
    says: for the tests of its functions themselves."""
    from genailog.ingest import scanner

    if scanner._compiled is None:
        require_or_skip("genailog's C scanner is not built (no C compiler at install time; "
                        "run `python hatch_build.py`)")
    return scanner._compiled


@pytest.fixture
def fresh_remote_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Object-storage tests: each test reads as a new process would, with the cache off
    (the cache tests turn it on), so that the object reads counted are its own."""
    from genailog.ingest import remote

    monkeypatch.setattr(remote, "_staged", {})
    monkeypatch.setenv("GENAILOG_NO_CACHE", "1")


@pytest.fixture
def opened_objects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the objects a test's reads open, in order (pruning tests count them)."""
    from genailog.ingest import remote

    opened: list[str] = []
    real = remote.open_object

    def counting(obj: Any) -> Any:
        opened.append(obj.url)
        return real(obj)

    monkeypatch.setattr(remote, "open_object", counting)
    return opened


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
