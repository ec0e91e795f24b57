"""export-dataset: accounting, every format read back by its consumer, reproducibility,
split leakage, dedup, the manifest, and the CLI contract (JSON == library, exit codes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import write_jsonl
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.dataset import export as export_mod
from genailog.dataset.export import (
    ExportOptions,
    UnbalancedCounts,
    export_dataset,
    manifest_path,
    redact_logs,
)
from genailog.dataset.split import group_ids, sample_indices, split_parts
from genailog.dataset.writers import csv_frame, jsonl_lines
from genailog.errors import ExpressionError, OutputError, UsageError
from genailog.ingest.frame import canonical_frame
from genailog.schema.columns import JSON_TEXT_COLUMNS
from genailog.schema.files import load_output_schema, schemas_dir

MODELS = ("gpt-4.1", "claude-sonnet-4", "mistral-large")
TOPICS = ("refund for order", "password reset", "invoice copy", "shipping delay", "api quota")


def make_records(n: int = 240, seed: int = 3) -> list[dict[str, Any]]:
    """Varied records: sessions, duplicates, records with no response, JSON and user fields."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        topic = rng.choice(TOPICS)
        record: dict[str, Any] = {
            "timestamp": f"2025-12-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
            "model": rng.choice(MODELS),
            "session_id": f"s{i // 4}" if i % 10 else None,
            "prompt": f"Customer asks about {topic} number {rng.randint(1, 40)}",
            "response": None if i % 13 == 0 else f"Answer about {topic}.",
            "feedback_rating": rng.randint(1, 5),
            "hallucination_flag": i % 7 == 0,
            "metadata": {"channel": rng.choice(["email", "chat"]), "ticket": i},
            "tenant": rng.choice(["acme", "initech"]),
            "ticket": {"id": i, "tags": ["a", "b"]},
        }
        if i % 5 == 0:
            record["system_prompt"] = "You are a support assistant."
        if i % 11 == 0:
            record["messages"] = [{"role": "user", "content": record["prompt"]}]
        out.append(record)
    return out


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    lines: list[Any] = make_records()
    lines[5] = "{not json"
    lines[17] = {"timestamp": "2025-12-01T00:00:00Z"}  # no model
    return write_jsonl(tmp_path / "logs.jsonl", lines)


def run(logs: Path, out: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("on_invalid", "skip")
    return export_dataset([str(logs)], ExportOptions(out=out, **kwargs))


def _valid(logs: Path) -> list[dict[str, Any]]:
    return [r for i, r in enumerate(make_records()) if i not in (5, 17)]


# ---------------------------------------------------------------- accounting


@pytest.mark.parametrize(
    ("fmt", "extra"),
    [
        ("jsonl", {"where": "feedback_rating <= 2", "dedup": "exact", "sample": 20}),
        ("openai-chat", {"where": "hallucination_flag OR model = 'gpt-4.1'", "sample": 0.5}),
        ("openai-evals", {"since": "2025-12-05", "dedup": "near", "redact": True}),
        ("csv", {"split": {"train": 0.7, "test": 0.3}, "where": "tenant = 'acme'"}),
    ],
)
def test_accounting_identity(logs: Path, tmp_path: Path, fmt: str, extra: dict[str, Any]) -> None:
    result = run(logs, tmp_path / "out" / "data.jsonl", format=fmt, **extra)
    c = result.counts
    assert c.read == 240 and c.invalid == 2
    assert c.read == (c.invalid + c.filtered_out + c.unusable + c.duplicates_removed
                      + c.not_sampled + c.written)
    assert c.written == sum(o.records for o in result.outputs)


def test_counts_match_an_independent_loop(logs: Path, tmp_path: Path) -> None:
    result = run(logs, tmp_path / "chat.jsonl", format="openai-chat",
                 where="feedback_rating <= 2", dedup="exact")
    kept = [r for r in _valid(logs) if r["feedback_rating"] <= 2]
    usable = [r for r in kept if r["response"] is not None]
    seen, unique = set(), 0
    for r in usable:
        key = (" ".join(r["prompt"].lower().split()), " ".join(r["response"].lower().split()))
        unique += key not in seen
        seen.add(key)
    c = result.counts
    assert (c.filtered_out, c.unusable, c.duplicates_removed, c.written) == (
        238 - len(kept), len(kept) - len(usable), len(usable) - unique, unique)


# ---------------------------------------------------------------- formats read back

CHAT_LINE_SCHEMA = {
    "type": "object", "required": ["messages"], "additionalProperties": False,
    "properties": {"messages": {"type": "array", "minItems": 2, "items": {
        "type": "object", "required": ["role", "content"], "additionalProperties": False,
        "properties": {"role": {"enum": ["system", "user", "assistant"]},
                       "content": {"type": "string", "minLength": 1}}}}},
}  # fmt: skip


def test_jsonl_from_genailog_jsonl_is_each_record_as_logged(logs: Path, tmp_path: Path) -> None:
    """Whatever path the export takes (streaming, or a table and a second read), a valid
    record's output line is its input line, byte for byte."""
    lines = logs.read_bytes().splitlines()
    valid = [line for i, line in enumerate(lines) if i not in (5, 17)]
    run(logs, tmp_path / "all.jsonl")
    assert (tmp_path / "all.jsonl").read_bytes().splitlines() == valid
    run(logs, tmp_path / "some.jsonl", where="feedback_rating <= 2")
    kept = [line for line in valid if json.loads(line)["feedback_rating"] <= 2]
    assert (tmp_path / "some.jsonl").read_bytes().splitlines() == kept


def test_canonical_jsonl_keeps_records_json_values_and_user_fields(logs: Path,
                                                                   tmp_path: Path) -> None:
    """With --fields (as with inputs that have no lines to copy), records are written
    canonically: null fields left out, timestamps in UTC."""
    out = tmp_path / "all.jsonl"
    names = sorted({k for r in _valid(logs) for k in r})
    run(logs, out, fields=tuple(names))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    source = _valid(logs)
    assert len(lines) == len(source)
    for got, want in zip(lines, source, strict=True):
        assert got == {k: v for k, v in want.items() if v is not None}
        assert got["timestamp"].endswith("Z")


def test_openai_chat_lines_pass_the_schema(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    result = run(logs, out, format="openai-chat")
    lines = out.read_text(encoding="utf-8").splitlines()
    for line in lines:
        example = json.loads(line)
        jsonschema.validate(example, CHAT_LINE_SCHEMA)
        assert example["messages"][-1]["role"] == "assistant"
    no_response = sum(r["response"] is None for r in _valid(logs))
    assert result.counts.unusable == no_response and len(lines) == 238 - no_response
    system = {"role": "system", "content": "You are a support assistant."}
    with_system = [r for r in _valid(logs) if r.get("system_prompt") and r["response"]]
    assert sum(json.loads(x)["messages"][0] == system for x in lines) == len(with_system)


def test_openai_evals_lines(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "evals.jsonl"
    run(logs, out, format="openai-evals")
    for line in out.read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        assert set(sample) == {"input", "ideal"}
        assert sample["input"][-1]["role"] == "user" and sample["ideal"].startswith("Answer")


def test_promptfoo_tests_file_is_yaml_promptfoo_reads(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "tests.yaml"
    run(logs, out, format="promptfoo", fields=("tenant",))
    tests = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert isinstance(tests, list) and len(tests) == 238 - sum(
        r["response"] is None for r in _valid(logs))
    for test in tests:
        bad = "judged_bad" in test["metadata"]  # no assertion from an answer judged bad
        assert set(test) == ({"vars", "metadata"} if bad else {"vars", "assert", "metadata"})
        assert test["vars"]["prompt"].startswith("Customer asks")
        assert test["vars"]["tenant"] in ("acme", "initech")
        assert bad or test["assert"][0]["type"] == "similar" and test["assert"][0]["value"]
        assert test["metadata"]["model"] in MODELS
    assert 0 < sum("judged_bad" in t["metadata"] for t in tests) < len(tests)


def test_csv_reads_back_with_the_csv_module(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    run(logs, out, fields=("timestamp", "model", "prompt", "feedback_rating", "metadata"))
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    source = _valid(logs)
    assert len(rows) == len(source)
    for row, want in zip(rows, source, strict=True):
        assert row["prompt"] == want["prompt"] and row["model"] == want["model"]
        assert float(row["feedback_rating"]) == want["feedback_rating"]
        assert json.loads(row["metadata"]) == want["metadata"]
        assert row["timestamp"] == want["timestamp"]


def test_parquet_reads_back_with_pyarrow_and_polars(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.parquet"
    run(logs, out)
    table = pq.read_table(out)
    frame = pl.read_parquet(out)
    source = _valid(logs)
    assert table.num_rows == frame.height == len(source)
    assert frame["prompt"].to_list() == [r["prompt"] for r in source]
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert [json.loads(m) for m in frame["metadata"]] == [r["metadata"] for r in source]
    assert table.column("tenant").to_pylist() == [r["tenant"] for r in source]


# ---------------------------------------------------------------- CSV formula injection

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_cells_are_neutralized_numbers_are_not(tmp_path: Path) -> None:
    records = [{"timestamp": "2025-12-01T00:00:00Z", "model": "m", "prompt": p,
                "delta": -1 if i == 0 else i, "score": -0.5}
               for i, p in enumerate(['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)",
                                      "\tcmd", "\rcmd", "plain = text", "safe"])]
    logs = write_jsonl(tmp_path / "f.jsonl", records)
    out = tmp_path / "f.csv"
    result = run(logs, out, fields=("prompt", "delta", "score"))
    assert result.counts.written == len(records)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row, record in zip(rows, records, strict=True):
        assert not row["prompt"].startswith(DANGEROUS)
        assert row["prompt"].removeprefix("'") == record["prompt"]
    assert rows[-1]["prompt"] == "safe" and rows[-2]["prompt"] == "plain = text"
    assert rows[0]["delta"] == "-1" and rows[0]["score"] == "-0.5"


# ---------------------------------------------------------------- reproducibility


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if "manifest" not in p.name}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv", "openai-chat", "promptfoo"])
def test_same_inputs_and_seed_give_identical_bytes(logs: Path, tmp_path: Path, fmt: str) -> None:
    options = {"format": fmt, "sample": 0.6, "stratify_by": "model", "dedup": "exact",
               "split": {"train": 0.8, "test": 0.2}, "redact": True, "seed": 7}
    run(logs, tmp_path / "a" / "d.out", **options)
    run(logs, tmp_path / "b" / "d.out", **options)
    first = _digests(tmp_path / "a")
    assert len(first) == 2 and first == _digests(tmp_path / "b")
    run(logs, tmp_path / "c" / "d.out", **{**options, "seed": 8})
    assert _digests(tmp_path / "c") != first


# ---------------------------------------------------------------- splits and sampling


def test_no_session_crosses_splits_and_strata_are_kept(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    result = run(logs, out, split={"train": 0.6, "val": 0.2, "test": 0.2},
                 stratify_by="model", seed=1)
    owner: dict[str, str] = {}
    sizes = {}
    for output in result.outputs:
        lines = (tmp_path / output.path).read_text(encoding="utf-8").splitlines()
        sizes[output.split] = len(lines)
        for record in map(json.loads, lines):
            session = record.get("session_id")
            if session is not None:
                assert owner.setdefault(session, output.split) == output.split
    assert sum(sizes.values()) == 238
    assert sizes["train"] > sizes["val"] and sizes["train"] > sizes["test"]


def test_stratified_sample_keeps_the_mix(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    run(logs, out, sample=60, stratify_by="model", seed=4)
    got = Counter(json.loads(x)["model"] for x in out.read_text(encoding="utf-8").splitlines())
    population = Counter(r["model"] for r in _valid(logs))
    assert sum(got.values()) == 60
    for model, count in population.items():
        assert abs(got[model] - count * 60 / 238) < 1


def test_near_dedup_removes_reworded_prompts(tmp_path: Path) -> None:
    base = "please summarise the attached support ticket about a late delivery and refund"
    prompts = [base, base + " thanks", base.upper(), "write a haiku about the sea", base + "!!"]
    records = [{"timestamp": "2025-12-01T00:00:00Z", "model": "m", "prompt": p,
                "response": f"r{i}"} for i, p in enumerate(prompts)]
    logs = write_jsonl(tmp_path / "n.jsonl", records)
    exact = run(logs, tmp_path / "e.jsonl", dedup="exact")
    near = run(logs, tmp_path / "n2.jsonl", dedup="near")
    looser = run(logs, tmp_path / "n3.jsonl", dedup="near", near_threshold=0.85)
    assert exact.counts.duplicates_removed == 0  # responses differ
    assert near.counts.duplicates_removed == 2  # case and punctuation only: cosine 1.0
    assert looser.counts.duplicates_removed == 3  # "... thanks": cosine 0.88 here
    kept = [json.loads(x)["prompt"] for x in (tmp_path / "n3.jsonl").read_text().splitlines()]
    assert kept == [base, "write a haiku about the sea"]


# ---------------------------------------------------------------- safety and errors


def test_existing_output_is_not_overwritten(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError):
        run(logs, out)
    assert out.read_text(encoding="utf-8") == "keep me"
    run(logs, out, overwrite=True)
    assert out.read_text(encoding="utf-8") != "keep me"


def test_outputs_get_the_usual_file_mode(logs: Path, tmp_path: Path) -> None:
    """Written through a temporary file (created 0600), yet readable like any new file;
    a replaced file keeps its mode."""
    old = os.umask(0o022)
    try:
        run(logs, tmp_path / "d.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "d.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d.manifest.json").stat().st_mode) == 0o644
    (tmp_path / "d.csv").chmod(0o600)
    run(logs, tmp_path / "d.csv", overwrite=True)
    assert stat.S_IMODE((tmp_path / "d.csv").stat().st_mode) == 0o600


def test_bad_where_is_a_usage_error(logs: Path, tmp_path: Path) -> None:
    with pytest.raises(ExpressionError):
        run(logs, tmp_path / "d.jsonl", where="no_such_field = 1")
    assert not list(tmp_path.glob("d*"))


def test_manifest_records_inputs_options_and_outputs(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    result = run(logs, out, redact=True, seed=3, split={"train": 0.5, "test": 0.5})
    manifest = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    schema = json.loads((schemas_dir() / "export-manifest.schema.json").read_text())
    jsonschema.validate(manifest, schema)
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(logs.read_bytes()).hexdigest()
    assert manifest["inputs"][0]["records"] == 238 and manifest["inputs"][0]["invalid"] == 2
    for entry in manifest["outputs"]:
        data = (tmp_path / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["counts"] == result.counts.to_dict() and manifest["seed"] == 3


# ---------------------------------------------------------------- CLI


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("sampled", [True, False])  # the table path, the streaming path
def test_cli_json_matches_library_and_schema(logs: Path, tmp_path: Path, sampled: bool) -> None:
    sample = ["--sample", "50", "--seed", "2"] if sampled else []
    cli = _cli("export-dataset", str(logs), "--out", str(tmp_path / "cli" / "d.jsonl"),
               "--on-invalid", "skip", "--redact", *sample, "--format", "json")
    assert cli.exit_code == 0, cli.output
    data = json.loads(cli.stdout)
    jsonschema.validate(data, load_output_schema("export-dataset"))
    options: dict[str, Any] = {"sample": 50, "seed": 2} if sampled else {}
    lib = run(logs, tmp_path / "lib" / "d.jsonl", redact=True, **options).to_dict()
    for key in ("counts", "redaction", "format", "skipped_invalid", "input"):
        assert data[key] == lib[key]
    assert [o["sha256"] for o in data["outputs"]] == [o["sha256"] for o in lib["outputs"]]


def test_cli_exit_codes(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    ok = _cli("export-dataset", str(logs), "--out", str(out), "--on-invalid", "skip")
    assert ok.exit_code == 0, ok.output
    assert "240 read = 2 invalid + 0 filtered out" in ok.stdout and "238 written" in ok.stdout
    again = _cli("export-dataset", str(logs), "--out", str(out), "--on-invalid", "skip")
    assert again.exit_code == 4, again.output
    bad = _cli("export-dataset", str(logs), "--out", str(tmp_path / "x.jsonl"),
               "--on-invalid", "skip", "--where", "model ===")
    assert bad.exit_code == 2, bad.output
    invalid = _cli("export-dataset", str(logs), "--out", str(tmp_path / "y.jsonl"))
    assert invalid.exit_code == 3, invalid.output
    sample = _cli("export-dataset", str(logs), "--out", str(tmp_path / "z.jsonl"),
                  "--on-invalid", "skip", "--sample", "1.5")
    assert sample.exit_code == 2, sample.output


def test_redact_command_keeps_the_input_format(tmp_path: Path) -> None:
    records = [{"timestamp": "2025-12-01T00:00:00Z", "model": "m",
                "prompt": "mail me at a.b@example.com", "note": "call 415-555-0132"}]
    logs = write_jsonl(tmp_path / "r.jsonl", records)
    out = tmp_path / "r.redacted.jsonl"
    cli = _cli("redact", str(logs), "--out", str(out), "--format", "json")
    assert cli.exit_code == 0, cli.output
    data = json.loads(cli.stdout)
    jsonschema.validate(data, load_output_schema("redact"))
    assert data["redaction"]["counts"]["EMAIL"] == 1 and data["redaction"]["counts"]["PHONE"] == 1
    lib = redact_logs([str(logs)], tmp_path / "lib.jsonl").to_dict()
    assert {k: v for k, v in lib.items() if k != "output"} == {
        k: v for k, v in data.items() if k != "output"}
    assert lib["output"]["sha256"] == data["output"]["sha256"]
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["prompt"] == "mail me at <EMAIL_1>" and record["note"] == "call <PHONE_1>"
    parquet_in = tmp_path / "r.parquet"
    pl.read_ndjson(io.BytesIO(logs.read_bytes())).write_parquet(parquet_in)
    kept = _cli("redact", str(parquet_in), "--out", str(tmp_path / "p.parquet"),
                "--keep-fields", "note")
    assert kept.exit_code == 0, kept.output
    frame = pl.read_parquet(tmp_path / "p.parquet")
    assert frame["prompt"][0] == "mail me at <EMAIL_1>" and frame["note"][0] == "call 415-555-0132"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 30)), min_size=8, max_size=120),
    st.sampled_from([None, 2, 3]),
    st.integers(0, 10_000),
)
def test_split_parts_never_share_a_group(
    sessions: list[int | None], strata: int | None, seed: int
) -> None:
    groups = group_ids(sessions)
    assume(len(set(groups.tolist())) >= 10)
    labels = [g % strata for g in groups.tolist()] if strata else None
    assume(labels is None or max(Counter(labels).values()) >= 5)  # else a UsageError
    parts = split_parts([0.8, 0.2], groups, labels, seed)
    for group in set(groups.tolist()):
        assert len(set(parts[groups == group].tolist())) == 1
    assert set(parts.tolist()) <= {0, 1}


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200), st.integers(1, 250), st.integers(0, 99))
def test_sample_size_and_seed(n: int, k: int, seed: int) -> None:
    labels = [i % 3 for i in range(n)]
    first = sample_indices(n, k, labels, seed)
    assert len(first) == min(n, k) and len(set(first.tolist())) == len(first)
    assert (first == sample_indices(n, k, labels, seed)).all()


_TRICKY = st.lists(st.sampled_from([*'ab,:"\\{}\n\té', ',"prompt":null', '"extra":null']),
                   max_size=12).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={
    "prompt": st.one_of(st.none(), _TRICKY), "response": _TRICKY,
    "input_tokens": st.integers(0, 10**6), "metadata": st.dictionaries(_TRICKY, _TRICKY,
                                                                        max_size=2),
    "tags": st.lists(_TRICKY, max_size=2), "extra": st.one_of(st.none(), _TRICKY),
}), min_size=1, max_size=8))
def test_jsonl_lines_round_trip_without_nulls(fields: list[dict[str, Any]]) -> None:
    records = [{"timestamp": "2025-12-01T10:00:00Z", "model": "m", **f} for f in fields]
    frame, json_cols = canonical_frame(records)
    lines = jsonl_lines(frame, frozenset(json_cols | JSON_TEXT_COLUMNS))
    for line, record in zip(lines, records, strict=True):
        assert json.loads(line) == {k: v for k, v in record.items() if v is not None}
    sub = frame.select("prompt", "response", "input_tokens")  # first field may be null
    for line, record in zip(jsonl_lines(sub, frozenset()), records, strict=True):
        want = {k: record.get(k) for k in ("prompt", "response", "input_tokens")}
        assert json.loads(line) == {k: v for k, v in want.items() if v is not None}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from([*"=+-@\t\r\n a,\"'1"]), max_size=8),
                min_size=1, max_size=10))
def test_no_csv_cell_starts_a_formula(cells: list[str]) -> None:
    frame = pl.DataFrame({"text": cells, "n": list(range(-len(cells), 0))})
    buffer = io.StringIO(csv_frame(frame, frozenset()).write_csv(quote_style="non_numeric"))
    rows = list(csv.DictReader(buffer))
    for row, cell, number in zip(rows, cells, frame["n"], strict=True):
        assert not row["text"].startswith(DANGEROUS)
        assert row["text"] == (("'" + cell) if cell.startswith(DANGEROUS) else cell)
        assert int(row["n"]) == number


def test_redaction_reaches_every_format(tmp_path: Path) -> None:
    records = [{"timestamp": "2025-12-01T00:00:00Z", "model": "m", "session_id": "s1",
                "system_prompt": "Agent for ana@example.com", "prompt": "I am ana@example.com",
                "response": "Hi, we will call +44 20 7946 0958.",
                "metadata": {"to": "ana@example.com"}}]
    logs = write_jsonl(tmp_path / "p.jsonl", records)
    for fmt in ("jsonl", "openai-chat", "openai-evals", "promptfoo", "csv"):
        out = tmp_path / fmt / f"out.{fmt}"
        run(logs, out, format=fmt, redact=True)
        text = out.read_text(encoding="utf-8")
        assert "ana@example.com" not in text and "7946" not in text, fmt
        assert "<EMAIL_1>" in text and "<PHONE_1>" in text, fmt
    run(logs, tmp_path / "out.parquet", redact=True)
    row = pl.read_parquet(tmp_path / "out.parquet").row(0, named=True)
    assert (row["prompt"], json.loads(row["metadata"])) == ("I am <EMAIL_1>", {"to": "<EMAIL_1>"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=4), st.integers())
def test_example_lines_encode_like_json_dumps(texts: list[str], number: int) -> None:
    """Example lines are encoded by msgspec; the bytes must be what the json module writes
    (compact, non-ASCII kept), control characters, quotes and U+2028 included. They hold
    text, integers and promptfoo's 0.8 (msgspec writes 1e16 where json writes 1e+16)."""
    from genailog.dataset.writers import _dumps

    value = {"messages": [{"role": "user", "content": t} for t in texts], "n": number,
             "threshold": 0.8}
    assert _dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


BLANKS = ["", " ", "\t\n", "\x1c", "\x1f", "\u2028", "\u3000", "\x85", "\xa0", "\u200b"]
TEXTS = st.one_of(st.none(), st.sampled_from(BLANKS), st.text(max_size=6),
                  st.sampled_from(["hi", " ok ", "\x1cx"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "prompt": TEXTS, "response": TEXTS, "system_prompt": TEXTS,
    "messages": st.one_of(st.none(), st.just([]), st.lists(st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool"]),
         "content": TEXTS}), min_size=1, max_size=3)),
}), min_size=1, max_size=12))
def test_usable_mask_agrees_with_conversation(records: list[dict[str, Any]]) -> None:
    """Records without messages are judged in polars: the verdicts must be exactly those of
    the Python rule, exotic whitespace included."""
    from genailog.dataset.writers import conversation, usable_mask

    frame, _ = canonical_frame([{"timestamp": "2025-12-01T00:00:00Z", "model": "m", **r}
                                for r in records])
    want = [conversation(m, s, p, r) is not None for m, s, p, r in frame.select(
        "messages", "system_prompt", "prompt", "response").iter_rows()]
    assert usable_mask(frame, "openai-chat").to_list() == want


def test_not_blank_pattern_matches_python_whitespace_on_every_code_point() -> None:
    from genailog.dataset.writers import _NOT_BLANK

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    kept = pl.Series(chars).str.contains(_NOT_BLANK).to_list()
    assert [c for c, k in zip(chars, kept, strict=True) if k == c.isspace()] == []


# ---------------------------------------------------------------- one pipeline (issue 12)


def test_the_writer_registry_holds_every_dataset_format() -> None:
    from genailog.cli.export import DatasetFormat
    from genailog.dataset.writers import FORMATS, WRITERS

    assert tuple(WRITERS) == FORMATS == tuple(f.value for f in DatasetFormat)


def test_a_split_named_manifest_is_refused_before_anything_is_written(logs: Path,
                                                                     tmp_path: Path) -> None:
    for out in (tmp_path / "d.json", tmp_path / "d.jsonl"):
        with pytest.raises(UsageError, match="manifest"):
            run(logs, out, split={"train": 0.5, "manifest": 0.5})
    assert list(tmp_path.iterdir()) == [logs]
    cli = _cli("export-dataset", str(logs), "--out", str(tmp_path / "d.json"),
               "--on-invalid", "skip", "--split", "train=0.5,manifest=0.5")
    assert cli.exit_code == 2, cli.output
    assert list(tmp_path.iterdir()) == [logs]


@pytest.mark.parametrize("options", [{}, {"sample": 100}, {"dataset_format": "csv"}])
def test_counts_that_do_not_balance_stop_the_manifest(logs: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      options: dict[str, Any]) -> None:
    """A record lost between steps is a bug: the export fails (exit 70) and no manifest
    claims the counts balance. Each path loses one record here: the streamed one, the
    selected one, a table writer."""
    check = export_mod.Counts.check

    def lose_one(self: export_mod.Counts) -> None:
        self.written -= 1
        check(self)

    monkeypatch.setattr(export_mod.Counts, "check", lose_one)
    fmt = options.pop("dataset_format", None)
    out = tmp_path / ("d.csv" if fmt else "d.jsonl")
    with pytest.raises(UnbalancedCounts):
        run(logs, out, **options)
    assert not manifest_path(out).exists()
    monkeypatch.setattr(export_mod.Counts, "check", check)
    assert run(logs, out, overwrite=True, **options).counts.balanced()


def test_redact_is_the_export_pipeline_without_a_manifest(logs: Path, tmp_path: Path) -> None:
    exported = run(logs, tmp_path / "e.jsonl", redact=True)
    redacted = redact_logs([str(logs)], tmp_path / "r.jsonl", on_invalid="skip")
    assert (tmp_path / "r.jsonl").read_bytes() == (tmp_path / "e.jsonl").read_bytes()
    assert redacted.redaction.to_dict() == exported.redaction.to_dict()
    assert redacted.records == exported.counts.written
    assert not manifest_path(tmp_path / "r.jsonl").exists()


def test_dataset_format_option_and_the_deprecated_spellings(logs: Path, tmp_path: Path) -> None:
    new = _cli("export-dataset", str(logs), "--out", str(tmp_path / "a.jsonl"),
               "--on-invalid", "skip", "--dataset-format", "openai-chat", "--format", "json")
    assert new.exit_code == 0, new.output
    assert json.loads(new.stdout)["format"] == "openai-chat"
    assert "deprecated" not in new.stderr
    old = _cli("export-dataset", str(logs), "--out", str(tmp_path / "b.jsonl"),
               "--on-invalid", "skip", "--format", "openai-chat", "--report-format", "json")
    assert old.exit_code == 0, old.output
    assert json.loads(old.stdout)["format"] == "openai-chat"
    assert "--dataset-format openai-chat" in old.stderr and "--format json" in old.stderr
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    clash = _cli("export-dataset", str(logs), "--out", str(tmp_path / "c.jsonl"),
                 "--format", "csv", "--dataset-format", "jsonl")
    assert clash.exit_code == 2, clash.output
    unknown = _cli("export-dataset", str(logs), "--out", str(tmp_path / "c.jsonl"),
                   "--format", "xml")
    assert unknown.exit_code == 2 and "--dataset-format" in unknown.stderr
    assert not (tmp_path / "c.jsonl").exists()
    table = _cli("redact", str(logs), "--out", str(tmp_path / "r.jsonl"), "--on-invalid", "skip",
                 "--format", "table")
    assert table.exit_code == 0 and "wrote 238 records" in table.stdout, table.output


def test_a_failed_write_leaves_no_temporary_file_nor_half_a_split(
        logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every exit path removes the temporary files: here a writer fails half-way through
    the second part of a split, and the first part, already written, goes too."""
    from genailog.dataset import writers

    real = writers.write_jsonl
    calls: list[int] = []

    def fail_on_second(frame: pl.DataFrame, path: Path, *args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            with writers.atomic_writer(path, "wb", overwrite=True) as handle:
                handle.write(b"half")
                raise OSError(28, "No space left on device")
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(writers, "write_jsonl", fail_on_second)
    with pytest.raises(Exception, match="space"):
        run(logs, tmp_path / "d.jsonl", fields=("model", "prompt"),
            split={"train": 0.5, "test": 0.5})
    assert list(tmp_path.iterdir()) == [logs]


def test_sigterm_during_an_export_removes_its_temporary_file(tmp_path: Path) -> None:
    """kill (SIGTERM) unwinds like Ctrl-C: exit 130, and the output's temporary file is
    gone (SIGKILL cannot be caught; see docs/export-dataset.md)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from genailog.cli import export
        from genailog.outputs import atomic_writer
        with export._sigterm_unwinds():
            try:
                with atomic_writer(Path({str(tmp_path / "out.jsonl")!r}), "wb") as handle:
                    handle.write(b"partial")
                    os.kill(os.getpid(), signal.SIGTERM)
                    signal.pause()
            except KeyboardInterrupt:
                raise SystemExit(130)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert list(tmp_path.iterdir()) == []
