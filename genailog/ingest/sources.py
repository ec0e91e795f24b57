"""Finding input files and opening them, decompressed, as binary streams.

Accepts files, directories (searched recursively), globs and ``-`` for stdin, and the same
in object storage (``s3://bucket/prefix/``, ``gs://…/*.parquet``: :mod:`.remote`).
Each source remembers the folder, prefix or glob root it was found under, which is where
its hive partitions (``date=2026-11-29/``) start (:mod:`.partitions`).
"""

from __future__ import annotations

import errno
import glob
import gzip
import io
import os
import re
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from genailog.errors import InputError
from genailog.ingest.scanner import count_newlines

if TYPE_CHECKING:  # object storage is imported for URLs only (2-3 ms of a local read)
    from genailog.ingest.remote import RemoteObject

#: The UTF-8 byte-order mark a file may start with; readers leave it out.
BOM = b"\xef\xbb\xbf"
LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".log", ".pb")
COMPRESSIONS = (".gz", ".zst")
STDIN = "-"
#: Rotated logs: ``genai.log.1``, ``genai.log.2026-11-29``, ``app.jsonl.3`` (and .gz/.zst).
_ROTATED = re.compile(r"\.(log|jsonl|ndjson|json)\.[\w-]+(\.(gz|zst))?$")
#: Files genailog writes itself, passed over when a directory is read: export manifests and
#: quarantine files (``--on-invalid quarantine=PATH``: name them ``*quarantine*``).
_OWN_OUTPUTS = re.compile(r"(\.manifest\.json|quarantine[^/]*)$")


@dataclass(frozen=True)
class Source:
    """One input: a path, a URL, or ``-`` for standard input."""

    name: str
    #: The folder, prefix or glob root the input was found under ("" when named itself).
    root: str = ""
    #: What the listing said of an object in storage (None for a local input).
    remote: RemoteObject | None = None

    @property
    def is_stdin(self) -> bool:
        return self.name == STDIN

    @property
    def compression(self) -> str | None:
        suffix = Path(self.name).suffix.lower()
        return suffix if suffix in COMPRESSIONS else None

    @property
    def kind(self) -> str:
        """The suffix that names the content: .jsonl, .parquet, ... ('' for stdin)."""
        path = Path(self.name)
        if self.compression:
            path = path.with_suffix("")
        return path.suffix.lower()

    def open(self, stdin: BinaryIO | None = None) -> BinaryIO:
        """A binary stream of the decompressed content."""
        if self.is_stdin:
            return stdin if stdin is not None else sys.stdin.buffer
        if self.remote is not None:
            from genailog.ingest import remote as storage

            # Parquet is read from a local copy anyway: fetch it once (or reuse the kept one)
            whole = self.kind == ".parquet" or storage.staged_path(self.remote) is not None
            raw = open(self.local(), "rb") if whole else storage.open_object(self.remote)  # noqa: SIM115
        else:
            try:
                raw = open(self.name, "rb")  # noqa: SIM115 - returned to the caller
            except OSError as exc:
                raise InputError(f"cannot read {self.name}: {exc.strerror}") from None
        if self.compression:
            _check_magic(self.name, raw, self.compression)
        if self.compression == ".gz":
            return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
        if self.compression == ".zst":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(raw)
        return raw

    def local(self) -> str:
        """A local file of the content, for readers that need one (Parquet): the path
        itself, or a copy of an object in storage."""
        if self.remote is None:
            return self.name
        from genailog.ingest import remote as storage

        return storage.staged_copy(self.remote)

    def named(self, text: str) -> str:
        """``text`` (a reader's message) with a local copy's path put back as the URL."""
        if self.remote is None:
            return text
        from genailog.ingest import remote as storage

        copy = storage.staged_path(self.remote)
        return text if copy is None else text.replace(copy, self.name)


_MAGIC = {".gz": (b"\x1f\x8b", "gzip"), ".zst": (b"\x28\xb5\x2f\xfd", "zstd")}


def _check_magic(name: str, raw: Any, compression: str) -> None:
    """A file named .gz or .zst must start like one: an empty or plain file so named is
    an error, never an empty log."""
    magic, what = _MAGIC[compression]
    head = raw.peek(len(magic))[:len(magic)]
    if head != magic:
        raw.close()
        found = "it is empty" if not head else "it does not start like one"
        raise InputError(f"{name} is named {compression} but is not {what} data: {found}; "
                         f"rename it or compress it with {what}")


def _is_log_file(path: Path) -> bool:
    name = path.name.lower()
    if _OWN_OUTPUTS.search(name):
        return False
    if _ROTATED.search(name):
        return True
    for comp in ("", *COMPRESSIONS):
        if any(name.endswith(s + comp) for s in LOG_SUFFIXES):
            return True
    return False


def _root(arg: str) -> str:
    """Where a glob's fixed part ends: the folder its first wildcard is in."""
    cut = min((i for i, c in enumerate(arg) if c in "*?["), default=len(arg))
    return arg[: arg.rfind("/", 0, cut) + 1]


def _is_url(arg: str) -> bool:
    from genailog.ingest import remote as storage

    return storage.is_remote(arg)


def _expand_remote(arg: str) -> list[Source]:
    from genailog.ingest import remote as storage

    root = _root(arg) if glob.has_magic(arg) else arg.rstrip("/") + "/"
    objects = storage.expand(arg, lambda name: _is_log_file(Path(name)))
    return [Source(o.url, root if o.url != arg else "", o) for o in objects]


def _expand(arg: str) -> list[Path]:
    path = Path(arg)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and _is_log_file(p)
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not found:
            raise InputError(
                f"no log files under {arg} (looked for {', '.join(LOG_SUFFIXES)}, rotated "
                "names such as genai.log.1, optionally .gz or .zst)")
        return found
    if path.is_file():
        return [path]
    if glob.has_magic(arg) and not path.exists():
        matches = sorted(Path(p) for p in glob.glob(arg, recursive=True) if Path(p).is_file())
        if not matches:
            raise InputError(f"no files match {arg}")
        return matches
    try:
        mode = os.stat(arg).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"cannot read {arg}: a loop of symbolic links") from None
        if exc.errno == errno.ENOENT:
            raise InputError(f"no such file or directory: {arg}") from None
        raise InputError(f"cannot read {arg}: {exc.strerror}") from None
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return [path]  # a named pipe or <(command): read as a stream, like stdin
    raise InputError(f"cannot read {arg}: it is a {_kind(mode)}, not a file or directory")


def _kind(mode: int) -> str:
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def discover(paths: Sequence[str | Path]) -> list[Source]:
    """Every input file named by ``paths``, in a stable order, without repeats."""
    if not paths:
        raise InputError("no input given; name log files, directories, globs or - for stdin")
    sources: list[Source] = []
    seen: set[str] = set()
    for arg in map(str, paths):
        if arg == STDIN:
            candidates = [Source(STDIN)]
        elif "://" in arg and _is_url(arg):
            candidates = _expand_remote(arg)
        else:
            candidates = [Source(str(p), _local_root(arg)) for p in _expand(arg)]
        for source in candidates:
            if source.name not in seen:
                seen.add(source.name)
                sources.append(source)
    return sources


def _local_root(arg: str) -> str:
    if Path(arg).is_dir():
        return str(Path(arg)) + os.sep
    return _root(arg) if glob.has_magic(arg) and not Path(arg).exists() else ""


def iter_chunks(stream: Any, size: int, limit: int | None = None) -> Iterator[bytes]:
    """Chunks of about ``size`` bytes, each ending at a newline (the last may not).

    A line longer than ``limit`` (default :func:`~genailog.schema.limits.max_line_bytes`)
    is never held whole: it is read through and replaced by a short stand-in that every
    reader reports as an invalid record (:mod:`genailog.schema.limits`)."""
    from genailog.schema.limits import bound_lines, max_line_bytes  # the package loads polars

    limit = max_line_bytes() if limit is None else limit
    rest = b""
    while True:
        block = stream.read(size)
        if not block:
            break
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block  # a line longer than size: keep reading
            if len(rest) > limit:
                stand_in, rest = _skip_line(stream, rest, size)
                yield stand_in
            continue
        rest = block[cut + 1 :]
        yield bound_lines(block[: cut + 1], limit)
    if rest:
        yield bound_lines(rest, limit)


def _skip_line(stream: Any, start: bytes, size: int) -> tuple[bytes, bytes]:
    """Read through the rest of a too-long line that begins with ``start``: its stand-in
    (with its newline, unless the stream ended first) and what follows the line."""
    from genailog.schema.limits import long_line_stand_in

    length = len(start)
    while True:
        block = stream.read(size)
        if not block:
            return long_line_stand_in(length, start), b""
        end = block.find(b"\n")
        if end >= 0:
            return long_line_stand_in(length + end, start) + b"\n", block[end + 1:]
        length += len(block)


#: How much of a file one chunk of the reader holds (read_logs' ``chunk_bytes``).
CHUNK_BYTES = 32 * 1024 * 1024


def newline_cuts(path: str, size: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of a plain file of about ``chunk_bytes``, each ending after a newline
    (found by seeking, so the chunks can be read without copying). A range can be longer
    when a line is: read ranges with :func:`read_range`, which bounds lines."""
    cuts = [0]
    with open(path, "rb") as handle:
        while cuts[-1] + chunk_bytes < size:
            position = _after_newline(handle, cuts[-1] + chunk_bytes)
            if position >= size:
                break
            cuts.append(position)
    cuts.append(size)
    return list(zip(cuts, cuts[1:], strict=False))


_SCAN = 1 << 20


def _after_newline(handle: Any, start: int) -> int:
    """The offset just after the first newline at or after ``start`` (the end of the file
    if there is none), found in blocks so that a long line is never held."""
    handle.seek(start)
    position = start
    while True:
        block: bytes = handle.read(_SCAN)
        if not block:
            return position
        end = block.find(b"\n")
        if end >= 0:
            return position + end + 1
        position += len(block)


def read_range(handle: Any, start: int, end: int, limit: int | None = None) -> bytes:
    """Bytes ``start:end`` of an open file, with lines longer than ``limit`` replaced by
    their stand-ins; a range no longer than the limit is read as it is, in one call."""
    from genailog.schema.limits import max_line_bytes

    limit = max_line_bytes() if limit is None else limit
    handle.seek(start)
    if end - start <= limit:
        return bytes(handle.read(end - start))
    return b"".join(iter_chunks(_Window(handle, end - start), _SCAN * 16, limit))


class _Window:
    """The next ``left`` bytes of a stream, as a stream."""

    def __init__(self, stream: Any, left: int) -> None:
        self._stream, self._left = stream, left

    def read(self, size: int) -> bytes:
        data = self._stream.read(min(size, self._left)) if self._left > 0 else b""
        self._left -= len(data)
        return bytes(data)


def file_chunks(path: str, ranges: list[tuple[int, int]]) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        for start, end in ranges:
            yield read_range(handle, start, end)


@dataclass(frozen=True)
class Chunk:
    """A run of whole lines: the bytes, the number of its first line, how many newlines
    it holds, and whether it is the last of its file."""

    data: bytes
    first_line: int
    newlines: int
    final: bool


def numbered_chunks(stream: Any, size: int, name: str = "", total: int | None = None, *,
                    strip_bom: bool = True) -> Iterator[Chunk]:
    """The chunks of a stream (or, given a plain file's name and size, of that file),
    the BOM removed, reporting progress as they are read."""
    from genailog.ingest.progress import report

    line, done = 1, 0
    plain = total is not None and name and not Source(name).compression and name != STDIN
    chunks = (file_chunks(name, newline_cuts(name, total, size)) if plain and total
              else iter_chunks(stream, size))
    pending = next(chunks, None)
    while pending is not None:
        data, pending = pending, next(chunks, None)
        done += len(data)
        if line == 1 and strip_bom:
            data = data.removeprefix(BOM)
        newlines = count_newlines(data)
        yield Chunk(data, line, newlines, pending is None)
        report(name, done, total)
        line += newlines


def size_of(source: Source) -> int | None:
    """The size in bytes of an uncompressed regular file, else None (a pipe is read as a
    stream)."""
    if source.is_stdin or source.compression or source.remote is not None:
        return None
    try:
        info = Path(source.name).stat()
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def buffered(data: bytes) -> BinaryIO:
    return io.BytesIO(data)


def peek(stream: BinaryIO, source: Source, size: int = 65536) -> bytes:
    """The first ``size`` bytes of an opened stream, as a clear error if unreadable."""
    try:
        return stream.read(size)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"cannot read or decompress {source.name}: {exc}") from None


class Prefixed:
    """A stream with already-read bytes put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Prefixed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_peeked(source: Source, stdin: BinaryIO | None = None) -> tuple[bytes, Prefixed]:
    """The first 64 KiB of a source, and a stream of the whole of it."""
    stream = buffered(source.open(stdin).read()) if source.is_stdin else source.open()
    head = peek(stream, source)
    return head, Prefixed(head, stream)
