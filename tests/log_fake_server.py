"""A fake OpenAI chat + Anthropic Messages server on 127.0.0.1 for genailog.log's tests.

Unlike tests/fixtures/formats/fake_server.py it also answers 429 once and then succeeds
(the SDK retries), streams Anthropic thinking blocks and OpenAI ``reasoning_content``
(both carrying a marker the tests search for), reports cache writes, and sends request
ids. It records every answer it gave, which is the truth the tests compare against.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = "COT-MARKER-7f3a"


@dataclass(frozen=True)
class Answer:
    """What the server answered to one HTTP request."""

    model: str
    status: int
    final: bool  # False for a 429 the client retries
    input_tokens: int  # canonical: cached and cache-write tokens included
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    request_id: str


@dataclass(frozen=True)
class Scenario:
    input_tokens: int
    output_tokens: int
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0
    text: str = "Hello there!"
    thinking: str | None = None


SCENARIOS = {
    "hello": Scenario(12, 5),
    "cached": Scenario(2048, 40, cached=1024, cache_write=0, reasoning=16, text="Cached."),
    "write": Scenario(900, 7, cached=0, cache_write=300, text="Wrote the cache."),
    "think": Scenario(30, 60, reasoning=50, text="42.", thinking=f"Let me think. {MARKER} ok"),
}


def _trigger(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content).split()[0].lower() if str(content).split() else ""
    return ""


class FakeLLMServer:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type(
            "Handler", (_Handler,), {"owner": self}))
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def truth_by_model(self) -> dict[str, dict[str, int]]:
        """Per model: calls, errors, retries and token sums of the calls' final answers."""
        truth: dict[str, dict[str, int]] = {}
        for a in self.answers:
            row = truth.setdefault(a.model, {"requests": 0, "errors": 0, "retries": 0,
                                             "input_tokens": 0, "output_tokens": 0,
                                             "cached_input_tokens": 0})
            if not a.final:
                row["retries"] += 1
                continue
            row["requests"] += 1
            row["errors"] += a.status >= 400
            for name in ("input_tokens", "output_tokens", "cached_input_tokens"):
                row[name] += getattr(a, name)
        return truth


class _Handler(BaseHTTPRequestHandler):
    owner: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        model, trigger = str(body.get("model")), _trigger(body)
        anthropic = self.path.rstrip("/").endswith("/messages")
        n = len(self.owner.answers)
        request_id = f"req_{n:05d}"
        retry = self.headers.get("x-stainless-retry-count", "0")
        if trigger == "fail" or (trigger == "ratelimit" and retry == "0"):
            status = 500 if trigger == "fail" else 429
            self.owner.record(Answer(model, status, status == 500, 0, 0, 0, 0, 0, request_id))
            error = {"type": "error", "error": {"type": "api_error", "message": "fake failure"}}
            self._send(status, error, request_id, retry=status == 429)
            return
        s = SCENARIOS.get(trigger, SCENARIOS["hello"])
        self.owner.record(Answer(model, 200, True, s.input_tokens, s.output_tokens, s.cached,
                                 s.cache_write, s.reasoning, request_id))
        if anthropic:
            message = _anthropic_message(s, model, n)
            if body.get("stream"):
                self._sse(_anthropic_events(message), request_id, named=True)
            else:
                self._send(200, message, request_id)
        elif body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage")
            self._sse(_openai_chunks(s, model, n, bool(usage)), request_id, named=False)
        else:
            self._send(200, _openai_completion(s, model, n), request_id)

    def _headers(self, request_id: str, retry: bool) -> None:
        self.send_header("x-request-id", request_id)
        self.send_header("request-id", request_id)
        self.send_header("x-should-retry", "true" if retry else "false")
        if retry:
            self.send_header("retry-after-ms", "5")

    def _send(self, status: int, payload: dict[str, Any], request_id: str,
              retry: bool = False) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self._headers(request_id, retry)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[dict[str, Any]], request_id: str, named: bool) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self._headers(request_id, False)
        self.end_headers()
        for event in events:
            head = f"event: {event['type']}\n" if named else ""
            self.wfile.write(f"{head}data: {json.dumps(event)}\n\n".encode())
        if not named:
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _openai_usage(s: Scenario) -> dict[str, Any]:
    return {"prompt_tokens": s.input_tokens, "completion_tokens": s.output_tokens,
            "total_tokens": s.input_tokens + s.output_tokens,
            "prompt_tokens_details": {"cached_tokens": s.cached},
            "completion_tokens_details": {"reasoning_tokens": s.reasoning}}


def _openai_completion(s: Scenario, model: str, n: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": s.text, "refusal": None}
    if s.thinking:
        message["reasoning_content"] = s.thinking
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": _openai_usage(s)}


def _openai_chunks(s: Scenario, model: str, n: int, usage: bool) -> list[dict[str, Any]]:
    base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1,
            "model": model, "type": "chunk"}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if s.thinking:
        deltas.append({"reasoning_content": s.thinking})
    deltas += [{"content": s.text[: len(s.text) // 2]}, {"content": s.text[len(s.text) // 2:]}]
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
              for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage:
        chunks.append({**base, "choices": [], "usage": _openai_usage(s)})
    return chunks


def _anthropic_message(s: Scenario, model: str, n: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if s.thinking:
        content.append({"type": "thinking", "thinking": s.thinking, "signature": "sig"})
    content.append({"type": "text", "text": s.text})
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": s.input_tokens - s.cached - s.cache_write,
                      "output_tokens": s.output_tokens,
                      "cache_read_input_tokens": s.cached,
                      "cache_creation_input_tokens": s.cache_write}}


def _anthropic_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    usage = message["usage"]
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        **message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}}]
    for i, block in enumerate(message["content"]):
        kind = block["type"]
        events.append({"type": "content_block_start", "index": i, "content_block": {
            "type": kind, **({"thinking": "", "signature": ""} if kind == "thinking"
                             else {"text": ""})}})
        delta = ({"type": "thinking_delta", "thinking": block["thinking"]} if kind == "thinking"
                 else {"type": "text_delta", "text": block["text"]})
        events.append({"type": "content_block_delta", "index": i, "delta": delta})
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                       "stop_sequence": None},
                   "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    return events


def asdicts(answers: list[Answer]) -> list[dict[str, Any]]:
    return [asdict(a) for a in answers]
