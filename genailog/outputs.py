"""Where output bytes go: files written atomically, devices in place, stdout guarded.

Every output a command writes (a dataset, a converted log, a manifest, a quarantine file)
goes through :func:`atomic_writer`, which decides by what is at the path:

- nothing, or a regular file (replaced only with ``overwrite``): the bytes go to a
  temporary file beside it (``.NAME.PID.XXXX.tmp``), renamed over the path once complete,
  so a reader never sees a half-written file and an interrupted run leaves the old one
  whole. An error or a signal the CLI catches deletes the temporary file; ``kill -9``
  cannot be caught, so the next writer of the same path deletes the temporaries of
  processes that no longer run;
- a character device (``/dev/null``, a terminal) or a FIFO: written in place, never
  renamed over, so the device stays a device (``--overwrite`` is not needed: nothing is
  lost);
- ``-``: standard output, in place;
- a symbolic link: followed when it leads to a device or FIFO (``/dev/stdout``), refused
  when it leads to anything else or nowhere. A link is never replaced by a file and never
  written through to a file: in a shared folder a planted link would otherwise redirect
  the output over another file. Pass the link's target instead;
- a directory, a block device or a socket: refused.

Every failure to write (disk full, permission, a closed pipe that is not stdout) is an
:class:`OutputError` (exit 4) naming the output and the operating system's reason, raised
from the write itself, so code that wraps input reading in ``except OSError`` cannot mistake
it for an input error. :data:`STDOUT` guards standard output the same way.

Must not import anything from genailog but ``errors`` (it sits below every layer).
"""

from __future__ import annotations

import errno
import glob
import io
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from genailog.errors import OutputError

STDOUT_NAME = "standard output"


class StdoutError(OutputError):
    """Standard output could not be written (disk full, I/O error)."""


#: Errors only a write can cause: no space, file too large, quota, read-only file system.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})


def _reason(exc: OSError) -> str:
    code = _errno_of(exc)
    return exc.strerror or (os.strerror(code) if code else str(exc))


def _errno_of(exc: OSError) -> int | None:
    """The errno, also when a library wrote to the descriptor itself and left it only in
    the message (polars: ``... (os error 28)``)."""
    if exc.errno is not None:
        return exc.errno
    found = re.search(r"\(os error (\d+)\)", str(exc))
    return int(found.group(1)) if found else None


@contextmanager
def _write_errors(name: str) -> Iterator[None]:
    """Write-only errors raised by code that wrote to the output's descriptor directly
    (polars does) become OutputErrors; anything else (an input that failed to read while
    writing) passes unchanged, to be blamed on the input."""
    try:
        yield
    except OSError as exc:
        if _errno_of(exc) in _WRITE_ERRNOS:
            raise write_failed(name, exc) from None
        raise


def write_failed(name: object, exc: OSError) -> OutputError:
    """The error for a failed write to ``name``."""
    if name == STDOUT_NAME:
        return StdoutError(f"cannot write to {STDOUT_NAME}: {_reason(exc)}")
    return OutputError(f"cannot write {name}: {_reason(exc)}")


class _GuardedFile(io.FileIO):
    """A file whose write and close errors are OutputErrors naming the output."""

    def __init__(self, fd: int, name: str) -> None:
        super().__init__(fd, "wb", closefd=True)
        self.output_name = name

    def write(self, data: Any) -> int:
        try:
            return super().write(data) or 0
        except OSError as exc:
            raise write_failed(self.output_name, exc) from None

    def close(self) -> None:
        try:
            super().close()
        except OSError as exc:
            raise write_failed(self.output_name, exc) from None


class _GuardedStream(io.RawIOBase):
    """Standard output's binary stream, looked up on every write (tests swap it)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        stream = sys.stdout.buffer
        try:
            stream.write(bytes(data))
            stream.flush()
        except BrokenPipeError:
            raise  # the reader went away (`| head`): the CLI treats this as done
        except OSError as exc:
            raise write_failed(STDOUT_NAME, exc) from None
        return len(data)


def _wrap(raw: io.RawIOBase, mode: str) -> IO[Any]:
    buffered = io.BufferedWriter(raw)
    if "b" in mode:
        return buffered
    return io.TextIOWrapper(buffered, encoding="utf-8", newline="", write_through=False)


def _open_in_place(path: Path) -> IO[Any]:
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise write_failed(path, exc) from None
    return _GuardedFile(fd, str(path))


def target_kind(path: Path) -> str:
    """What is at ``path``: missing, file, device (character devices and FIFOs, links to
    them included), or a reason to refuse it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise write_failed(path, exc) from None
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise OutputError(f"{path} is a symbolic link to a missing file; genailog does "
                              "not write through links: pass the target path") from None
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return "device"
        raise OutputError(f"{path} is a symbolic link to {os.path.realpath(path)}; genailog "
                          "does not replace links or write through them to files: pass the "
                          "target path (or - for standard output)")
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "device"
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a directory; pass a file path")
    raise OutputError(f"{path} is not a regular file, a character device or a FIFO; "
                      "genailog does not write to it")


def check_target(path: Path, *, overwrite: bool) -> str:
    """Raise if ``path`` cannot be written (exists without ``overwrite``, refused kind)."""
    if str(path) == "-":
        return "stdout"
    kind = target_kind(path)
    if kind == "file" and not overwrite:
        raise OutputError(f"{path} exists; pass --overwrite to replace it")
    return kind


@contextmanager
def atomic_writer(path: Path | str, mode: str = "w", *, overwrite: bool = True
                  ) -> Iterator[IO[Any]]:
    """A handle for ``path`` (text in UTF-8 unless ``mode`` has ``b``): see the module
    docstring for what happens with each kind of target."""
    path = Path(path)
    kind = check_target(path, overwrite=overwrite)
    if kind in ("stdout", "device"):
        raw = _GuardedStream() if kind == "stdout" else _open_in_place(path)
        handle = _wrap(raw, mode)  # type: ignore[arg-type]
        try:
            with _write_errors(str(path)):
                yield handle
        finally:
            handle.close()
        return
    with _replacing(path, mode) as handle:
        yield handle


def _temp_prefix(path: Path, pid: int) -> str:
    return f".{path.name}.{pid}."


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a process of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def sweep_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files that writers of ``path`` killed mid-write (``kill -9``
    runs no cleanup) left beside it: ``.NAME.PID.XXXX.tmp`` of a process that no longer
    runs, owned by the current user. Returns what was deleted."""
    removed: list[Path] = []
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.[^/]*\.tmp\Z")
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match is None or int(match[1]) == os.getpid() or alive(int(match[1])):
            continue
        try:
            info = candidate.lstat()
            if not stat.S_ISREG(info.st_mode) or (
                    hasattr(os, "getuid") and info.st_uid != os.getuid()):
                continue
            candidate.unlink()
            removed.append(candidate)
        except OSError:
            continue
    return removed


@contextmanager
def _replacing(path: Path, mode: str) -> Iterator[IO[Any]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path, os.getpid()), suffix=".tmp",
                                   dir=path.parent)
    except OSError as exc:
        raise write_failed(path, exc) from None
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; outputs are shared files
        handle = _wrap(_GuardedFile(fd, str(path)), mode)
        with handle, _write_errors(str(path)):
            yield handle
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise write_failed(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file_mode(path: Path) -> int:
    """The replaced file's mode, else what ``open`` would give a new file (0666 less the
    umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


class GuardedTextStream:
    """Standard output (or error) for consoles and plain writes, looked up on every call
    (tests swap ``sys.stdout``): write errors other than a closed pipe become
    :class:`StdoutError` (exit 4) instead of a traceback."""

    def __init__(self, name: str = "stdout") -> None:
        self._name = name

    @property
    def _stream(self) -> Any:
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise write_failed(STDOUT_NAME, exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise write_failed(STDOUT_NAME, exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


#: Standard output for everything genailog prints as data.
STDOUT = GuardedTextStream("stdout")
