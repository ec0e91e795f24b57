"""genailog.log.instrument driving the REAL openai and anthropic clients against a fake
server on 127.0.0.1 that records what it answered (tests/log_fake_server.py).

The file written must pass ``genailog validate`` and ``summarize --by model`` must equal
the server's truth: calls, errors, retries and tokens (cached included).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_or_skip
from log_fake_server import MARKER, FakeLLMServer
from typer.testing import CliRunner

import genailog
from genailog.cli.app import app
from genailog.log import Logger, instrument, prompt, template_version

try:
    import anthropic
    import openai
except ImportError:  # pragma: no cover - the test extra installs both
    require_or_skip("openai and anthropic are not installed (pip install -e '.[test]')",
                    module=True)

TRIGGERS = ("hello", "cached", "write", "think", "ratelimit", "fail")


@pytest.fixture()
def server() -> Iterator[FakeLLMServer]:
    srv = FakeLLMServer()
    yield srv
    srv.stop()


def _clients(srv: FakeLLMServer, logger: Logger) -> dict[str, Any]:
    common = {"api_key": "test-key", "max_retries": 2}
    return {
        "openai": instrument(openai.OpenAI(base_url=srv.openai_url, **common), logger),
        "openai_async": instrument(openai.AsyncOpenAI(base_url=srv.openai_url, **common), logger),
        "anthropic": instrument(anthropic.Anthropic(base_url=srv.anthropic_url, **common),
                                logger),
        "anthropic_async": instrument(anthropic.AsyncAnthropic(base_url=srv.anthropic_url,
                                                               **common), logger),
    }


def _call(client: Any, kind: str, text: str, stream: bool) -> Any:
    messages = [{"role": "user", "content": text}]
    if kind.startswith("openai"):
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                              stream=stream)
    return client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=messages,
                                  stream=stream, system="Be brief.")


def _drive_sync(clients: dict[str, Any]) -> int:
    raised = 0
    for kind in ("openai", "anthropic"):
        for text in TRIGGERS:
            for stream in (False, True):
                try:
                    result = _call(clients[kind], kind, text, stream)
                    if stream:
                        list(result)
                except (openai.InternalServerError, anthropic.InternalServerError):
                    raised += 1
    return raised


async def _drive_async(clients: dict[str, Any]) -> int:
    raised = 0
    for kind in ("openai_async", "anthropic_async"):
        for text in TRIGGERS:
            for stream in (False, True):
                try:
                    result = await _call(clients[kind], kind, text, stream)
                    if stream:
                        [item async for item in result]
                except (openai.InternalServerError, anthropic.InternalServerError):
                    raised += 1
    return raised


def test_summarize_by_model_equals_the_servers_truth(server: FakeLLMServer,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    logger = Logger(path, app="test")
    clients = _clients(server, logger)
    raised = _drive_sync(clients) + asyncio.run(_drive_async(clients))
    logger.close()
    assert raised == 8  # "fail" raised as before, for each client and mode

    validated = CliRunner().invoke(app, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output

    truth = server.truth_by_model()
    assert truth["gpt-4o-mini"]["retries"] == 4 and truth["gpt-4o-mini"]["errors"] == 4
    result = genailog.summarize(str(path), by=["model"])
    got = {row["model"]: row for row in result.groups}
    assert set(got) == set(truth)
    for model, want in truth.items():
        for metric, value in want.items():
            assert got[model][metric] == value, (model, metric)


def test_records_hold_what_each_call_did(server: FakeLLMServer, tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with Logger(path) as logger:
        clients = _clients(server, logger)
        list(clients["anthropic"].messages.create(
            model="claude-haiku-4-5", max_tokens=64, system="Be brief.", stream=True,
            messages=[{"role": "user", "content": "write"}], metadata={"user_id": "u7"}))
        clients["openai"].chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "ratelimit"}],
            user="u8")
    streamed, retried = [json.loads(line) for line in path.read_text().splitlines()]
    assert streamed["provider"] == "anthropic" and streamed["stream"] is True
    assert (streamed["input_tokens"], streamed["cache_write_tokens"]) == (900, 300)
    assert streamed["cached_input_tokens"] == 0 and streamed["output_tokens"] == 7
    assert streamed["ttft_ms"] <= streamed["latency_ms"]
    assert streamed["system_prompt"] == "Be brief." and streamed["response"] == "Wrote the cache."
    assert streamed["finish_reason"] == "end_turn" and streamed["request_id"].startswith("req_")
    assert (streamed["user_id"], retried["user_id"]) == ("u7", "u8")
    assert retried["retries"] == 1 and retried["status"] == "ok"
    assert retried["request_id"] == server.answers[-1].request_id
    assert retried["sample_rate"] == 1.0


def test_the_client_behaves_as_before(server: FakeLLMServer, tmp_path: Path) -> None:
    plain = openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0)
    with Logger(tmp_path / "c.jsonl") as logger:
        wrapped = instrument(openai.OpenAI(base_url=server.openai_url, api_key="k",
                                           max_retries=0), logger)
        for client_kind in ("plain", "wrapped"):
            client = plain if client_kind == "plain" else wrapped
            answer = _call(client, "openai", "hello", stream=False)
            assert type(answer) is openai.types.chat.ChatCompletion
            stream = _call(client, "openai", "hello", stream=True)
            assert type(stream) is openai.Stream
            chunks = list(stream)
            # The wrapper asked for usage, and hid the usage-only chunk: same stream.
            assert [c.choices[0].delta.content for c in chunks] == ["", "Hello ", "there!", None]
            assert all(c.usage is None for c in chunks)
            with pytest.raises(openai.InternalServerError):
                _call(client, "openai", "fail", stream=False)
        asked = wrapped.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hello"}], stream=True,
            stream_options={"include_usage": True})
        assert list(asked)[-1].usage.prompt_tokens == 12  # asked for: passed through


def test_reasoning_never_reaches_the_file(server: FakeLLMServer, tmp_path: Path) -> None:
    history = [{"role": "user", "content": "think"},
               {"role": "assistant", "content": [
                   {"type": "thinking", "thinking": f"earlier {MARKER}", "signature": "s"},
                   {"type": "text", "text": "41."}]},
               {"role": "user", "content": "think again"}]
    for option in ("drop", "hash", "truncate:8"):
        path = tmp_path / f"{option.replace(':', '_')}.jsonl"
        with Logger(path, reasoning=option, content="full") as logger:
            clients = _clients(server, logger)
            clients["anthropic"].messages.create(model="claude", max_tokens=9, messages=history)
            list(clients["anthropic"].messages.create(model="claude", max_tokens=9,
                                                      messages=history, stream=True))
            for stream in (False, True):
                result = _call(clients["openai"], "openai", "think", stream)
                list(result) if stream else None
        text = path.read_text()
        assert MARKER not in text, option
        records = [json.loads(line) for line in text.splitlines()]
        assert len(records) == 4
        assert [r["reasoning_tokens"] for r in records if "reasoning_tokens" in r] == [50, 50]
        if option == "hash":
            assert all(r["reasoning"].startswith("sha256:") for r in records)
    kept = tmp_path / "keep.jsonl"
    with Logger(kept, reasoning="keep") as logger:
        _call(_clients(server, logger)["openai"], "openai", "think", False)
    assert MARKER in kept.read_text()  # the marker does reach the file when asked to


def test_prompt_versions_are_stamped(server: FakeLLMServer, tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    template = "Summarize: {text}"

    @prompt("summary", template=template)
    async def summarize_async(client: Any) -> Any:
        return await _call(client, "openai_async", "hello", False)

    with Logger(path) as logger:
        clients = _clients(server, logger)
        with prompt("greeting", version="v3"):
            _call(clients["anthropic"], "anthropic", "hello", False)
        asyncio.run(summarize_async(clients["openai_async"]))
        _call(clients["openai"], "openai", "hello", False)
    first, second, third = [json.loads(line) for line in path.read_text().splitlines()]
    assert (first["prompt_id"], first["prompt_version"]) == ("greeting", "v3")
    assert second["prompt_id"] == "summary"
    assert second["prompt_version"] == template_version(template)
    assert template_version(template + " ") != template_version(template)
    assert "prompt_id" not in third


def test_import_loads_nothing_heavy() -> None:
    code = ("import sys, genailog.log; heavy = {'polars', 'pyarrow', 'numpy', 'scipy', "
            "'sklearn', 'openai', 'anthropic', 'pandas'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]"


def test_logging_works_where_the_analysis_stack_is_not_installed(tmp_path: Path) -> None:
    """A production image may install genailog without its analysis dependencies
    (pip install --no-deps genailog msgspec): genailog.log must still work, redaction
    included."""
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {{"polars", "numpy", "pyarrow", "scipy", "sklearn"}}:
            raise ImportError("not installed: " + name)
sys.meta_path.insert(0, Block())
from genailog.log import Logger, LogHandler
with Logger({str(tmp_path / "calls.jsonl")!r}, redact=True) as logger:
    logger.log({{"model": "m", "prompt": "write to ann@example.com"}})
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
    record = json.loads((tmp_path / "calls.jsonl").read_text())
    assert record["prompt"] == "write to <EMAIL_1>"
