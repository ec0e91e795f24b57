"""A columnar cache of JSONL files, so several commands over one artifact parse it once.

A file's entry is keyed by its path, size, modification time and a hash of its first and
last MiB, plus the genailog version; it holds the typed records as Parquet parts and the
invalid records in ``meta.json``. Entries are written to a temporary folder and renamed
into place, so a crash never leaves a half entry. ``GENAILOG_CACHE_DIR`` moves the cache;
``GENAILOG_NO_CACHE=1`` turns it off. Only files of at least ``MIN_BYTES`` are cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from genailog import __version__
from genailog.ingest.report import InvalidRecord
from genailog.ingest.sources import Source

MIN_BYTES = 16 * 1024 * 1024
_SAMPLE = 1024 * 1024
FORMAT_VERSION = 2  # bump whenever what an entry holds changes


def cache_root() -> Path | None:
    """The cache folder, or None when caching is off."""
    if os.environ.get("GENAILOG_NO_CACHE", "") not in ("", "0"):
        return None
    configured = os.environ.get("GENAILOG_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genailog"


def cache_key(source: Source) -> str | None:
    """The key of a file's entry; None for stdin and small files."""
    if source.is_stdin:
        return None
    try:
        stat = os.stat(source.name)
    except OSError:
        return None
    if stat.st_size < MIN_BYTES:
        return None
    digest = hashlib.sha256()
    digest.update(json.dumps([os.path.abspath(source.name), stat.st_size, stat.st_mtime_ns,
                              __version__, FORMAT_VERSION]).encode())
    with open(source.name, "rb") as handle:
        digest.update(handle.read(_SAMPLE))
        handle.seek(max(0, stat.st_size - _SAMPLE))
        digest.update(handle.read(_SAMPLE))
    return digest.hexdigest()[:32]


@dataclass
class CacheEntry:
    """What a cached file holds: its parts, each with the user fields it holds as JSON
    text (parts may differ in their user fields and their types)."""

    parts: list[tuple[pl.LazyFrame, set[str]]]
    records: int
    invalid: list[InvalidRecord]


def load(root: Path, key: str) -> CacheEntry | None:
    folder = root / key
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        invalid = [InvalidRecord(r["file"], r["line"], tuple(map(tuple, r["problems"])),
                                 raw=r["raw"].encode("utf-8", "surrogateescape"))
                   for r in meta["invalid"]]
        parts = [(pl.scan_parquet(folder / name), set(marks))
                 for name, marks in sorted(meta["parts"].items())]
        return CacheEntry(parts, meta["records"], invalid)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or from another version: parse the file again


def write_part(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path, compression="lz4", statistics=False)


class CacheWriter:
    """Collects a file's parts in a temporary folder; ``commit`` renames it into place."""

    def __init__(self, root: Path, key: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.key = root, key
        self.folder = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        self.parts: dict[str, list[str]] = {}

    def add(self, frame: pl.DataFrame, json_columns: set[str]) -> None:
        """Store one part."""
        name = f"part-{len(self.parts):05d}.parquet"
        write_part(frame, self.folder / name)
        self.register(name, json_columns)

    def register(self, name: str, json_columns: set[str]) -> None:
        """Record a part that a worker wrote into :attr:`folder`."""
        self.parts[name] = sorted(json_columns)

    def commit(self, records: int, invalid: list[InvalidRecord]) -> None:
        meta: dict[str, Any] = {
            "records": records, "parts": self.parts,
            "invalid": [{"file": r.file, "line": r.line, "problems": r.problems,
                         "raw": r.raw.decode("utf-8", "surrogateescape")} for r in invalid],
        }
        (self.folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        target = self.root / self.key
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(self.folder, target)

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
