"""``instrument(client, ...)``: one canonical record per call of an OpenAI or Anthropic
client, sync or async, streamed or not, with the client behaving exactly as before.

How it stays out of the way:

- The client's methods are wrapped on the client's own resource objects (other clients
  are untouched). The wrapper returns what the method returned and re-raises what it
  raised. A stream is returned as the same object: only its internal iterator is wrapped,
  so ``isinstance`` checks, ``with`` blocks and ``close()`` behave as before.
- On the request path the wrapper only notes times and keeps references to the result
  (or the exception, or the stream's chunks); turning them into a record happens in the
  writer's thread (see :mod:`genailog.log.providers`).
- Retries are counted through the HTTP client's own ``request`` event hook, which the SDK
  fires once per attempt, inside its retry loop.
- OpenAI streams: when the caller did not ask for usage, the wrapper asks for it
  (``stream_options.include_usage``) and removes the usage-only last chunk from what the
  caller sees, so the caller's stream is unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from genailog.log.context import current_fields
from genailog.log.logger import Logger
from genailog.log.providers import EXTRACTORS, Call

_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar("genailog_call", default=None)

#: (provider, path to the resource, method, operation) wrapped per client kind.
_METHODS = {
    "openai": (("chat.completions", "create", "chat"),),
    "anthropic": (("messages", "create", "chat"),),
}


def provider_of(client: Any) -> str:
    """``"openai"`` or ``"anthropic"`` from the client's module (no SDK import needed)."""
    module = type(client).__module__.split(".")[0]
    if module in _METHODS:
        return module
    raise TypeError(
        f"genailog.log.instrument supports openai and anthropic clients, not {type(client)!r}"
    )


def _count_attempt(request: Any) -> None:
    call = _CALL.get()
    if call is not None:
        call.attempts += 1


async def _count_attempt_async(request: Any) -> None:
    _count_attempt(request)


def _hook_attempts(client: Any) -> None:
    http = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if http is None or not isinstance(hooks, dict):
        return  # no hook to count retries with: records carry no retries
    is_async = _is_async(client, None)
    hooks.setdefault("request", []).append(_count_attempt_async if is_async else _count_attempt)
    http.event_hooks = hooks


def _is_async(client: Any, method: Any) -> bool:
    """The SDKs' decorators hide coroutine functions, so the client's class decides."""
    return type(client).__name__.startswith("Async") or inspect.iscoroutinefunction(method)


def instrument(client: Any, logger: Logger) -> Any:
    """Wrap ``client``'s call methods so each call is logged to ``logger``; returns it."""
    if getattr(client, "_genailog_logger", None) is not None:
        return client
    provider = provider_of(client)
    for path, method, operation in _METHODS[provider]:
        resource = client
        for name in path.split("."):
            resource = getattr(resource, name)
        original = getattr(resource, method)
        wrap = _wrap_async if _is_async(client, original) else _wrap_sync
        setattr(resource, method, wrap(original, logger, provider, operation))
    _hook_attempts(client)
    client._genailog_logger = logger
    return client


def _start(provider: str, operation: str, kwargs: dict[str, Any]) -> Call:
    call = Call(provider=provider, operation=operation, kwargs=kwargs,
                started=time.time(), fields=current_fields(), clock=time.perf_counter())
    if kwargs.get("stream") and provider == "openai":
        options = kwargs.get("stream_options") or {}
        if not options.get("include_usage"):
            kwargs["stream_options"] = {**options, "include_usage": True}
            call.strip_usage = True
    return call


def _raised(call: Call, error: BaseException, logger: Logger, provider: str) -> None:
    call.finish(error=error)
    logger.submit_call(call, EXTRACTORS[provider])


def _returned(result: Any, call: Call, logger: Logger, provider: str,
              watch: Callable[..., Any]) -> Any:
    """The method's result, unchanged; a stream keeps its object, its iterator watched."""
    if call.kwargs.get("stream") and hasattr(result, "_iterator"):
        call.result = result
        result._iterator = watch(result._iterator, call, logger, provider)
        return result
    call.finish(result=result)
    logger.submit_call(call, EXTRACTORS[provider])
    return result


def _wrap_sync(original: Callable[..., Any], logger: Logger, provider: str,
               operation: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(*args: Any, **kwargs: Any) -> Any:
        call = _start(provider, operation, kwargs)
        token = _CALL.set(call)
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            _raised(call, exc, logger, provider)
            raise
        finally:
            _CALL.reset(token)
        return _returned(result, call, logger, provider, _watch)

    return create


def _wrap_async(original: Callable[..., Any], logger: Logger, provider: str,
                operation: str) -> Callable[..., Any]:
    @functools.wraps(original)
    async def create(*args: Any, **kwargs: Any) -> Any:
        call = _start(provider, operation, kwargs)
        token = _CALL.set(call)
        try:
            result = await original(*args, **kwargs)
        except BaseException as exc:
            _raised(call, exc, logger, provider)
            raise
        finally:
            _CALL.reset(token)
        return _returned(result, call, logger, provider, _watch_async)

    return create


def _usage_only(chunk: Any) -> bool:
    return not getattr(chunk, "choices", None) and getattr(chunk, "usage", None) is not None


def _watch(items: Iterator[Any], call: Call, logger: Logger, provider: str) -> Iterator[Any]:
    """The stream's iterator, noting each chunk; the record goes out when it ends."""
    error: BaseException | None = None
    try:
        for item in items:
            call.chunk(item)
            if call.strip_usage and _usage_only(item):
                continue
            yield item
    except BaseException as exc:  # GeneratorExit too: the caller stopped early
        error = None if isinstance(exc, GeneratorExit) else exc
        raise
    finally:
        call.finish(error=error, streamed=True)
        logger.submit_call(call, EXTRACTORS[provider])


async def _watch_async(items: AsyncIterator[Any], call: Call, logger: Logger,
                       provider: str) -> AsyncIterator[Any]:
    error: BaseException | None = None
    try:
        async for item in items:
            call.chunk(item)
            if call.strip_usage and _usage_only(item):
                continue
            yield item
    except BaseException as exc:
        error = None if isinstance(exc, GeneratorExit) else exc
        raise
    finally:
        call.finish(error=error, streamed=True)
        logger.submit_call(call, EXTRACTORS[provider])
