"""The ``logging`` integration (the seed's example with one line changed), write-time
redaction, and compact embeddings that drift's embedding method reads."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import genailog
from genailog.analysis.drift import DriftOptions
from genailog.api import detect_drift
from genailog.cli.app import app
from genailog.log import Logger, LogHandler, RecordFormatter, context


@pytest.fixture()
def seed_logger() -> Iterator[logging.Logger]:
    """A logger of its own, so the test never touches the root logger's handlers."""
    logger = logging.getLogger("genailog-test-seed")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def log_llm_interaction(log: logging.Logger, prompt: str, response: str, user_id: str,
                        latency: float, tokens: int) -> None:
    """The seed's hand-written logging, as it stands (``log`` is its ``logging``)."""
    record = {
        "timestamp": time.time(),
        "prompt": prompt,
        "response": response,
        "model_params": {"model": "gpt-4o-mini", "temperature": 0.2},
        "user_id": user_id,
        "latency": latency,
        "tokens": tokens,
    }
    log.info(json.dumps(record))


def test_the_seeds_example_with_one_line_changed(seed_logger: logging.Logger,
                                                 tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    handler = LogHandler(path, app="seed-app")
    seed_logger.addHandler(handler)  # the one changed line
    for i in range(30):
        log_llm_interaction(seed_logger, f"question {i}", "answer", f"u{i % 3}",
                            latency=0.25 + i / 100, tokens=10 + i)
    seed_logger.info("server started")  # not an LLM call: left out
    seed_logger.error("llm_call", extra={"model": "gpt-4o", "error_type": "Timeout"})
    handler.close()  # not handlers[0]: pytest 9.2 adds its own capture handler to loggers

    validated = CliRunner().invoke(app, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output
    result = genailog.summarize(str(path), by=["model"])
    rows = {row["model"]: row for row in result.groups}
    assert rows["gpt-4o-mini"]["requests"] == 30 and rows["gpt-4o-mini"]["errors"] == 0
    assert rows["gpt-4o-mini"]["output_tokens"] == sum(10 + i for i in range(30))
    assert rows["gpt-4o-mini"]["latency_ms_max"] == pytest.approx(540.0)
    assert rows["gpt-4o"]["errors"] == 1
    first = json.loads(path.read_text().splitlines()[0])
    assert first["app"] == "seed-app" and first["timestamp"].endswith("Z")
    assert first["status"] == "ok" and first["latency_ms"] == 250.0


def test_the_formatter_works_with_any_handler(seed_logger: logging.Logger,
                                              tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    handler = logging.FileHandler(path)
    handler.setFormatter(RecordFormatter(model="claude-haiku-4-5", defaults={"app": "a"}))
    seed_logger.addHandler(handler)
    seed_logger.info("llm_call", extra={"input_tokens": 12, "output_tokens": 3})
    log_llm_interaction(seed_logger, "hi", "hello", "u1", 0.1, 3)
    handler.close()
    assert genailog.summarize(str(path)).total["requests"] == 2
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0


def test_write_time_redaction_uses_genailogs_engine(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with Logger(path, redact=True, reasoning="keep") as logger:
        logger.log({"model": "m", "prompt": "mail bob@example.com",
                    "response": "call +1 415 555 0100", "reasoning": "bob@example.com",
                    "user_id": "u1"})
    text = path.read_text()
    assert "bob@example.com" not in text and "555 0100" not in text
    record = json.loads(text)
    assert record["prompt"] == "mail <EMAIL_1>" and record["reasoning"] == "<EMAIL_1>"
    assert record["user_id"] == "u1"


def test_context_fields_are_stamped(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    with Logger(path, environment="prod") as logger:
        with context(session_id="s1", user_id="u9"):
            logger.log({"model": "m"})
        logger.log({"model": "m", "session_id": "own"})
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert (first["session_id"], first["user_id"], first["environment"]) == ("s1", "u9", "prod")
    assert second["session_id"] == "own" and "user_id" not in second


def _vectors(rng: random.Random, shift: float, n: int) -> list[list[float]]:
    return [[rng.gauss(shift if d < 8 else 0.0, 1.0) for d in range(32)] for _ in range(n)]


def test_compact_embeddings_are_read_by_drift(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    rng = random.Random(7)
    with Logger(path, embedding="float16") as logger:
        for day, shift in (("2026-11-01", 0.0), ("2026-11-02", 0.0), ("2026-11-03", 1.5)):
            for i, vector in enumerate(_vectors(rng, shift, 150)):
                logger.log({"timestamp": f"{day}T10:{i // 60:02d}:{i % 60:02d}Z",
                            "model": "m", "embedding": vector})
    records = [json.loads(line) for line in path.read_text().splitlines()]
    values: list[Any] = [v for r in records for v in r["embedding"]]
    assert all(float(f"{v:.4g}") == v for v in values)  # 4 significant digits
    full = tmp_path / "full.jsonl"
    with Logger(full, embedding="full") as logger:
        for vector in _vectors(random.Random(7), 0.0, 450):
            logger.log({"timestamp": "2026-11-01T10:00:00Z", "model": "m", "embedding": vector})
    assert path.stat().st_size < 0.5 * full.stat().st_size
    options = DriftOptions(window="1d", features=("embedding",), min_records=50)
    result = detect_drift([str(path)], options=options)
    verdicts = [w.drifted for w in result.windows]
    assert verdicts == [False, True], result.to_dict()
