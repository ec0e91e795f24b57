"""Fields stamped on every call made inside a block: prompt versions, sessions, users.

``prompt(...)`` and ``context(...)`` work as context managers and as decorators, in
threads and in asyncio tasks alike (they live in a :class:`contextvars.ContextVar`).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_FIELDS: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "genailog_log_fields", default=_EMPTY
)

F = TypeVar("F", bound=Callable[..., Any])


def current_fields() -> Mapping[str, Any]:
    """The fields stamped by the enclosing ``context``/``prompt`` blocks (innermost wins)."""
    return _FIELDS.get()


def template_version(template: str) -> str:
    """A short, stable hash of a prompt template: editing the text changes the version."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:12]


class _Stamp:
    """Both a context manager and a decorator that stamps ``fields`` on calls inside."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = {k: v for k, v in fields.items() if v is not None}
        self._tokens: list[contextvars.Token[Mapping[str, Any]]] = []

    def __enter__(self) -> _Stamp:
        self._tokens.append(_FIELDS.set({**_FIELDS.get(), **self.fields}))
        return self

    def __exit__(self, *exc: object) -> None:
        _FIELDS.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with _Stamp(self.fields):
                    return await func(*args, **kwargs)
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _Stamp(self.fields):
                return func(*args, **kwargs)
        return run  # type: ignore[return-value]


def prompt(prompt_id: str, template: str | None = None, version: str | int | None = None,
           ) -> _Stamp:
    """Stamp ``prompt_id`` and ``prompt_version`` on the calls made inside.

    Without ``version``, the version is :func:`template_version` of ``template``, so an
    edited template is always a new version. One of the two is required.
    """
    if version is None and template is None:
        raise ValueError("prompt() needs the template text or an explicit version")
    return _Stamp({"prompt_id": prompt_id,
                   "prompt_version": version if version is not None
                   else template_version(template or "")})


def context(**fields: Any) -> _Stamp:
    """Stamp any fields (``session_id``, ``user_id``, ``trace_id``, your own) on the calls
    made inside; sampling by session needs ``session_id`` here or on the record."""
    return _Stamp(fields)


