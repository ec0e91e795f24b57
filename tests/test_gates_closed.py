"""Gates fail closed: nothing to judge is a failure with one line saying why, unless
--allow-empty; unreadable input (exit 3) comes before a failed check (exit 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import base_record, write_jsonl
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.analysis.gates import GatePolicy, evaluate_gates
from genailog.cli.app import app


def summarize(*args: str) -> Any:
    return CliRunner().invoke(app, ["summarize", *args])


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Two models, no ttft_ms logged anywhere; gpt-4.1 has 3 records, claude 12."""
    records = [base_record(model="gpt-4.1", latency_ms=100 + i) for i in range(3)]
    records += [base_record(model="claude", latency_ms=200 + i) for i in range(12)]
    return write_jsonl(tmp_path / "calls.jsonl", records)


@pytest.mark.parametrize(("case", "args", "reason"), [
    ("empty input", ["{empty}"], "for total (no records to judge)"),
    ("all-filtering --where", ["{logs}", "--where", "model = 'nope'"],
     "for total (no records to judge)"),
    ("null metric", ["{logs}", "--fail-if", "ttft_ms_p95 > 1000"],
     "for total (ttft_ms_p95 is null (nothing logged to judge))"),
])
def test_nothing_to_judge_fails_with_one_line(tmp_path: Path, logs: Path, case: str,
                                              args: list[str], reason: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    argv = [a.format(empty=empty, logs=logs) for a in args]
    if "--fail-if" not in argv:
        argv += ["--fail-if", "latency_ms_p95 > 1000"]
    closed = summarize(*argv, "--quiet")
    assert closed.exit_code == 1, (case, closed.output)
    assert closed.stderr.count("\n") == 1, (case, closed.stderr)
    assert closed.stderr.startswith("gate failed: ") and reason in closed.stderr, case
    allowed = summarize(*argv, "--quiet", "--allow-empty")
    assert allowed.exit_code == 0, (case, allowed.output)
    assert allowed.stderr == ""


def test_null_metric_fails_per_group(logs: Path) -> None:
    result = summarize(str(logs), "--by", "model", "--fail-if", "ttft_ms_p95 > 1000", "-q")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line.split(" for ")[1].split(" (")[0] for line in lines] == \
        ["model=claude", "model=gpt-4.1", "total"]


def test_group_under_min_records_fails(logs: Path) -> None:
    result = summarize(str(logs), "--by", "model", "--fail-if", "latency_ms_p95 > 1e6",
                       "--min-records", "5", "-q")
    assert result.exit_code == 1, result.output
    assert result.stderr == ("gate failed: latency_ms_p95 > 1e6 for model=gpt-4.1 "
                             "(3 records < --min-records 5)\n")
    assert summarize(str(logs), "--by", "model", "--fail-if", "latency_ms_p95 > 1e6",
                     "--min-records", "3", "-q").exit_code == 0


def test_unreadable_input_beats_a_failed_check(tmp_path: Path, logs: Path) -> None:
    result = summarize(str(logs), str(tmp_path / "missing.jsonl"), "--fail-if",
                       "requests > 0", "--allow-empty")
    assert result.exit_code == 3, result.output
    broken = write_jsonl(tmp_path / "broken.jsonl", ["not json"])
    assert summarize(str(broken), "--fail-if", "requests > 0").exit_code == 3


def test_condition_still_trips_with_allow_empty(logs: Path) -> None:
    result = summarize(str(logs), "--fail-if", "requests > 10", "--allow-empty", "-q")
    assert result.exit_code == 1
    assert result.stderr == "gate failed: requests > 10 for total (condition true)\n"


ROW = st.fixed_dictionaries({
    "requests": st.integers(0, 30),
    "latency_ms_p95": st.one_of(st.none(), st.floats(0, 5000)),
})


@given(st.lists(ROW, max_size=5), ROW, st.integers(0, 10), st.booleans())
def test_policy_against_direct_reading(groups: list[dict[str, Any]], total: dict[str, Any],
                                       min_records: int, allow_empty: bool) -> None:
    """Each row fails exactly when a person reading the rule would fail it."""
    groups = [{**g, "model": f"m{i}"} for i, g in enumerate(groups)]
    [result] = evaluate_gates(["latency_ms_p95 > 1000"], groups, total, ["model"],
                              GatePolicy(allow_empty=allow_empty, min_records=min_records))
    expected = []
    for row, label in [*((g, f"model={g['model']}") for g in groups), (total, "total")]:
        value = row["latency_ms_p95"]
        unjudged = row["requests"] == 0 or row["requests"] < min_records or value is None
        if (unjudged and not allow_empty) or (value is not None and value > 1000):
            expected.append(label)
    assert [f["label"] for f in result.failed] == expected


def test_trace_gate_whose_selector_matches_nothing_fails() -> None:
    spans = str(Path(__file__).resolve().parent.parent / "sample_logs" / "search.spans.jsonl")

    def traces(gate: str) -> Any:
        return CliRunner().invoke(app, ["traces", spans, "--fail-if", gate, "-q"])

    typo = traces("component_p95_ms{name='rerankr'} > 500")
    assert typo.exit_code == 1, typo.output
    assert typo.stderr == ("gate failed: component_p95_ms{name='rerankr'} > 500 for no "
                           "component (no component matches (name='rerankr'))\n")
    assert traces("component_p95_ms{name='rerank'} > 1e9").exit_code == 0


@pytest.mark.parametrize(("case", "args", "message"), [
    ("empty input", ["{empty}"], "the input holds no records"),
    ("all-filtering --where", ["{logs}", "--where", "model = 'nope'"],
     "no records of version v1, v2 are left after --where/--since/--until"),
])
def test_diff_prompts_on_nothing_fails_closed(tmp_path: Path, case: str, args: list[str],
                                             message: str) -> None:
    """diff-prompts over an empty artifact or filters that keep nothing said "version not
    found" (exit 2, a usage error); it is nothing to judge: exit 1 with one line."""
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    logs = write_jsonl(tmp_path / "calls.jsonl", [
        base_record(prompt_version=v, latency_ms=100 + i) for v in ("v1", "v2")
        for i in range(5)])
    argv = [a.format(empty=empty, logs=logs) for a in args]
    result = CliRunner().invoke(app, ["diff-prompts", *argv, "--baseline", "v1",
                                      "--candidate", "v2"])
    assert result.exit_code == 1, (case, result.output)
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    typo = CliRunner().invoke(app, ["diff-prompts", str(logs), "--baseline", "v1",
                                    "--candidate", "v9"])
    assert typo.exit_code == 2 and "v9 not found" in typo.stderr


@pytest.mark.parametrize("seed", ["-1", str(2**40)])
def test_a_seed_out_of_range_is_a_usage_error_not_a_crash(tmp_path: Path, seed: str) -> None:
    """--seed -1 reached numpy (which refuses negative seeds) and exited 70."""
    logs = write_jsonl(tmp_path / "calls.jsonl", [
        base_record(prompt_version=v, latency_ms=100 + i) for v in ("v1", "v2")
        for i in range(5)])
    result = CliRunner().invoke(app, ["diff-prompts", str(logs), "--baseline", "v1",
                                      "--candidate", "v2", "--seed", seed])
    assert result.exit_code == 2, result.output


def test_the_library_refuses_a_negative_seed_too(tmp_path: Path) -> None:
    from genailog import diff_prompts
    from genailog.analysis.compare import DiffOptions
    from genailog.errors import UsageError

    logs = write_jsonl(tmp_path / "calls.jsonl", [
        base_record(prompt_version=v, latency_ms=100 + i) for v in ("v1", "v2")
        for i in range(5)])
    with pytest.raises(UsageError, match="--seed -1"):
        diff_prompts(str(logs), "v1", "v2", DiffOptions(seed=-1))


@pytest.mark.parametrize(("case", "current", "extra", "message"), [
    ("empty PR artifact", "{empty}", [], "the current input holds no records"),
    ("all-filtering --where", "{logs}", ["--where", "model = 'nope'"],
     "no records in the reference input are left after --where/--since/--until"),
    ("version filtered out", "{logs}", ["--baseline", "v1", "--where", "latency_ms > 1e9"],
     "no records of version v1 in the reference input are left"),
])
def test_diff_prompts_against_a_reference_on_nothing_fails_closed(
        tmp_path: Path, case: str, current: str, extra: list[str], message: str) -> None:
    """The same rule with --reference: it exited 0 ("insufficient data") on an empty PR
    artifact or on filters that keep nothing."""
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    logs = write_jsonl(tmp_path / "calls.jsonl", [
        base_record(prompt_version="v1", latency_ms=100 + i) for i in range(5)])
    result = CliRunner().invoke(app, [
        "diff-prompts", current.format(empty=empty, logs=logs), "--reference", str(logs),
        *extra])
    assert result.exit_code == 1, (case, result.output)
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
