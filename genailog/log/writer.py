"""The background writer: records in, whole JSON lines out, off the request path.

The request path only appends an item to a bounded deque (tens of nanoseconds, no lock,
no system call). A daemon thread drains the deque, finishes each item into a canonical
record (timestamp text, redaction, reasoning masking, embedding compaction, all done
here), encodes it with msgspec and keeps the lines in a buffer that it hands to the
operating system in one ``write`` every ``flush_interval`` seconds.

Why a file never holds a torn line in its middle: the file is opened with ``O_APPEND``
and only ever receives whole lines, in one ``write`` per flush, so a crash loses at most
the lines still in the buffer (one flush interval). The last line can still be torn: Linux
stops a write of several pages at a page boundary when ``kill -9`` arrives during it, and
a full disk stops it anywhere; ``genailog validate`` reports that as a truncated last line.
A writer that opens a file ending in such a torn line starts with a newline, so its own
first line is whole and the torn one stays the single invalid line.

Rotation renames the full file to ``<stem>.<UTC time>.<n><suffix>`` and compresses it
with gzip in a second thread, so compression never stalls writing.

Nothing here imports polars, numpy or any provider SDK.
"""

from __future__ import annotations

import atexit
import collections
import gzip
import logging
import os
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec

_log = logging.getLogger("genailog.log")

#: What the writer's thread turns into a record: ``finish(payload)``, or None to drop.
Finisher = Callable[[Any], "dict[str, Any] | None"]

#: Records finished and encoded between two hand-backs of the GIL (a few hundred
#: microseconds of work). Smaller batches do not shorten the request path's tail (it is
#: the machine's preemption, bench/README.md) but starve the writer: each hand-back to a
#: busy thread costs the writer a whole switch interval (5 ms) to get the GIL back.
BATCH = 64


@dataclass
class WriterStats:
    """Counters since the writer opened (read them at any time)."""

    accepted: int = 0
    dropped: int = 0
    written: int = 0
    failed: int = 0
    rotations: int = 0


def _encode_default(value: Any) -> Any:
    """Values msgspec cannot encode natively (pydantic models, sets, ...) as text."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


class Writer:
    """Appends records to a JSON Lines file from a background thread.

    ``queue_size`` bounds the records waiting; when full, ``on_full="drop"`` drops the new
    record and counts it (the count rides on the next written record as
    ``genailog_dropped`` and is reported through the ``genailog.log`` logger), while
    ``"block"`` makes the caller wait for room. ``rotate_bytes``/``rotate_seconds`` start a
    new file when the current one is that large or that old; rotated files are gzipped
    unless ``compress=False``. Records are finished by ``transform`` (redaction and the
    like) in the writer's thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        queue_size: int = 10_000,
        on_full: Literal["drop", "block"] = "drop",
        flush_interval: float = 1.0,
        rotate_bytes: int | None = None,
        rotate_seconds: float | None = None,
        compress: bool = True,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        if on_full not in ("drop", "block"):
            raise ValueError(f"on_full must be 'drop' or 'block', not {on_full!r}")
        if queue_size < 1 or flush_interval <= 0:
            raise ValueError("queue_size must be >= 1 and flush_interval > 0")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stats = WriterStats()
        self._queue: collections.deque[tuple[Finisher | None, Any]] = collections.deque()
        self._size = queue_size
        self._block = on_full == "block"
        self._flush_interval = flush_interval
        self._rotate_bytes = rotate_bytes
        self._rotate_seconds = rotate_seconds
        self._compress = compress
        self._transform = transform
        self._encoder = msgspec.json.Encoder(enc_hook=_encode_default)
        self._buffer = bytearray()
        self._unreported_drops = 0
        self._closed = False
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._room = threading.Event()
        self._waiting = False
        self._compressors: list[threading.Thread] = []
        self._open()
        self._start()
        _writers.add(self)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="genailog-writer", daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        """In a forked child: the parent writes what it had queued; the child starts
        empty, with a writer thread of its own, appending whole lines to the same file."""
        self._queue.clear()
        self._buffer.clear()
        self._wake, self._idle, self._room = threading.Event(), threading.Event(), threading.Event()
        self._waiting = False
        self._compressors = []
        if not self._closed:
            self._start()

    # -- the request path ------------------------------------------------------------

    def put(self, payload: Any, finish: Finisher | None = None) -> bool:
        """Queue ``payload`` (a record, or what ``finish`` turns into one). False when it
        was dropped because the queue was full or the writer is closed."""
        if self._closed:
            self.stats.dropped += 1
            return False
        queue = self._queue
        if len(queue) >= self._size:
            if not self._block:
                self.stats.dropped += 1
                self._unreported_drops += 1
                return False
            while len(queue) >= self._size and not self._closed:
                self._room.clear()
                self._waiting = True
                self._wake.set()
                self._room.wait(0.01)  # set by the writer's thread as soon as it drained
        queue.append((finish, payload))
        self.stats.accepted += 1
        return True

    # -- control ---------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every record queued so far is in the file (handed to the OS)."""
        deadline = time.monotonic() + timeout
        while (self._queue or self._buffer) and time.monotonic() < deadline:
            self._idle.clear()
            self._wake.set()
            self._idle.wait(0.05)

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, close the file and finish compressing rotated files
        (waiting at most ``timeout`` seconds for each, or as long as it takes)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        for thread in self._compressors:
            thread.join(timeout)
        _writers.discard(self)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer's thread ---------------------------------------------------------

    def _open(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._fd = os.open(self.path, flags, 0o644)
        self._file_bytes = os.fstat(self._fd).st_size
        if self._file_bytes and not _ends_with_newline(self.path):
            os.write(self._fd, b"\n")  # after a torn last line (kill -9, full disk)
            self._file_bytes += 1
        self._opened_at = time.time()

    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            closing = self._closed
            drained = self._drain()
            now = time.monotonic()
            if self._buffer and (closing or now - last_flush >= self._flush_interval
                                 or len(self._buffer) > (1 << 20) or self._wake.is_set()):
                self._write_out()
                last_flush = now
            if closing and not self._queue:
                break
            if not drained:
                if not self._buffer:
                    self._idle.set()
                self._wake.wait(min(0.05, self._flush_interval))
                self._wake.clear()
        self._write_out()
        os.close(self._fd)

    def _drain(self) -> bool:
        """Finish and encode up to a few batches; False when the queue was empty."""
        queue = self._queue
        if not queue:
            return False
        for _ in range(16):
            batch: list[dict[str, Any]] = []
            while queue and len(batch) < BATCH:
                finish, payload = queue.popleft()
                record = self._finish(finish, payload)
                if record is not None:
                    batch.append(record)
            if batch:
                self._buffer += self._encoder.encode_lines(batch)
                self.stats.written += len(batch)
            if self._waiting:
                self._waiting = False
                self._room.set()
            time.sleep(0)  # give the GIL back to the request threads between batches
            if not queue or len(self._buffer) > (1 << 20):
                break
        return True

    def _finish(self, finish: Finisher | None, payload: Any) -> dict[str, Any] | None:
        try:
            record = finish(payload) if finish is not None else payload
            if record is None:
                return None
            if self._transform is not None:
                record = self._transform(record)
        except Exception:  # a bad record must never stop the writer
            self.stats.failed += 1
            if self.stats.failed == 1 or self.stats.failed % 1000 == 0:  # never a flood
                _log.exception("genailog.log: could not finish a record (%d so far); "
                               "it was not written", self.stats.failed)
            return None
        if self._unreported_drops:
            dropped, self._unreported_drops = self._unreported_drops, 0
            record["genailog_dropped"] = dropped
            _log.warning("genailog.log: queue full, %d record(s) dropped", dropped)
        return record

    def _write_out(self) -> None:
        if not self._buffer:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        try:
            if self._should_rotate(len(data)):
                self._rotate()
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:  # disk full, file removed: count the lines lost, keep running
            self.stats.failed += data.count(b"\n")
            _log.exception("genailog.log: could not write to %s; records lost", self.path)
        self._file_bytes += len(data)

    def _should_rotate(self, incoming: int) -> bool:
        if self._file_bytes == 0:
            return False
        if self._rotate_bytes is not None and self._file_bytes + incoming > self._rotate_bytes:
            return True
        return (self._rotate_seconds is not None
                and time.time() - self._opened_at >= self._rotate_seconds)

    def _rotate(self) -> None:
        os.close(self._fd)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        n = self.stats.rotations
        suffix = "".join(self.path.suffixes) or ".jsonl"
        stem = self.path.name[: len(self.path.name) - len("".join(self.path.suffixes))]
        target = self.path.with_name(f"{stem}.{stamp}.{n}{suffix}")
        os.replace(self.path, target)
        self.stats.rotations += 1
        self._open()
        if self._compress:
            thread = threading.Thread(target=_gzip_file, args=(target,),
                                      name="genailog-gzip", daemon=True)
            thread.start()
            self._compressors = [t for t in self._compressors if t.is_alive()] + [thread]


def _gzip_file(path: Path) -> None:
    """``path`` -> ``path.gz`` written under a temporary name, then the original removed."""
    partial = path.with_name(path.name + ".gz.partial")
    try:
        with open(path, "rb") as source, gzip.open(partial, "wb", compresslevel=6) as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        os.replace(partial, path.with_name(path.name + ".gz"))
        os.remove(path)
    except OSError:
        _log.exception("genailog.log: could not compress %s; it is kept as is", path)


_writers: weakref.WeakSet[Writer] = weakref.WeakSet()


def _restart_all() -> None:
    for writer in list(_writers):
        writer._after_fork()


os.register_at_fork(after_in_child=_restart_all)


@atexit.register
def _close_all() -> None:
    """Flush on interpreter exit: whatever is queued is written."""
    for writer in list(_writers):
        writer.close()


def _ends_with_newline(path: Path) -> bool:
    """Whether the file's last byte is a newline (it must not be empty)."""
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
