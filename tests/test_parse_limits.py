"""The fast reader applies the whole parse-level list (issue 13's leftovers).

Duplicate keys, nesting between 65 and about 900 levels inside ``metadata`` or a message's
``content`` list, and integers beyond 64 bits inside ``content`` used to pass the bundled
fast reader while ``validate --schema`` rejected them. Validity is a property of the
record: every way of reading a file must set aside the same lines, with the same counts.
The reference is ``validate --schema`` with the bundled schema, which judges every line by
jsonschema plus :mod:`genailog.schema.limits` (the exact parser).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import base_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.ingest import read_logs
from genailog.ingest.validate import validate
from genailog.schema import load_record_schema
from genailog.schema.duplicates import has_duplicate, written_members

runner = CliRunner()
STAMP = "2025-12-26T10:00:12Z"
GOOD = json.dumps(base_record(input_tokens=10, output_tokens=5))
HEAD = f'"timestamp":"{STAMP}","model":"m"'


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


#: Each is line 2 of a file between two good records; every one is invalid.
INVALID = {
    "the issue's repeated model": f'{{{HEAD},"model":"b"}}',
    "repeated field, first null": f'{{{HEAD},"provider":null,"provider":"x"}}',
    "repeated field, last null": f'{{{HEAD},"provider":"x","provider":null}}',
    "repeated equal values": f'{{{HEAD},"input_tokens":3,"input_tokens":3}}',
    "repeated key in metadata": f'{{{HEAD},"metadata":{{"k":1,"k":2}}}}',
    "repeated key inside a metadata value": f'{{{HEAD},"metadata":{{"k":{{"x":1,"x":1}}}}}}',
    "repeated key in a content part":
        f'{{{HEAD},"messages":[{{"role":"user","content":[{{"type":"a","type":"b"}}]}}]}}',
    "repeated role": f'{{{HEAD},"messages":[{{"role":"user","role":"user"}}]}}',
    "repeated extra key of a message":
        f'{{{HEAD},"messages":[{{"role":"user","name":"a","name":"b"}}]}}',
    "repeated key in a retrieval doc": f'{{{HEAD},"retrieval_docs":[{{"id":"a","id":"b"}}]}}',
    "repeated score": f'{{{HEAD},"eval_scores":{{"f":1,"f":0.5}}}}',
    "repeated moderation flag": f'{{{HEAD},"moderation_flags":{{"x":true,"x":false}}}}',
    "repeated key in a user field": f'{{{HEAD},"case":{{"a":1,"a":1}}}}',
    "repeated user field": f'{{{HEAD},"case":1,"case":2}}',
    "repeated key after escaped quotes": f'{{{HEAD},"prompt":"say \\":\\" ok","k\\\\":1,'
                                         '"k\\\\":2}',
    "repeated key written with spaces": f'{{{HEAD}, "metadata" : {{"k" : 1, "k" : 2}}}}',
    "metadata nested 70 deep": f'{{{HEAD},"metadata":{{"k":{_deep(70)}}}}}',
    "metadata nested 63 deep (level 65)": f'{{{HEAD},"metadata":{{"k":{_deep(63)}}}}}',
    "metadata nested 900 deep": f'{{{HEAD},"metadata":{{"k":{_deep(900)}}}}}',
    "content nested 62 deep (level 65)":
        f'{{{HEAD},"messages":[{{"role":"user","content":{_deep(62)}}}]}}',
    "content nested 800 deep":
        f'{{{HEAD},"messages":[{{"role":"user","content":{_deep(800)}}}]}}',
    "2**70 in a content part":
        f'{{{HEAD},"messages":[{{"role":"user","content":[{{"n":{2**70}}}]}}]}}',
    "2**63 in a float field (msgspec reads it as a float)": f'{{{HEAD},"latency_ms":{2**63}}}',
    "2**64 in an embedding": f'{{{HEAD},"embedding":[0.5,{2**64}]}}',
    "-2**63-1 in a score": f'{{{HEAD},"eval_scores":{{"f":{-(2**63) - 1}}}}}',
    "-2**63-1 in a content list":
        f'{{{HEAD},"messages":[{{"role":"user","content":[{-(2**63) - 1}]}}]}}',
    "10**20 in a document's score": f'{{{HEAD},"retrieval_docs":[{{"id":"d","score":{10**20}}}]}}',
    "2**64 as a document's label": f'{{{HEAD},"retrieval_docs":[{{"id":"d","relevant":{2**64}}}]}}',
    "2**63 in a moderation score": f'{{{HEAD},"moderation_flags":{{"hate":{2**63}}}}}',
    "-2**63-1 as a rating": f'{{{HEAD},"feedback_rating":{-(2**63) - 1}}}',
    "10**20 as a cost": f'{{{HEAD},"cost_usd":{10**20}}}',
}

#: Lookalikes that are valid: the checks must not touch them.
VALID = {
    "escaped quote before a colon in text": f'{{{HEAD},"prompt":"say \\": no","k\\\\":1}}',
    "spaces around colons": f'{{ "timestamp" : "{STAMP}" , "model" : "m" , '
                            '"metadata" : { "k" : { "a" : 1 } } }',
    "a message's own keys": f'{{{HEAD},"messages":[{{"role":"user","name":"a",'
                            '"tool_call_id":"b"}]}',
    "same key at different depths": f'{{{HEAD},"metadata":{{"model":{{"model":1}}}},'
                                    '"case":{"case":{"case":2}}}',
    "metadata nested 62 deep (level 64)": f'{{{HEAD},"metadata":{{"k":{_deep(62)}}}}}',
    "content nested 61 deep (level 64)":
        f'{{{HEAD},"messages":[{{"role":"user","content":{_deep(61)}}}]}}',
    "2**63-1 in a content part":
        f'{{{HEAD},"messages":[{{"role":"user","content":[{{"n":{2**63 - 1}}}]}}]}}',
    "2**63-1 and 1e19 in float fields": f'{{{HEAD},"latency_ms":{2**63 - 1},"cost_usd":1e19}}',
    "1e20, -1e19 and whole numbers in scores, labels and embeddings":
        f'{{{HEAD},"feedback_rating":-1e19,"eval_scores":{{"f":1e20,"g":3}},'
        '"embedding":[1,2.5,-3],"moderation_flags":{"hate":1e300,"spam":0},'
        '"retrieval_docs":[{"id":"d","score":7,"relevant":2}]}',
    "explicit nulls everywhere": f'{{{HEAD},"provider":null,"metadata":{{"a":null}},'
                                 '"messages":[{"role":"user","content":null}],'
                                 '"retrieval_docs":[{"id":null}]}',
}


def _file(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _verdicts(path: Path) -> dict[str, Any]:
    """The lines each way of reading sets aside, and what summarize skips."""
    logs = read_logs([path], on_invalid="skip", require_calls=False)
    cli = runner.invoke(app, ["summarize", str(path), "--on-invalid", "skip",
                              "--format", "json"])
    return {
        "validate": [r.line for r in validate([path]).invalid_records],
        "validate --schema": [r.line for r in validate(
            [path], schema=load_record_schema()).invalid_records],
        "read_logs": [r.line for r in logs.report.invalid],
        "rows": logs.collect().height,
        "summarize skipped": (json.loads(cli.stdout)["skipped_records"]
                              if cli.exit_code == 0 else cli.output[-300:]),
    }


@pytest.mark.parametrize("name", sorted(INVALID))
def test_every_reader_rejects_the_line(tmp_path: Path, name: str) -> None:
    seen = _verdicts(_file(tmp_path / "r.jsonl", GOOD, INVALID[name], GOOD))
    assert seen == {"validate": [2], "validate --schema": [2], "read_logs": [2], "rows": 2,
                    "summarize skipped": 1}, seen


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_reader_keeps_the_lookalike(tmp_path: Path, name: str) -> None:
    seen = _verdicts(_file(tmp_path / "r.jsonl", GOOD, VALID[name], GOOD))
    assert seen == {"validate": [], "validate --schema": [], "read_logs": [], "rows": 3,
                    "summarize skipped": 0}, seen


def test_the_message_names_the_repeated_key(tmp_path: Path) -> None:
    path = _file(tmp_path / "r.jsonl", GOOD, INVALID["the issue's repeated model"])
    assert 'duplicate key "model"' in validate([path]).invalid_records[0].message


def test_a_duplicate_in_a_large_chunk_is_found_among_clean_lines(tmp_path: Path) -> None:
    """The counts are compared per chunk first: one repeated key among thousands of clean
    records (with escaped quotes and nested values) is still found, at its line."""
    clean = [json.dumps(base_record(input_tokens=i, prompt=f'say "{i}": ok',
                                    metadata={"n": {"i": i}})) for i in range(3000)]
    clean[1234] = clean[1234][:-1] + ',"prompt":"again"}'
    path = _file(tmp_path / "big.jsonl", *clean)
    assert [r.line for r in validate([path]).invalid_records] == [1235]
    assert [r.line for r in read_logs([path], on_invalid="skip").report.invalid] == [1235]


# ----------------------------------------------------------- properties

_KEYS = st.sampled_from(["a", "b", "k\\", 'q"', "x:y", " ", "é"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(alphabet='a":\\ {}[],é', max_size=6))


def _tree(depth: int) -> st.SearchStrategy[Any]:
    """JSON values whose objects are lists of (key, value) pairs: keys may repeat."""
    if depth == 0:
        return _SCALARS
    inner = _tree(depth - 1)
    return st.one_of(_SCALARS, st.lists(inner, max_size=3).map(lambda v: ("list", v)),
                     st.lists(st.tuples(_KEYS, inner), max_size=3).map(lambda p: ("obj", p)))


def _dump(value: Any, space: str) -> str:
    if isinstance(value, tuple) and value[0] == "list":
        return "[" + ("," + space).join(_dump(v, space) for v in value[1]) + "]"
    if isinstance(value, tuple):
        return "{" + ("," + space).join(f"{json.dumps(k)}{space}:{space}{_dump(v, space)}"
                                        for k, v in value[1]) + "}"
    return json.dumps(value, ensure_ascii=False)


def _pairs(text: str) -> int:
    count = 0

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal count
        count += len(pairs)
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return count


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_tree(3), min_size=1, max_size=5), space=st.sampled_from(["", " "]))
def test_members_counted_on_the_bytes_equal_the_parsers_pairs(values: list[Any],
                                                              space: str) -> None:
    lines = [_dump(v, space) for v in values]
    assert written_members("\n".join(lines).encode(), len(lines)).tolist() == [
        _pairs(line) for line in lines]
    for line in lines:
        pairs = _pairs(line)
        assert has_duplicate(line.encode()) == (pairs != _distinct(json.loads(line)))


def _distinct(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_distinct(v) for v in value.values())
    if isinstance(value, list):
        return sum(_distinct(v) for v in value)
    return 0


_FIELDS = {
    "metadata": lambda t: ("obj", t[1]) if isinstance(t, tuple) and t[0] == "obj" else (
        "obj", [("v", t)]),
    "case": lambda t: t,
    "messages": lambda t: ("list", [("obj", [("role", "user"), ("content", t)])]),
    "eval_scores": lambda _: ("obj", [("f", 1), ("f", 0.5)]),
}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.sampled_from(sorted(_FIELDS)), _tree(3),
                                  st.booleans(), st.sampled_from(["", " "])),
                        min_size=1, max_size=6))
def test_fast_verdicts_equal_jsonschema_and_the_parse_level_list(
        tmp_path: Path, records: list[tuple[str, Any, bool, str]]) -> None:
    """Records with repeated keys at any depth, deep or wide values and big integers in
    metadata, message contents and user fields: the bundled reader (fast path) and
    ``--schema`` (jsonschema plus the parse-level list, line by line) set aside the same
    lines, and read_logs keeps the rest."""
    lines = []
    for field, value, repeat_model, space in records:
        pairs = [("timestamp", STAMP), ("model", "m"), (field, _FIELDS[field](value))]
        if repeat_model:
            pairs.append(("model", "m"))
        lines.append(_dump(("obj", pairs), space))
    path = _file(tmp_path / "p.jsonl", *lines)
    fast = [r.line for r in validate([path]).invalid_records]
    exact = [r.line for r in validate([path], schema=load_record_schema()).invalid_records]
    assert fast == exact
    logs = read_logs([path], on_invalid="skip", require_calls=False)
    assert [r.line for r in logs.report.invalid] == fast


def test_text_prefixed_lines_take_the_same_checks(tmp_path: Path) -> None:
    """Canonical records behind Python logging prefixes go through the same fast reader
    (ingest/prefixed.py): a repeated key there is set aside at its line too."""
    repeated = INVALID["the issue's repeated model"]
    lines = [f"INFO:app:{GOOD}", f"INFO:app:{repeated}",
             "DEBUG:other:no record here", f"INFO:app:{GOOD}"]
    path = _file(tmp_path / "app.log", *lines)
    logs = read_logs([path], on_invalid="skip", require_calls=False)
    assert [r.line for r in logs.report.invalid] == [2]
    assert logs.collect().height == 2
    assert [r.line for r in validate([path]).invalid_records] == [2]


@pytest.mark.parametrize("key", ["k\\\\", 'q\\"', "tab\\t"])
def test_a_user_field_named_with_a_backslash_quote_or_control_is_read(tmp_path: Path,
                                                                       key: str) -> None:
    """msgspec cannot name a struct field with ``\\``, ``"`` or a control character: such a
    user field used to end validate with exit 70; the line is now read the exact way."""
    path = _file(tmp_path / "r.jsonl", GOOD, f'{{{HEAD},"{key}":1}}')
    result = runner.invoke(app, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 2
    assert read_logs([path]).collect().height == 2


def _one_per_line_by_loop(data: bytes) -> bool:
    """The reference: every line starts with ``{`` and ends with ``}``, no CR."""
    if not data or b"\r" in data:
        return False
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return bool(lines) and all(line[:1] == b"{" and line[-1:] == b"}" for line in lines)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from([b"{", b"}", b"\n", b"\r", b" ", b"a", b"{}", b"}\n{"]),
                      max_size=12))
def test_one_object_per_line_agrees_with_a_line_loop(parts: list[bytes]) -> None:
    from genailog.ingest.jsonl import one_object_per_line

    data = b"".join(parts)
    assert one_object_per_line(data) == _one_per_line_by_loop(data), data
