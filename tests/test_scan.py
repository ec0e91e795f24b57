"""The C scanner (genailog/_scan.c) vouches only for valid records, and reading with it
gives exactly what reading without it gives.

The scanner's promise is one-sided: a line it vouches for (verdict 0) is valid under the
exact parser (jsonschema plus :mod:`genailog.schema.limits`); anything else is handed on
to the Python readers. So the properties are (1) vouched-for lines are valid, on lines
built to probe every field's type, every parse-level rule and the JSON grammar's corners,
and (2) a chunk read with the scanner and without it yields the same frames, invalid
lines, JSON columns and user fields.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import require_or_skip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genailog.ingest import jsonl, scanner
from genailog.ingest.sources import Chunk
from genailog.schema.columns import SCALAR_COLUMNS
from genailog.schema.diagnose import diagnose
from genailog.schema.fastcheck import FIELD_NAMES, _Fields

ROOT = Path(__file__).resolve().parents[1]


def _valid(line: bytes) -> bool:
    return not diagnose(line, last_unterminated=False)[1]


def test_the_scanner_knows_the_twins_fields_in_order(compiled: Any) -> None:
    assert compiled.field_names() == tuple(_Fields.__struct_fields__)
    assert set(compiled.field_names()) == FIELD_NAMES


def test_the_sample_logs_are_vouched_for_line_by_line(compiled: Any) -> None:
    """The scanner is not trivially cautious: clean real-shaped records pass."""
    for path in sorted((ROOT / "sample_logs").glob("*.jsonl")):
        if path.name.endswith(".spans.jsonl"):
            continue  # spans, not records
        data = path.read_bytes()
        flags, _, _ = compiled.scan(data)
        assert len(flags) == data.count(b"\n")
        assert flags.count(1) == 0, (path, flags.index(1))


HEAD = '"timestamp":"2026-01-02T03:04:05Z","model":"m"'

#: Valid records the scanner hands on all the same (it does not judge these corners).
HANDED_ON_VALID = {
    "escaped key": f'{{{HEAD},"mod\\u0065l_x":1}}',
    "integer field written as 5.0": f'{{{HEAD},"input_tokens":5.0}}',
    "year 9999": '{"timestamp":"9999-01-01T00:00:00Z","model":"m"}',
    "ten fraction digits": '{"timestamp":"2026-01-01T00:00:00.0123456789Z","model":"m"}',
    "space after the end": f'{{{HEAD}}} ',
    "minus zero latency": f'{{{HEAD},"latency_ms":-0.0}}',
    # numbers the twin's checks look at twice (its exact path): handed on, so that the
    # frame's JSON text of metadata is the one that road writes
    "an exponent of 100 in metadata": f'{{{HEAD},"metadata":{{"":1e+100}}}}',
    "19 digits in metadata": f'{{{HEAD},"metadata":{{"n":1234567890123456789}}}}',
}

#: Invalid records, each for a different rule.
INVALID = {
    "duplicate field": f'{{{HEAD},"model":"n"}}',
    "duplicate user field": f'{{{HEAD},"a":1,"a":2}}',
    "duplicate key deep in metadata": f'{{{HEAD},"metadata":{{"k":[{{"x":1,"x":2}}]}}}}',
    "duplicate key in a message's extra member":
        f'{{{HEAD},"messages":[{{"role":"u","n":{{"q":1,"q":1}}}}]}}',
    "nested 70 deep": f'{{{HEAD},"metadata":{{"k":{"[" * 70 + "]" * 70}}}}}',
    "integer beyond 64 bits": f'{{{HEAD},"case":9223372036854775808}}',
    "negative integer beyond 64 bits": f'{{{HEAD},"case":-9223372036854775809}}',
    "infinite double": f'{{{HEAD},"latency_ms":1e400}}',
    "lone surrogate": f'{{{HEAD},"prompt":"\\ud800x"}}',
    "lone low surrogate": f'{{{HEAD},"prompt":"\\udc00"}}',
    "overlong UTF-8": b'{"timestamp":"2026-01-02T03:04:05Z","model":"m","prompt":"\xc0\xaf"}',
    "encoded surrogate":
        b'{"timestamp":"2026-01-02T03:04:05Z","model":"m","prompt":"\xed\xa0\x80"}',
    "raw control character": f'{{{HEAD},"prompt":"a\tb"}}',
    "February 30": '{"timestamp":"2026-02-30T00:00:00Z","model":"m"}',
    "February 29 of a common year": '{"timestamp":"2100-02-29T00:00:00Z","model":"m"}',
    "hour 24": '{"timestamp":"2026-01-01T24:00:00Z","model":"m"}',
    "offset hour 24": '{"timestamp":"2026-01-01T00:00:00+24:00","model":"m"}',
    "no offset": '{"timestamp":"2026-01-01T00:00:00","model":"m"}',
    "year 0000": '{"timestamp":"0000-01-01T00:00:00Z","model":"m"}',
    "space for T": '{"timestamp":"2026-01-01 00:00:00Z","model":"m"}',
    "empty model": '{"timestamp":"2026-01-01T00:00:00Z","model":""}',
    "no model": '{"timestamp":"2026-01-01T00:00:00Z"}',
    "null timestamp": '{"timestamp":null,"model":"m"}',
    "cached above input": f'{{{HEAD},"input_tokens":5,"cached_input_tokens":4,'
                          '"cache_write_tokens":2}',
    "negative count": f'{{{HEAD},"retries":-1}}',
    "negative cost": f'{{{HEAD},"cost_usd":-0.5}}',
    "zero sample rate": f'{{{HEAD},"sample_rate":0}}',
    "sample rate above one": f'{{{HEAD},"sample_rate":1.0000001}}',
    "unknown status": f'{{{HEAD},"status":"OK"}}',
    "unknown stage": f'{{{HEAD},"stage":"prod"}}',
    "bool as number": f'{{{HEAD},"feedback_rating":true}}',
    "string as count": f'{{{HEAD},"input_tokens":"5"}}',
    "message without role": f'{{{HEAD},"messages":[{{"content":"x"}}]}}',
    "null role": f'{{{HEAD},"messages":[{{"role":null}}]}}',
    "content as object": f'{{{HEAD},"messages":[{{"role":"u","content":{{}}}}]}}',
    "null score": f'{{{HEAD},"eval_scores":{{"f":null}}}}',
    "null in embedding": f'{{{HEAD},"embedding":[0.5,null]}}',
    "number tag": f'{{{HEAD},"tags":[1]}}',
    "number document": f'{{{HEAD},"retrieval_docs":[1]}}',
    "string flag value": f'{{{HEAD},"moderation_flags":{{"x":"yes"}}}}',
    "metadata as list": f'{{{HEAD},"metadata":[]}}',
    "NaN": f'{{{HEAD},"latency_ms":NaN}}',
    "leading zero": f'{{{HEAD},"retries":01}}',
    "trailing comma": f'{{{HEAD},}}',
    "two objects": f'{{{HEAD}}}{{{HEAD}}}',
    "array": "[]",
    "empty line": "",
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_every_invalid_line_is_handed_on(compiled: Any, name: str) -> None:
    line = INVALID[name]
    raw = line if isinstance(line, bytes) else line.encode()
    assert not _valid(raw), "the case itself must be invalid"
    assert compiled.scan(raw + b"\n")[0] == b"\x01"


@pytest.mark.parametrize("name", sorted(HANDED_ON_VALID))
def test_unusual_valid_lines_are_handed_on_and_read_the_same(compiled: Any, name: str) -> None:
    raw = HANDED_ON_VALID[name].encode()
    assert _valid(raw)
    assert compiled.scan(raw)[0] == b"\x01"
    _same_either_way([raw, f'{{{HEAD},"case":"x"}}'.encode()])


def test_user_fields_are_copied_for_vouched_lines_only(compiled: Any) -> None:
    lines = [f'{{{HEAD},"tenant":"a","n":[1,{{"b":null}}]}}', f'{{{HEAD}}}',
             f'{{{HEAD},"tenant":"b","model":"x"}}', f'{{{HEAD},"z" : 2.5 }}',
             f'{{{HEAD},"y":1}} ']
    flags, blob, _ = compiled.scan("\n".join(lines).encode())
    assert flags == b"\x00\x00\x01\x00\x01"
    assert json.loads(blob) == [{"tenant": "a", "n": [1, {"b": None}]}, {}, {}, {"z": 2.5},
                                {}]
    assert compiled.scan(f'{{{HEAD}}}\n'.encode()) == (b"\x00", None, b"")
    assert compiled.scan(b"") == (b"", None, b"")


# ----------------------------------------------------------- properties

_STAMPS = st.sampled_from([
    '"2026-01-02T03:04:05Z"', '"2024-02-29T23:59:59.999999+05:30"', '"2023-02-29T00:00:00Z"',
    '"2026-12-31t00:00:00z"', '"0001-01-01T00:00:00+01:00"', '"9999-12-31T23:59:59-01:00"',
    '"2026-01-02T03:04:05.123456789Z"', '"2026-01-02T03:04:05.Z"', '"2026-13-02T03:04:05Z"',
    '"2026-01-02T03:04:60Z"', '"2026-01-02T03:04:05+0100"', '"2026-01-02T03:04:05Z "',
    '"2026-04-31T00:00:00Z"', '"2026-01-00T00:00:00Z"', '1', 'null',
    '"\\u0032026-01-02T03:04:05Z"', '"2026-01-02T03:04:05-00:00"',
])
_NUMBERS = st.sampled_from([
    "0", "-0", "1", "-1", "0.0", "-0.0", "0.5", "1.0", "1", "2", "1e2", "1E-2", "1e400",
    "-1e400", "1e-400", "5e-324", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
    "123456789012345678901234567890.5", "1.7976931348623157e308", "01", "1.", ".5", "-",
    "1e+100", "1e-100", "1e099", "1234567890123456789", "123456789012345678.5",
    "+1", "0x10", "Infinity", "NaN", "true", "false", "null", '"1"', "[]", "{}",
])
_TEXTS = st.sampled_from([
    '""', '"a"', '"é ü \\" \\\\ \\/ \\b \\f \\n \\r \\t"', '"\\u00e9"', '"\\ud83d\\ude00"',
    '"\\ud83d"', '"\\ude00"', '"\\ud83dx"', '"\\x"', '"\\u12"', '"ok"', '"error"',
    '"training"', '"inference"', '"deployment"', '"o\\u006b"', "null", "1", "[]",
    '"\xf0\x9f\x98\x80"', '"a\x7fb"', '"' + "x" * 40 + '"',
])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_LEAF = st.one_of(_NUMBERS, _TEXTS)


def _nested(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return _LEAF
    inner = _nested(depth - 1)
    keys = st.sampled_from(['"a"', '"b"', '"role"', '"content"', '"id"', '"k\\u0041"', '""'])
    return st.one_of(
        _LEAF,
        st.lists(inner, max_size=3).map(lambda v: "[" + ",".join(v) + "]"),
        st.lists(st.tuples(keys, inner), max_size=3).map(
            lambda p: "{" + ",".join(f"{k}:{v}" for k, v in p) + "}"))


_ANY = _nested(3)

#: For each field, raw JSON values that probe its type (valid and not).
_FIELD_VALUES: dict[str, st.SearchStrategy[str]] = {
    "timestamp": _STAMPS,
    "messages": st.one_of(_ANY, st.lists(st.one_of(_ANY, st.tuples(
        st.sampled_from(['"role":"user"', '"role":null', '"role":1', ""]),
        st.sampled_from(['', ',"content":"x"', ',"content":null', ',"content":[1,{"a":2}]',
                         ',"content":{}', ',"extra":[1]', ',"role":"user"'])).map(
        lambda t: "{" + (t[0] + t[1]).lstrip(",") + "}")), max_size=3).map(
        lambda v: "[" + ",".join(v) + "]")),
    "retrieval_docs": st.one_of(_ANY, st.lists(st.one_of(_TEXTS, st.sampled_from([
        '{"id":"a","score":0.5}', '{"relevant":true}', '{"relevant":2}', '{"score":"x"}',
        '{"text":null,"source":"s","zz":[{}]}', '{"id":1}', '{"relevant":"yes"}'])),
        max_size=3).map(lambda v: "[" + ",".join(v) + "]")),
    "eval_scores": st.one_of(_ANY, st.lists(st.tuples(st.sampled_from(['"f"', '"g"']),
                                                      _NUMBERS), max_size=3).map(
        lambda p: "{" + ",".join(f"{k}:{v}" for k, v in p) + "}")),
    "moderation_flags": st.one_of(_ANY, st.lists(st.tuples(
        st.sampled_from(['"x"', '"y"']), st.one_of(_NUMBERS, _TEXTS)), max_size=3).map(
        lambda p: "{" + ",".join(f"{k}:{v}" for k, v in p) + "}"),
        st.lists(_TEXTS, max_size=3).map(lambda v: "[" + ",".join(v) + "]")),
    "embedding": st.one_of(_ANY, st.lists(_NUMBERS, max_size=4).map(
        lambda v: "[" + ",".join(v) + "]")),
    "tags": st.one_of(_ANY, st.lists(_TEXTS, max_size=3).map(lambda v: "[" + ",".join(v) + "]")),
    "metadata": _ANY,
}
_FIELD_NAMES = sorted(FIELD_NAMES)

# Values of the right type, in the ways JSON can write them, so that most generated lines
# are valid and the scanner's acceptance is exercised, not only its refusals.
_GOOD_TEXT = st.one_of(st.text(max_size=12).map(_json),
                       st.sampled_from(['"\\u00e9\\n"', '"\\ud83d\\ude00"', '"a\\/b"']))
_GOOD_COUNT = st.one_of(st.integers(0, 2**63 - 1).map(str), st.sampled_from(["0", "7"]))
_GOOD_FLOAT = st.floats(0, 1e300).map(repr).map(lambda r: r.replace("inf", "1"))
_GOOD_NUMBER = st.one_of(st.integers(-(2**63), 2**63 - 1).map(str),
                         st.floats(allow_nan=False, allow_infinity=False).map(repr),
                         st.sampled_from(["1e2", "-2.5E-3", "0.0", "-0"]))
_GOOD_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=5),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=6).map(_json)


def _listed(item: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(item, max_size=3).map(lambda v: "[" + ",".join(v) + "]")


def _keyed(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.dictionaries(st.text(max_size=4), value, max_size=3).map(
        lambda d: "{" + ",".join(f"{_json(k)}:{v}" for k, v in d.items()) + "}")


_GOOD: dict[str, st.SearchStrategy[str]] = {
    "timestamp": st.builds(
        lambda y, mo, d, h, mi, se, frac, zone: f'"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:'
        f'{se:02d}{frac}{zone}"', st.integers(2, 9998), st.integers(1, 12), st.integers(1, 28),
        st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
        st.sampled_from(["", ".5", ".123456", ".123456789"]),
        st.sampled_from(["Z", "z", "+05:30", "-11:59", "+00:00"])),
    "model": st.text(min_size=1, max_size=8).map(_json),
    "messages": _listed(st.tuples(_GOOD_TEXT, st.sampled_from(
        ["", ',"content":"x"', ',"content":null', ',"content":[{"type":"text"},1]',
         ',"name":"n"'])).map(lambda t: '{"role":' + t[0] + t[1] + "}")),
    "retrieval_docs": _listed(st.one_of(_GOOD_TEXT, st.sampled_from(
        ['{"id":"a","score":0.5,"relevant":true}', '{"relevant":2,"text":null}',
         '{"source":"s","other":[1]}']))),
    "eval_scores": _keyed(_GOOD_NUMBER),
    "moderation_flags": st.one_of(_listed(_GOOD_TEXT),
                                  _keyed(st.one_of(st.sampled_from(["true", "false"]),
                                                   _GOOD_NUMBER))),
    "embedding": _listed(_GOOD_NUMBER),
    "tags": _listed(_GOOD_TEXT),
    "metadata": _keyed(_GOOD_JSON),
    "status": st.sampled_from(['"ok"', '"error"']),
    "stage": st.sampled_from(['"training"', '"inference"', '"deployment"']),
    "sample_rate": st.sampled_from(["1", "1.0", "0.5", "1e-3", "0.25"]),
    "prompt_version": st.one_of(_GOOD_TEXT, st.integers(-(2**63), 2**63 - 1).map(str)),
    "hallucination_flag": st.sampled_from(["true", "false"]),
    "refusal": st.sampled_from(["true", "false"]),
    "feedback_rating": _GOOD_NUMBER,
    **dict.fromkeys(("input_tokens", "output_tokens", "reasoning_tokens", "retries",
                     "cached_input_tokens", "cache_write_tokens"), _GOOD_COUNT),
    **{name: st.one_of(_GOOD_COUNT, _GOOD_FLOAT) for name in ("cost_usd", "latency_ms",
                                                              "ttft_ms")},
}


def _value(name: str) -> st.SearchStrategy[str]:
    """Mostly a value of the field's type (or null), now and then a probe."""
    good = _GOOD.get(name, _GOOD_TEXT)
    if name not in ("timestamp", "model"):
        good = st.one_of(good, st.just("null"))
    probe = _FIELD_VALUES.get(name, st.one_of(_NUMBERS, _TEXTS, _ANY))
    return st.integers(0, 7).flatmap(lambda i: probe if i == 0 else good)


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    pairs = []
    if draw(st.integers(0, 19)):
        pairs.append(("timestamp", draw(_value("timestamp"))))
    if draw(st.integers(0, 19)):
        pairs.append(("model", draw(_value("model"))))
    for name in draw(st.lists(st.sampled_from(_FIELD_NAMES), max_size=6, unique=True)):
        pairs.append((name, draw(_value(name))))
    if not draw(st.integers(0, 9)):
        pairs.append(draw(st.sampled_from(pairs or [("model", '"m"')])))  # a repeated key
    for name in draw(st.lists(st.sampled_from(["tenant", "case", "n\\u0041", "x0"]),
                              max_size=2)):
        pairs.append((name, draw(st.one_of(_GOOD_JSON, _ANY))))
    pairs = draw(st.permutations(pairs))
    colon, comma = draw(st.sampled_from([(":", ","), (" : ", ", "), (":\t", ",\t")]))
    line = "{" + comma.join(f'"{k}"{colon}{v}' for k, v in pairs) + "}"
    line += draw(st.sampled_from(["", "", "", "", "", "", " ", "\r", "x"]))
    return line.encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None)
@given(line=_line())
def test_a_vouched_for_line_is_valid(compiled: Any, line: bytes) -> None:
    if compiled.scan(line)[0] == b"\x00":
        assert _valid(line), line


def _read(data: bytes, compiled: Any, frames: bool = True) -> tuple[Any, ...]:
    saved = scanner.SCANNER
    scanner.SCANNER = compiled
    try:
        reader = jsonl.ChunkReader("f.jsonl", build_frames=frames)
        result = reader.read(Chunk(data, 1, data.count(b"\n"), True))
    finally:
        scanner.SCANNER = saved
    frame = pl.concat(result.frames, how="diagonal") if result.frames else None
    return (frame, [(r.line, r.problems) for r in result.invalid], result.json_columns,
            reader.extras if frames else None, result.checked)  # extras only type frames


def _same_either_way(lines: list[bytes], frames: bool = True) -> None:
    data = b"\n".join(lines) + b"\n"
    with_scanner = _read(data, scanner._compiled, frames)
    without = _read(data, None, frames)
    frame, other = with_scanner[0], without[0]
    assert (frame is None) == (other is None)
    if frame is not None:
        assert frame.columns == other.columns
        assert frame.equals(other), (frame, other)
    assert with_scanner[1:] == without[1:]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_line(), st.sampled_from([
    f'{{{HEAD},"tenant":"a","input_tokens":3,"metadata":{{"k":[1,2]}}}}'.encode(),
    f'{{{HEAD},"messages":[{{"role":"user","content":"hi"}}],"tags":["x"]}}'.encode(),
    f'{{{HEAD},"case":{{"n":1}},"latency_ms":12.5}}'.encode(), b""])), min_size=1,
    max_size=8))
def test_reading_with_the_scanner_equals_reading_without(compiled: Any,
                                                         lines: list[bytes]) -> None:
    _same_either_way(lines)
    _same_either_way(lines, frames=False)  # validate's reading: verdicts only


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(st.sampled_from([b"\n", b"{", b"x" * 20, b"\r\n", b""]), max_size=30))
def test_counting_lines_equals_bytes_count(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert scanner.count_newlines(data) == data.count(b"\n")
    if scanner._compiled is not None:
        assert scanner._compiled.count_lines(data) == data.count(b"\n")


def test_verdicts_do_not_depend_on_asking_for_user_fields(compiled: Any) -> None:
    lines = [f'{{{HEAD},"tenant":"a"}}', INVALID["duplicate field"], f'{{{HEAD}}}']
    data = "\n".join(lines).encode()
    flags, _, spans = compiled.scan(data)
    assert compiled.scan(data, False) == (flags, None, spans)


def test_a_line_over_the_length_limit_is_never_vouched_for(
        compiled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "SCANNER", compiled)  # even under GENAILOG_NO_EXTENSION
    long = f'{{{HEAD},"prompt":"{"x" * 2000}"}}'.encode()
    data = long + b"\n" + f'{{{HEAD}}}'.encode() + b"\n"
    assert scanner.vouched(scanner.verdicts(data)) == 2
    monkeypatch.setenv("GENAILOG_MAX_LINE_BYTES", "1024")
    assert scanner.verdicts(data) is None  # the reader sets the long line aside


def test_validate_counts_the_same_with_and_without_the_scanner(
        compiled: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest.validate import validate

    lines = [f'{{{HEAD},"tenant":"a","input_tokens":{i}}}' for i in range(50)]
    lines[7] = INVALID["duplicate user field"]
    lines[30] = HANDED_ON_VALID["escaped key"]
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    clean = tmp_path / "c.jsonl"
    clean.write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")
    seen = []
    for compiled_or_none in (compiled, None):
        monkeypatch.setattr(scanner, "SCANNER", compiled_or_none)
        result = validate([path, clean])
        seen.append((result.records, [(r.file, r.line, r.problems)
                                      for r in result.invalid_records]))
    assert seen[0] == seen[1]
    assert seen[0][0] == 57 and [line for _, line, _ in seen[0][1]] == [8]


def test_lines_the_twin_takes_but_its_checks_refuse_are_judged_in_a_scanned_chunk(
        compiled: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A number beyond 64 bits inside metadata: the scanner hands the line on, the twin
    decodes it (metadata values are raw to it), and the rules after the twin reject it.
    With and without the scanner, validate names the same lines in the same order."""
    from genailog.ingest.validate import validate

    lines = [f'{{{HEAD},"input_tokens":{i}}}' for i in range(40)]
    lines[3] = f'{{{HEAD},"metadata":{{"n":{10**30}}}}}'
    lines[9] = INVALID["duplicate field"]
    lines[20] = f'{{{HEAD},"metadata":{{"n":[1,{{"a":2,"a":3}}]}}}}'
    lines[30] = f'{{{HEAD},"metadata":{{"n":5}}}}'
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    for compiled_or_none in (compiled, None):
        monkeypatch.setattr(scanner, "SCANNER", compiled_or_none)
        result = validate([path])
        seen.append((result.records, [(r.line, r.problems) for r in result.invalid_records]))
    assert seen[0] == seen[1]
    assert seen[0][0] == 40 and sorted(line for line, _ in seen[0][1]) == [4, 10, 21]


def test_the_handed_on_lines_are_located_exactly(
        compiled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "SCANNER", compiled)  # even under GENAILOG_NO_EXTENSION
    lines = [f'{{{HEAD}}}\r', "", INVALID["array"], f'{{{HEAD}}}\r\r', f'{{{HEAD}}}', "tail"]
    data = "\n".join(lines).encode()
    found = scanner.verdicts(data)
    assert found is not None and found.flags == b"\x00\x01\x01\x01\x00\x01"
    assert [(index, data[start:end]) for index, start, end in found.handed()] == [
        (1, b""), (2, b"[]"), (3, f'{{{HEAD}}}\r\r'.encode()), (5, b"tail")]


def test_crlf_lines_are_vouched_for_and_read_as_without_the_scanner(compiled: Any) -> None:
    lines = [f'{{{HEAD},"tenant":"a"}}', f'{{{HEAD},"metadata":{{"k":[1]}}}}',
             INVALID["duplicate field"], f'{{{HEAD}}}']
    data = "\r\n".join(lines).encode() + b"\r\n"
    assert compiled.scan(data)[0] == b"\x00\x00\x01\x00"
    _same_either_way([line.encode() + b"\r" for line in lines])
    _same_either_way([line.encode() + b"\r" for line in lines], frames=False)


_SAMPLE_LINES = [line for path in sorted((ROOT / "sample_logs").glob("week*.jsonl"))
                 for line in path.read_bytes().splitlines()[:300]]


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(_SAMPLE_LINES) - 1),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(
           ["set", "insert", "delete"]), st.sampled_from(list(b'{}[]",:0123456789-eE.\\tfnu ')
                                                        + [0, 0x7f, 0x80, 0xc0, 0xed, 0xff])),
           min_size=1, max_size=3))
def test_a_vouched_for_line_stays_valid_after_random_edits(
        compiled: Any, index: int, edits: list[tuple[float, str, int]]) -> None:
    """Real-shaped records with bytes changed, inserted or deleted anywhere."""
    line = bytearray(_SAMPLE_LINES[index])
    for where, how, byte in edits:
        at = int(where * len(line))
        if how == "set" and line:
            line[min(at, len(line) - 1)] = byte
        elif how == "insert":
            line[at:at] = bytes([byte])
        elif line:
            del line[min(at, len(line) - 1)]
    raw = bytes(line).replace(b"\n", b" ")
    if compiled.scan(raw)[0] == b"\x00":
        assert _valid(raw), raw


@pytest.mark.parametrize("compiled_or_none", ["scanner", "twin"])
def test_a_record_set_aside_never_types_a_user_column(compiled_or_none: str) -> None:
    """Feb 29 of 2023 is no date: that record is set aside, and its ``case`` (an integer)
    must not make the column an integer one for the records kept."""
    if compiled_or_none == "scanner" and scanner._compiled is None:
        require_or_skip("genailog's C scanner is not built")
    lines = [b'{"timestamp":"2023-02-29T00:00:00Z","model":"m","case":0}',
             f'{{{HEAD},"tenant":"a"}}'.encode()]
    frame, invalid, _, extras, _ = _read(b"\n".join(lines) + b"\n", scanner._compiled
                                         if compiled_or_none == "scanner" else None)
    assert [line for line, _ in invalid] == [1] and frame.height == 1
    assert frame.schema["case"] == pl.String and frame["case"].null_count() == 1


def test_a_chunk_with_an_exact_record_reads_the_same(compiled: Any) -> None:
    """Found by a long generated run: an invalid line, and a valid record whose metadata
    holds 1e+100, which the twin's road types through Python (so every record of that
    chunk gets Python's JSON text for its metadata)."""
    other = (f'{{{HEAD},"timestamp":"2026-01-02T03:04:05Z","tenant":null}}').encode()
    exact = b'{"timestamp":"0002-01-01T00:00:00Z","model":"0","metadata":{"":1e+100}}'
    _same_either_way([b'{"model":"m"}', other, exact, f'{{{HEAD},"metadata":{{"a":1.5}}}}'
                      .encode()])


# ------------------------------------------------------------------ typed columns


_SCALARS = sorted(SCALAR_COLUMNS)


def _projected(data: bytes, columns: tuple[str, ...], compiled: Any) -> tuple[Any, ...]:
    saved = scanner.SCANNER
    scanner.SCANNER = compiled
    try:
        result = jsonl.ChunkReader("f.jsonl", columns=columns).read(
            Chunk(data, 1, data.count(b"\n"), True))
    finally:
        scanner.SCANNER = saved
    frame = pl.concat(result.frames) if result.frames else None
    return frame, [(r.line, r.problems) for r in result.invalid], result.checked


def _same_as_narrowed(lines: list[bytes], columns: tuple[str, ...], compiled: Any) -> None:
    """Only ``columns``, typed by the scanner, equal the full read without the scanner
    narrowed to them; the invalid lines and the count are the same."""
    data = b"\n".join(lines) + b"\n"
    frame, invalid, checked = _projected(data, columns, compiled)
    full, full_invalid, _, _, full_checked = _read(data, None)
    assert (invalid, checked) == (full_invalid, full_checked)
    if full is None:
        assert frame is None or frame.height == 0
        return
    assert frame is not None and frame.columns == list(columns)
    assert frame.equals(full.select(columns)), (frame, full.select(columns))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_line(), st.sampled_from([
    f'{{{HEAD},"tenant":"a","input_tokens":3,"latency_ms":12}}'.encode(),
    f'{{{HEAD},"prompt_version":3}}'.encode(), b""])), min_size=1, max_size=8),
    columns=st.lists(st.sampled_from(_SCALARS), min_size=1, max_size=8, unique=True))
def test_typed_columns_equal_the_full_read_narrowed(compiled: Any, lines: list[bytes],
                                                    columns: list[str]) -> None:
    _same_as_narrowed(lines, tuple(sorted(columns)), compiled)


_TYPED_CASES = [  # values whose text can be typed in more than one way, one per line
    '"timestamp":"1969-12-31T23:59:59.9999999-01:30"', '"timestamp":"0002-01-01t00:00:00z"',
    '"timestamp":"9998-12-31T23:59:59.123456789+23:59"', '"feedback_rating":-0',
    '"latency_ms":0.1', '"latency_ms":1e2', '"latency_ms":2.5E-3', '"latency_ms":12',
    '"latency_ms":123456789012345678', '"latency_ms":0.30000000000000004',
    '"latency_ms":1234567890.1234567', '"feedback_rating":-0.0', '"sample_rate":1e-3',
    '"model":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00"',
    '"error_message":null', '"refusal":true', '"hallucination_flag":false',
    '"input_tokens":922337203685477580', '"prompt_version":"v\\u0031"',
]


def test_typed_columns_read_every_way_of_writing_a_value(compiled: Any) -> None:
    lines = []
    for case in _TYPED_CASES:
        key, value = case.split(":", 1)
        fields = {'"timestamp"': '"2026-01-02T03:04:05Z"', '"model"': '"m"', key: value}
        lines.append(("{" + ",".join(f"{k}:{v}" for k, v in fields.items()) + "}").encode())
    _same_as_narrowed(lines, tuple(_SCALARS), compiled)
    flags, _, typed, _ = compiled.scan_columns(b"\n".join(lines), bytes(
        compiled.field_names().index(c) for c in _SCALARS))
    assert flags == bytes(len(lines)) and typed is not None  # all typed by the scanner


def test_a_number_as_prompt_version_is_typed_by_the_reader(compiled: Any) -> None:
    line = f'{{{HEAD},"prompt_version":3}}'.encode()
    index = compiled.field_names().index("prompt_version")
    assert compiled.scan_columns(line, bytes([index]))[2] is None  # the scanner gives up
    _same_as_narrowed([line, f'{{{HEAD}}}'.encode()], ("model", "prompt_version"), compiled)


def test_a_clean_chunk_is_typed_by_the_scanner_alone(
        compiled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample logs take the one-pass road: neither polars' NDJSON reader nor the twin
    is called."""
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the full read was used")

    data = (ROOT / "sample_logs" / "week1.jsonl").read_bytes()
    monkeypatch.setattr(jsonl._Scanned, "read", refuse)
    monkeypatch.setattr(pl, "read_ndjson", refuse)
    frame, invalid, checked = _projected(data, ("latency_ms", "model", "timestamp"), compiled)
    assert invalid == [] and frame.height == checked == data.count(b"\n")


def test_only_scalar_fields_can_be_typed_by_the_scanner(compiled: Any) -> None:
    names = compiled.field_names()
    for bad in (bytes([names.index("metadata")]), bytes([200]), bytes([1, 1])):
        with pytest.raises(ValueError, match="scalar"):
            compiled.scan_columns(b"", bad)
    flags, spans, typed, digest = compiled.scan_columns(b"", bytes([names.index("model")]))
    assert (flags, spans) == (b"", b"") and pl.DataFrame(scanner.ArrowColumns(typed)).height == 0


def test_valid_lines_the_scanner_hands_on_take_their_places_among_its_rows(
        compiled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each valid corner the scanner hands on, between vouched-for and invalid lines, is
    typed by the other roads and put back in its line's place: the chunk is not read in
    full again (that would decode every line in Python)."""
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the chunk was read in full")

    for name, corner in HANDED_ON_VALID.items():
        lines = [f'{{"timestamp":"2026-01-0{i + 1}T00:00:00Z","model":"v{i}"}}'.encode()
                 for i in range(4)]
        lines[1:1] = [_encoded(corner), _encoded(INVALID["duplicate field"])]
        lines.insert(4, _encoded(HANDED_ON_VALID["year 9999"]))
        columns = ("input_tokens", "latency_ms", "model", "timestamp")
        with monkeypatch.context() as patched:
            patched.setattr(jsonl._Scanned, "read", refuse)
            _same_as_narrowed(lines, columns, compiled)
        frame = _projected(b"\n".join(lines) + b"\n", columns, compiled)[0]
        assert frame.height == 6, name


def _encoded(line: str | bytes) -> bytes:
    return line if isinstance(line, bytes) else line.encode()


def test_a_file_truncated_under_the_scan_is_an_oserror_not_a_crash(
        compiled: Any, tmp_path: Path) -> None:
    """The reading threads scan the file's mapped pages; a file truncated meanwhile makes
    a read past its new end raise SIGBUS, which would kill the process: the scanner
    catches it, says so, and the reader reads the range the ordinary way. So does the
    digest the cache keys the file with, taken in the scan or alone."""
    import mmap

    path = tmp_path / "f.jsonl"
    path.write_bytes((f'{{{HEAD},"latency_ms":12.5}}\n'.encode()) * 20_000)
    wanted = bytes([compiled.field_names().index("latency_ms")])
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0,
                                              access=mmap.ACCESS_READ) as mapped:
        with memoryview(mapped) as data:
            flags, _, typed, digest = compiled.scan_columns(data, wanted, True, True)
            assert flags == bytes(20_000) and typed is not None
            assert digest == compiled.digest(data, True) == compiled.digest(bytes(data))
            os.truncate(path, 4096)
            for _ in range(2):  # caught every time, on this thread and the mask restored
                with pytest.raises(OSError, match="truncated while it was read"):
                    compiled.scan_columns(data, wanted, True)
                with pytest.raises(OSError, match="truncated while it was read"):
                    compiled.scan_columns(data, wanted, True, True)
                with pytest.raises(OSError, match="truncated while it was read"):
                    compiled.digest(data, True)
            assert compiled.scan_columns(data[:4000], wanted, True)[2] is not None
            assert compiled.digest(data[:4000], True) == compiled.digest(bytes(data[:4000]))


def test_the_truncation_guard_survives_another_sigbus_handler(
        compiled: Any, tmp_path: Path) -> None:
    """faulthandler (or anyone) installing a SIGBUS handler after the guard does not
    take the guard away: the next mapped scan puts it back, chaining to theirs."""
    import faulthandler
    import mmap

    path = tmp_path / "f.jsonl"
    path.write_bytes((f'{{{HEAD}}}\n'.encode()) * 5_000)
    wanted = bytes([compiled.field_names().index("model")])
    was_enabled = faulthandler.is_enabled()
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0,
                                              access=mmap.ACCESS_READ) as mapped:
        with memoryview(mapped) as data:
            compiled.scan_columns(data[:1000], wanted, True)  # the guard is in
            faulthandler.disable()
            faulthandler.enable()  # theirs is in now
            try:
                os.truncate(path, 100)
                with pytest.raises(OSError, match="truncated"):
                    compiled.scan_columns(data, wanted, True)
            finally:
                if not was_enabled:
                    faulthandler.disable()


# ------------------------------------------------------------------ the content digest


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.sampled_from([
    f'{{{HEAD}}}', f'{{{HEAD},"latency_ms":12.5}}', INVALID["duplicate field"],
    HANDED_ON_VALID["escaped key"], "", "x" * 1500, f'{{{HEAD},"prompt":"{"é" * 700}"}}',
]), max_size=40), end=st.sampled_from([b"", b"\n", b"{"]))
def test_the_scan_digests_exactly_what_digest_does(compiled: Any, lines: list[str],
                                                   end: bytes) -> None:
    """The digest a scan takes block by block, behind the lines it reads (while they
    are in the cache), is the digest of the whole data taken at once, at every length."""
    data = "\n".join(lines).encode() + end
    wanted = bytes([compiled.field_names().index("model")])
    assert compiled.scan_columns(data, wanted, False, True)[3] == compiled.digest(data)
    assert compiled.scan_columns(data, wanted)[3] is None  # only when asked for


def test_the_digest_tells_apart_what_it_must(compiled: Any) -> None:
    """Every single-bit change of 3 KiB of data, every length, and stripes or blocks
    trading places give different digests (it keys the read cache)."""
    import random

    base = random.Random(14).randbytes(3 * 1024)
    seen = {compiled.digest(base)}
    changed = []  # how many of the 128 output bits one input bit changes: half, on average
    for bit in range(len(base) * 8):
        flipped = bytearray(base)
        flipped[bit // 8] ^= 1 << bit % 8
        seen.add(compiled.digest(bytes(flipped)))
        changed.append(bin(int.from_bytes(compiled.digest(base), "little")
                           ^ int.from_bytes(compiled.digest(bytes(flipped)), "little")).count("1"))
    assert 62 < sum(changed) / len(changed) < 66 and min(changed) > 30
    for length in range(len(base)):
        seen.add(compiled.digest(base[:length]))
        seen.add(compiled.digest(b"\xff" * (length + 1)))  # one byte of every length
    stripes = base[64:128] + base[:64] + base[128:]
    blocks = base[1024:2048] + base[:1024] + base[2048:]
    seen |= {compiled.digest(stripes), compiled.digest(blocks)}
    assert len(seen) == 1 + len(base) * 8 + 2 * len(base) + 2
    assert len(compiled.digest(b"")) == 16


def test_the_portable_digest_equals_the_sse2_one(compiled: Any, tmp_path: Path) -> None:
    """Machines without SSE2 take the digest's lanes one at a time: the same digests
    (a cache folder shared between them stays valid)."""
    import importlib.util
    import sys

    sys.path.insert(0, str(ROOT))
    try:
        import hatch_build
    finally:
        sys.path.remove(str(ROOT))
    built = hatch_build.compile_scanner(tmp_path, ["-DGENAILOG_PORTABLE_DIGEST"])
    if built is None:
        require_or_skip("no C compiler to build the portable digest with")
        return
    spec = importlib.util.spec_from_file_location("portable._scan", built)
    assert spec is not None and spec.loader is not None
    portable = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(portable)
    data = os.urandom(70_000)
    for length in (0, 1, 63, 64, 65, 1023, 1024, 1025, 4097, 70_000):
        assert portable.digest(data[:length]) == compiled.digest(data[:length])
