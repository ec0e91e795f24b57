"""What an OpenAI or Anthropic call becomes as a canonical record.

Runs in the writer's thread, from what the request path kept (:class:`Call`): the
request's keyword arguments, the response object or the streamed chunks, the exception,
times and attempts. Reads the SDK objects by attribute only, so no SDK is imported.

Token counts follow genailog's convention (docs/schema.md): ``input_tokens`` includes
cached and cache-write tokens (Anthropic reports them beside ``input_tokens``, so they are
added back), ``output_tokens`` includes reasoning tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Call:
    """One call as seen on the request path; everything else is derived later."""

    provider: str
    operation: str
    kwargs: dict[str, Any]
    started: float  # epoch seconds, the record's timestamp
    fields: Any  # the context's fields at call time (a mapping)
    clock: float  # perf_counter at start
    attempts: int = 0
    strip_usage: bool = False
    result: Any = None
    error: BaseException | None = None
    chunks: list[Any] = field(default_factory=list)
    first: float | None = None
    ended: float | None = None
    streamed: bool = False

    def chunk(self, item: Any) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.chunks.append(item)

    def finish(self, *, result: Any = None, error: BaseException | None = None,
               streamed: bool = False) -> None:
        self.ended = time.perf_counter()
        if result is not None:
            self.result = result
        self.error = error
        self.streamed = streamed

    @property
    def is_error(self) -> bool:
        return self.error is not None


def _get(obj: Any, *names: str) -> Any:
    """``obj.a.b`` (or ``obj["a"]["b"]``) with None for anything missing."""
    for name in names:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _plain(value: Any) -> Any:
    """SDK objects as plain JSON-able values (content parts may be pydantic models)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def text_of(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of a list."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, Iterable):
        texts = [str(_get(part, "text")) for part in content
                 if _get(part, "type") in (None, "text", "input_text") and _get(part, "text")]
        return "\n".join(texts) if texts else None
    return str(content)


def _messages(messages: Any) -> list[dict[str, Any]]:
    out = []
    for message in messages or ():
        message = _plain(message)
        if isinstance(message, dict) and "role" in message:
            out.append(message)
    return out


def _base(call: Call) -> dict[str, Any]:
    requested = call.kwargs.get("model")
    record: dict[str, Any] = {
        "timestamp": call.started,
        "model": str(requested) if requested else "(unknown)",
        "request_model": requested,
        "provider": call.provider,
        "operation": call.operation,
        "status": "error" if call.is_error else "ok",
    }
    if call.ended is not None:
        record["latency_ms"] = round((call.ended - call.clock) * 1000, 3)
    if call.first is not None:
        record["ttft_ms"] = round((call.first - call.clock) * 1000, 3)
    if call.attempts:
        record["retries"] = call.attempts - 1
    if call.error is not None:
        record["error_type"] = type(call.error).__name__
        record["error_message"] = str(call.error)[:2000]
        record["request_id"] = getattr(call.error, "request_id", None)
    if call.streamed:
        record["stream"] = True
    return record


def _request_id(call: Call, header: str) -> Any:
    found = _get(call.result, "_request_id")
    if found is None:
        headers = _get(call.result, "response", "headers")
        found = headers.get(header) if headers is not None else None
    return found


# -- OpenAI chat completions --------------------------------------------------------------

def _openai_request(call: Call, record: dict[str, Any]) -> None:
    messages = _messages(call.kwargs.get("messages"))
    system = [text_of(m.get("content")) for m in messages if m["role"] in ("system", "developer")]
    users = [m for m in messages if m["role"] == "user"]
    record["system_prompt"] = "\n".join(t for t in system if t) or None
    record["prompt"] = text_of(users[-1].get("content")) if users else None
    record["messages"] = messages
    user = call.kwargs.get("safety_identifier") or call.kwargs.get("user")
    record["user_id"] = user if isinstance(user, str) else None


def _openai_usage(record: dict[str, Any], usage: Any) -> None:
    if usage is None:
        return
    record["input_tokens"] = _get(usage, "prompt_tokens")
    record["output_tokens"] = _get(usage, "completion_tokens")
    record["cached_input_tokens"] = _get(usage, "prompt_tokens_details", "cached_tokens")
    record["reasoning_tokens"] = _get(usage, "completion_tokens_details", "reasoning_tokens")


def _openai_message(record: dict[str, Any], choice: Any) -> None:
    message = _get(choice, "message")
    record["response"] = _get(message, "content")
    record["finish_reason"] = _get(choice, "finish_reason")
    refusal = _get(message, "refusal")
    record["refusal"] = bool(refusal) if refusal is not None else None
    reasoning = _get(message, "reasoning_content") or _get(message, "reasoning")
    if reasoning:
        record["reasoning"] = str(reasoning)


def _openai_stream(record: dict[str, Any], chunks: list[Any]) -> None:
    texts: list[str] = []
    reasoning: list[str] = []
    for chunk in chunks:
        record["model"] = _get(chunk, "model") or record["model"]
        record["response_id"] = _get(chunk, "id") or record.get("response_id")
        _openai_usage(record, _get(chunk, "usage"))
        for choice in _get(chunk, "choices") or ():
            delta = _get(choice, "delta")
            texts.append(_get(delta, "content") or "")
            reasoning.append(_get(delta, "reasoning_content") or _get(delta, "reasoning") or "")
            record["finish_reason"] = _get(choice, "finish_reason") or record.get("finish_reason")
    record["response"] = "".join(texts) if chunks else None
    if any(reasoning):
        record["reasoning"] = "".join(reasoning)


def _openai_result(record: dict[str, Any], result: Any) -> None:
    _openai_usage(record, _get(result, "usage"))
    choices = _get(result, "choices") or []
    if choices:
        _openai_message(record, choices[0])


# -- Anthropic messages -------------------------------------------------------------------

def _anthropic_request(call: Call, record: dict[str, Any]) -> None:
    messages = _messages(call.kwargs.get("messages"))
    system = call.kwargs.get("system")
    record["system_prompt"] = text_of(_plain(system)) if system else None
    users = [m for m in messages if m["role"] == "user"]
    record["prompt"] = text_of(users[-1].get("content")) if users else None
    record["messages"] = messages
    user = _get(call.kwargs.get("metadata"), "user_id")
    record["user_id"] = user if isinstance(user, str) else None


def _anthropic_usage(record: dict[str, Any], usage: Any) -> None:
    """Anthropic's ``input_tokens`` excludes cache reads and writes: add them back."""
    if usage is None:
        return
    fresh = _get(usage, "input_tokens")
    read = _get(usage, "cache_read_input_tokens")
    write = _get(usage, "cache_creation_input_tokens")
    if fresh is not None:
        record["input_tokens"] = fresh + (read or 0) + (write or 0)
        record["cached_input_tokens"] = read or 0
        record["cache_write_tokens"] = write or 0
    output = _get(usage, "output_tokens")
    if output is not None:
        record["output_tokens"] = output


def _anthropic_blocks(record: dict[str, Any], blocks: Iterable[Any]) -> None:
    texts, thinking = [], []
    for block in blocks:
        kind = _get(block, "type")
        if kind == "text":
            texts.append(_get(block, "text") or "")
        elif kind == "thinking":
            thinking.append(_get(block, "thinking") or "")
    record["response"] = "".join(texts)
    if thinking:
        record["reasoning"] = "\n".join(thinking)


def _anthropic_stream(record: dict[str, Any], events: list[Any]) -> None:
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = _get(event, "type")
        if kind == "message_start":
            message = _get(event, "message")
            record["model"] = _get(message, "model") or record["model"]
            record["response_id"] = _get(message, "id")
            _anthropic_usage(record, _get(message, "usage"))
        elif kind == "content_block_start":
            block = _get(event, "content_block")
            blocks[_get(event, "index") or 0] = {"type": _get(block, "type"),
                                                 "text": _get(block, "text") or "",
                                                 "thinking": _get(block, "thinking") or ""}
        elif kind == "content_block_delta":
            block = blocks.setdefault(_get(event, "index") or 0, {"type": "text", "text": "",
                                                                  "thinking": ""})
            delta = _get(event, "delta")
            block["text"] += _get(delta, "text") or ""
            block["thinking"] += _get(delta, "thinking") or ""
        elif kind == "message_delta":
            record["finish_reason"] = _get(event, "delta", "stop_reason")
            usage = _get(event, "usage")
            if _get(usage, "input_tokens") is not None:
                _anthropic_usage(record, usage)
            elif _get(usage, "output_tokens") is not None:
                record["output_tokens"] = _get(usage, "output_tokens")
    _anthropic_blocks(record, [blocks[i] for i in sorted(blocks)])


def _anthropic_result(record: dict[str, Any], result: Any) -> None:
    _anthropic_usage(record, _get(result, "usage"))
    record["finish_reason"] = _get(result, "stop_reason")
    _anthropic_blocks(record, _get(result, "content") or ())


Part = Callable[[Call, dict[str, Any]], None]
Fill = Callable[[dict[str, Any], Any], None]


def _extractor(request: Part, stream: Fill, result: Fill, header: str,
               ) -> Callable[[Call], dict[str, Any]]:
    """A provider's record builder from its request, stream and result readers."""

    def build(call: Call) -> dict[str, Any]:
        record = _base(call)
        request(call, record)
        if call.streamed:
            stream(record, call.chunks)
        elif call.result is not None and call.error is None:
            record["model"] = _get(call.result, "model") or record["model"]
            record["response_id"] = _get(call.result, "id")
            result(record, call.result)
        if call.error is None:
            record["request_id"] = _request_id(call, header)
        return record

    return build


EXTRACTORS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "openai": _extractor(_openai_request, _openai_stream, _openai_result, "x-request-id"),
    "anthropic": _extractor(_anthropic_request, _anthropic_stream, _anthropic_result,
                            "request-id"),
}
