"""Reading one large JSONL file on every core.

The file is cut at newlines into ranges of about one chunk each; worker processes
(spawned, since polars' thread pool does not survive a fork) validate and type their
ranges, writing typed records straight into Parquet parts. A read of only some columns
(``columns``) runs on threads of this process instead: the C scanner types each range
from the file's mapped pages with the GIL released (:func:`_typed_range`). Line numbers
are relative to a range's start and are made absolute here, once every range has
reported. A range can also bring back the digest of its bytes (``digests``), taken in the
same pass, from which the read cache keys the file (:func:`genailog.ingest.cache.
key_from_digests`) without reading it a second time.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from genailog.ingest.report import InvalidRecord
from genailog.ingest.sources import BOM, newline_cuts

if TYPE_CHECKING:  # the process machinery is imported when workers start (about 14 ms)
    from concurrent.futures import Executor, Future, ProcessPoolExecutor

    import polars as pl

T = TypeVar("T")


@dataclass
class RangeOut:
    """What one range held."""

    checked: int = 0
    newlines: int = 0
    records: int = 0
    invalid: list[InvalidRecord] = field(default_factory=list)
    #: Parquet parts written, with the user fields each holds as JSON text.
    parts: dict[str, set[str]] = field(default_factory=dict)
    #: Or the typed records themselves, and the user fields they hold as JSON text.
    frames: list[pl.DataFrame] = field(default_factory=list)
    json_columns: set[str] = field(default_factory=set)
    #: Lines that are no record (text-prefixed logs only: see prefixed.py).
    other_lines: int = 0
    #: The scanner's digest of the range's bytes (a leading byte-order mark left out),
    #: when asked for and the range was read as it is; else None.
    digest: bytes | None = None


#: Spawned workers re-import the main module, which runs a script's top-level code
#: unless it has an ``if __name__ == "__main__"`` guard; so the library reads in one
#: process unless the CLI (whose entry points are guarded) or the user turns this on.
_enabled = False


def enable(on: bool = True) -> None:
    """Let large files be read on every core (the CLI does this)."""
    global _enabled
    _enabled = on


def workers() -> int:
    """How many processes to use: ``GENAILOG_WORKERS`` if set, else every core when
    enabled, else one."""
    configured = os.environ.get("GENAILOG_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    if not _enabled:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def worker_init(parent: int | None = None) -> None:
    """Set up a worker process before it imports polars.

    * The worker dies with its parent: on Linux the kernel sends it SIGKILL when the
      parent exits, however it exits (``kill -9`` included: each worker holds hundreds of
      MB); if the parent is already gone, the worker leaves at once. Elsewhere a thread
      checks every second that the parent still runs.
    * One polars thread: the workers already use every core, and more threads per worker
      only contend.
    * glibc keeps freed memory for reuse instead of handing it back to the kernel: each
      chunk allocates and frees hundreds of MB, and faulting those pages in again cost
      about a sixth of a worker's time (measured: system time 1.04 s -> 0.59 s over eight
      32 MB pieces).
    """
    if parent is not None:
        die_with(parent)
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD: big buffers come from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of freed memory
    except (OSError, AttributeError):
        pass  # not glibc: the defaults are fine, only slower


_PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """End this process when process ``parent`` (its parent) ends.

    Linux sends the signal when the *thread* that started the worker ends: start pools
    from a thread that outlives them (the CLI starts them from its main thread)."""
    import signal

    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        import threading

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="genailog-parent-watch", daemon=True).start()


def pool(count: int) -> ProcessPoolExecutor:
    """``count`` spawned worker processes, set up by :func:`worker_init` (they die with
    this process)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    return ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn"),
                               initializer=worker_init, initargs=(os.getpid(),))


def _work(path: str, start: int, end: int, last: bool, part_prefix: str | None,
          keep_frames: bool = False, strip_prefix: bool = False,
          columns: tuple[str, ...] | None = None, digest: bool = False) -> RangeOut:
    """One range, newline-aligned and at most a chunk long, read as a single chunk: its
    records written as Parquet parts (``part_prefix``), or sent back (``keep_frames``),
    or only checked; only ``columns`` of them when given (:class:`ChunkReader`); with
    ``digest``, the digest of its bytes too (see :class:`RangeOut`)."""
    from genailog.ingest import scanner
    from genailog.ingest.scanner import count_newlines, verdicts, vouched
    from genailog.ingest.sources import Chunk, read_range
    from genailog.schema.limits import max_line_bytes

    if columns is not None and not strip_prefix and (part_prefix is not None or keep_frames):
        typed = _typed_range(path, start, end, part_prefix, keep_frames, columns, digest)
        if typed is not None:
            return typed
    with open(path, "rb") as handle:
        data = read_range(handle, start, end)
    as_read = end - start <= max_line_bytes()  # no over-long line replaced by a stand-in
    if start == 0:
        data = data.removeprefix(BOM)
    digested = (scanner.digest(data) if digest and as_read and scanner.SCANNER is not None
                else None)
    found = None
    if part_prefix is None and not keep_frames and not strip_prefix:
        found = verdicts(data)
    # a line per verdict, the last one perhaps without its newline
    newlines = (count_newlines(data) if found is None
                else len(found.flags) - (not data.endswith(b"\n")))
    out = RangeOut(newlines=newlines, digest=digested)
    if (clean := vouched(found)) is not None:  # only checked: polars is not even loaded
        out.checked = clean
        return out

    from genailog.ingest.cache import write_part
    from genailog.ingest.jsonl import ChunkReader

    reader = ChunkReader(path, build_frames=part_prefix is not None or keep_frames,
                         columns=columns)
    if strip_prefix:  # canonical records behind logging prefixes (prefixed.py)
        from genailog.ingest import prefixed

        result, out.other_lines = prefixed.read_chunk(reader, Chunk(data, 1, newlines, last))
    else:
        result = reader.read(Chunk(data, 1, newlines, last), found)
    out.checked, out.invalid = result.checked, result.invalid
    for number, frame in enumerate(result.frames):
        out.records += frame.height
        if part_prefix is not None:
            part = Path(f"{part_prefix}-{number:02d}.parquet")
            write_part(frame, part)
            out.parts[part.name] = result.json_columns
    if keep_frames:
        out.frames, out.json_columns = result.frames, result.json_columns
    return out


#: Whether a file can be truncated under a mapping of it (SIGBUS on the next read, which
#: the C scanner catches when told ``mapped``); elsewhere (Windows) the system refuses to.
BUS_GUARD = sys.platform != "win32"


def mapped(path: str, start: int, end: int, use: Callable[[memoryview, bool], T]
           ) -> T | None:
    """``use(data, final_newline)`` on bytes ``start:end`` of the file as mapped pages (no
    copy into this process: the reading threads' copies cost 0.7 CPU s per GB); a
    byte-order mark at the file's start is left out. None when the file cannot be mapped
    or is shorter now. The pages are only read by the C scanner, which catches the SIGBUS
    of a file truncated under it (``mapped=True``); Python never touches them."""
    import mmap

    offset = start - start % mmap.ALLOCATIONGRANULARITY
    flags = getattr(mmap, "MAP_SHARED", 0) | getattr(mmap, "MAP_POPULATE", 0)
    try:
        with open(path, "rb") as handle:
            head = os.pread(handle.fileno(), len(BOM), 0) if start == 0 else b""
            final_newline = os.pread(handle.fileno(), 1, end - 1) == b"\n"
            mapped = mmap.mmap(handle.fileno(), end - offset, flags=flags,
                               prot=mmap.PROT_READ, offset=offset)
    except (OSError, ValueError, AttributeError, TypeError):  # shorter now; no mmap flags
        return None
    with mapped:
        skip = len(BOM) if head == BOM else 0
        with memoryview(mapped) as whole, whole[start - offset + skip:] as data:
            return use(data, final_newline)


def _typed_range(path: str, start: int, end: int, part_prefix: str | None,
                 keep_frames: bool, columns: tuple[str, ...], digest: bool = False,
                 ) -> RangeOut | None:
    """:func:`_work` for a range whose every line the scanner vouches for, when only
    ``columns`` are wanted: the scanner types them straight from the file's mapped pages
    (and digests them in the same pass, with ``digest``); None for any other range (some
    line handed on, a value it cannot type alone, a range longer than a line may be, a
    file changed meanwhile), which is then read as usual."""
    from genailog.ingest import scanner
    from genailog.schema.limits import max_line_bytes

    if end - start > max_line_bytes() or end <= start:
        return None

    def scan(data: memoryview, final_newline: bool) -> tuple[Any, bool] | None:
        try:
            return scanner.typed(data, columns, mapped=True, digest=digest), final_newline
        except OSError:  # truncated under the scan: the usual read copes
            return None

    scanned = mapped(path, start, end, scan)
    if scanned is None:
        return None
    got, final_newline = scanned
    if got is None or got.columns is None or not got.verdicts.clean:
        return None
    import polars as pl

    from genailog.ingest.cache import write_part

    found = got.verdicts
    frame = pl.DataFrame(got.columns)
    out = RangeOut(checked=len(found.flags), records=frame.height,
                   newlines=len(found.flags) - (not final_newline), digest=got.digest)
    if part_prefix is not None:
        part = Path(f"{part_prefix}-00.arrow")  # see write_part
        write_part(frame, part)
        out.parts[part.name] = set()
    if keep_frames:
        out.frames = [frame]
    return out


def read_ranges(path: str, size: int, chunk_bytes: int, part_dir: Path | None, *,
                keep_frames: bool = False, strip_prefix: bool = False,
                columns: tuple[str, ...] | None = None, digests: bool = False,
                ) -> Generator[RangeOut] | None:
    """Each range's result in file order, line numbers absolute; None when the work
    cannot be spread (one core, a small file, or no process could be started). Records
    go to Parquet parts in ``part_dir``, or come back with ``keep_frames``, or are only
    checked.

    With ``columns`` (only those, typed by the C scanner: :func:`_typed_range`), the
    ranges are read on threads of this process instead: the scanner and polars release
    the GIL, so threads use every core without starting processes and importing polars
    again in each (0.3 s of CPU apiece), and the frames need no trip between processes.
    A range the scanner cannot type alone (rare) is read in full on its thread.

    ``digests``: each range brings back its digest (:attr:`RangeOut.digest`); the ranges
    are those of ``newline_cuts(path, size, chunk_bytes)``."""
    count = workers()
    if count < 2 or size < 2 * chunk_bytes:
        return None
    ranges = newline_cuts(path, size, chunk_bytes)
    threads = columns is not None and not strip_prefix
    executor: Executor
    try:
        if threads:
            from concurrent.futures import ThreadPoolExecutor

            executor = ThreadPoolExecutor(min(count, len(ranges)), "genailog-read")
        else:
            executor = pool(min(count, len(ranges)))
    except (OSError, ValueError):
        return None
    return _collect(executor, min(count, len(ranges)), path, ranges, part_dir, keep_frames,
                    strip_prefix, columns, threads, digests)


def _collect(executor: Executor, workers: int, path: str,
             ranges: list[tuple[int, int]], part_dir: Path | None,
             keep_frames: bool, strip_prefix: bool = False,
             columns: tuple[str, ...] | None = None, threads: bool = False,
             digests: bool = False) -> Generator[RangeOut]:
    tasks = [(_work, (path, start, end, number == len(ranges) - 1,
                      None if part_dir is None else str(part_dir / f"part-{number:05d}"),
                      keep_frames, strip_prefix, columns, digests))
             for number, (start, end) in enumerate(ranges)]
    offset = 0
    for out in ordered(executor, path, tasks, workers):
        out.invalid = [replace(r, line=r.line + offset) for r in out.invalid]
        offset += out.newlines
        yield out
    if threads:
        give_back_memory()  # what the threads' chunks freed, before the command's work


def give_back_memory() -> None:
    """Return the C heap's free memory to the system (glibc's ``malloc_trim``): the
    scanner's buffers of finished chunks, freed by threads of this process, would
    otherwise stay counted in its size while the command runs (about 30 MB at 1M
    records)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


def ordered(executor: Executor, path: str,
            tasks: list[tuple[Callable[..., T], tuple[Any, ...]]], workers: int,
            *, close: bool = True) -> Iterator[T]:
    """The results of ``tasks`` (function, arguments) run on ``executor``, in order; the
    executor is shut down at the end (on error in any case; otherwise unless ``close`` is
    False). A worker that dies becomes an error naming ``path``.

    Two tasks per worker are in flight at a time, so results that wait to be taken never
    pile up: memory stays flat however many tasks there are."""
    ahead = 2 * max(1, workers)
    pending: deque[Future[T]] = deque()
    finished = False
    try:
        for function, args in tasks:
            pending.append(executor.submit(function, *args))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        finished = True
    except RuntimeError as exc:  # loaded only then: threads need none of the process code
        from concurrent.futures.process import BrokenProcessPool

        if not isinstance(exc, BrokenProcessPool):
            raise
        from genailog.errors import InputError

        raise InputError(f"a worker reading {path} died: {exc}; set GENAILOG_WORKERS=1 "
                         "to read in one process") from None
    finally:
        for future in pending:
            future.cancel()
        if close or not finished:
            executor.shutdown()
