"""Head sampling in genailog.log and the weighted estimates of summarize.

20,000 calls in 4,000 sessions logged at rate 0.1: the weighted request count and cost
must land within three of their reported standard errors of the truth, every error must
be in the file, and every session must be in it whole or not at all (errors aside).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import genailog
from genailog.cli.app import app
from genailog.log import Logger, Sampler
from genailog.log.sampling import is_error


def _calls(n_sessions: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    calls = []
    for s in range(n_sessions):
        model = rng.choice(["gpt-4o-mini", "claude-haiku-4-5"])
        for _ in range(rng.choice([1, 3, 5, 7, 9])):  # 5 calls per session on average
            failed = rng.random() < 0.03
            calls.append({
                "timestamp": 1_767_000_000 + len(calls), "model": model,
                "session_id": f"s{s}", "user_id": f"u{s % 97}",
                "status": "error" if failed else "ok",
                "error_type": "RateLimitError" if failed else None,
                "input_tokens": rng.randint(10, 4000), "output_tokens": rng.randint(1, 800),
                "cost_usd": round(rng.uniform(0.0001, 0.02), 6),
                "latency_ms": rng.lognormvariate(6, 0.5),
            })
    return calls


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, object]], Path]:
    calls = _calls(4_000, seed=18)
    path = tmp_path_factory.mktemp("sampled") / "calls.jsonl"
    with Logger(path, sample_rate=0.1, sample_salt="test-salt", queue_size=50_000,
                on_full="block") as logger:
        for call in calls:
            logger.log(call)
    return calls, path


def test_the_fixture_is_as_described(sampled: tuple[list[dict[str, object]], Path]) -> None:
    calls, _ = sampled
    assert len({c["session_id"] for c in calls}) == 4_000
    assert 19_000 < len(calls) < 21_000


def test_every_error_is_kept_with_rate_one(sampled: tuple[list[dict[str, object]], Path]) -> None:
    calls, path = sampled
    written = [json.loads(line) for line in path.read_text().splitlines()]
    errors_in = [c for c in calls if is_error(c)]
    errors_out = [r for r in written if is_error(r)]
    assert len(errors_out) == len(errors_in) > 300
    assert {r["sample_rate"] for r in errors_out} == {1.0}
    assert {r["sample_rate"] for r in written if not is_error(r)} == {0.1}


def test_no_sampled_session_is_split(sampled: tuple[list[dict[str, object]], Path]) -> None:
    calls, path = sampled
    written = [json.loads(line) for line in path.read_text().splitlines()]
    kept = defaultdict(int)
    for r in written:
        if not is_error(r):
            kept[r["session_id"]] += 1
    total = defaultdict(int)
    for c in calls:
        if not is_error(c):
            total[c["session_id"]] += 1
    assert kept, "no session was sampled"
    assert all(kept[s] == total[s] for s in kept)
    assert 300 < len(kept) < 500  # about 10% of 4,000 sessions


def test_weighted_count_and_cost_are_within_three_standard_errors(
    sampled: tuple[list[dict[str, object]], Path],
) -> None:
    calls, path = sampled
    result = genailog.summarize(str(path), by=["model"])
    total = result.total
    true_cost = sum(float(c["cost_usd"]) for c in calls)  # type: ignore[arg-type]
    assert result.sampling is not None and result.sampling["sampled_records"] > 0
    assert total["requests_se"] > 0 and total["cost_usd_se"] > 0
    assert abs(total["requests"] - len(calls)) <= 3 * total["requests_se"]
    assert abs(total["cost_usd"] - true_cost) <= 3 * total["cost_usd_se"]
    errors = sum(is_error(c) for c in calls)
    assert total["errors"] == errors and total["errors_se"] == 0  # errors are all logged
    for row in result.groups:
        mine = [c for c in calls if c["model"] == row["model"]]
        assert abs(row["requests"] - len(mine)) <= 3 * row["requests_se"]
    assert result.to_dict()["sampling"]["unit"] == "session_id"


def test_standard_error_matches_the_spread_of_repeated_samples(tmp_path: Path) -> None:
    """The reported SE of the count agrees with the spread over 40 salts (within 35%),
    so it is the sampling error of session-level sampling, not of record-level."""
    calls = _calls(600, seed=3)
    estimates, ses = [], []
    for i in range(40):
        sampler = Sampler(0.2, "session_id", salt=f"salt{i}")
        kept = []
        for c in calls:
            rate = sampler.rate_for(c, sampler.selected(c["session_id"]))
            if rate is not None:
                kept.append({**c, "sample_rate": rate})
        path = tmp_path / f"s{i}.jsonl"
        path.write_text("".join(json.dumps({**r, "timestamp": "2026-01-01T00:00:00Z"}) + "\n"
                                for r in kept))
        total = genailog.summarize(str(path)).total
        estimates.append(total["requests"])
        ses.append(total["requests_se"])
    mean = sum(estimates) / len(estimates)
    spread = (sum((e - mean) ** 2 for e in estimates) / (len(estimates) - 1)) ** 0.5
    typical_se = (sum(s * s for s in ses) / len(ses)) ** 0.5
    assert abs(mean - len(calls)) < 3 * spread / len(estimates) ** 0.5
    assert 0.65 < typical_se / spread < 1.35


def test_unsampled_logs_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"timestamp": "2026-01-01T00:00:00Z", "model": "m",
                                "sample_rate": 1.0}) + "\n")
    result = genailog.summarize(str(path))
    assert result.sampling is None and "requests_se" not in result.total
    assert "sampling" not in result.to_dict()


def test_sampling_is_deterministic_per_key() -> None:
    a, b = Sampler(0.3, salt="x"), Sampler(0.3, salt="x")
    keys = [f"k{i}" for i in range(2000)]
    assert [a.selected(k) for k in keys] == [b.selected(k) for k in keys]
    share = sum(a.selected(k) for k in keys) / len(keys)
    assert 0.25 < share < 0.35
    assert [a.selected(k) for k in keys] != [Sampler(0.3, salt="y").selected(k) for k in keys]


def test_the_outputs_say_they_are_estimates(sampled: tuple[list[dict[str, object]], Path],
                                            ) -> None:
    _, path = sampled
    runner = CliRunner()
    as_json = runner.invoke(app, ["summarize", str(path), "--by", "model", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    schema = json.loads((Path(__file__).parents[1] / "schemas"
                         / "summarize.output.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["sampling"]["min_sample_rate"] == 0.1
    assert all(row["requests_se"] > 0 for row in data["groups"])
    table = runner.invoke(app, ["summarize", str(path), "--by", "model"])
    assert table.exit_code == 0, table.output
    assert "ESTIMATES" in table.output and "head-sampled" in table.output
