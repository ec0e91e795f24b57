"""An optional progress hook for long reads; the CLI installs one on a terminal.

The library never prints: it only calls the hook, if one is set, with the file name,
the bytes read so far and the file's size (None when unknown, e.g. stdin).
"""

from __future__ import annotations

from collections.abc import Callable

ProgressHook = Callable[[str, int, int | None], None]

#: Files smaller than this are read without progress reports.
MIN_BYTES = 64 * 1024 * 1024

_hook: ProgressHook | None = None


def set_hook(hook: ProgressHook | None) -> None:
    """Install (or with None, remove) the progress hook."""
    global _hook
    _hook = hook


def report(name: str, done: int, total: int | None) -> None:
    if _hook is not None and (total is None or total >= MIN_BYTES):
        _hook(name, done, total)


NoticeHook = Callable[[str], None]
_notice: NoticeHook | None = None


def set_notice_hook(hook: NoticeHook | None) -> None:
    """Install (or with None, remove) the hook that shows what a read noticed: other lines
    passed over, files that could not be read, assumptions made (the CLI prints them)."""
    global _notice
    _notice = hook


def notice(text: str) -> None:
    if _notice is not None:
        _notice(text)
