"""Records as logged: genailog JSONL in, JSONL out, each valid record its own line, only
the redacted strings changed. The as-logged writer is one writer of the one export
pipeline: whether the pipeline selected records first or not, on one process or on
workers, it writes each record's line the same way, and a record gets the same
placeholders from it as from the table writers (Parquet, CSV, chat formats)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from conftest import base_record, write_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_redact import GENERATORS, generate, lookalikes, positives
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.dataset import stream
from genailog.dataset.export import ExportOptions, export_dataset, redact_logs
from genailog.errors import InvalidRecordError
from genailog.schema.files import schemas_dir

runner = CliRunner()


def export(paths: list[Path], out: Path, **options: Any) -> Any:
    options.setdefault("on_invalid", "skip")
    return export_dataset([str(p) for p in paths], ExportOptions(out=out, overwrite=True,
                                                                 **options))


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


# ---------------------------------------------------------------- recall on raw lines


@pytest.mark.parametrize("ascii_only", [True, False])
def test_recall_and_false_positives_on_raw_lines(tmp_path: Path, ascii_only: bool) -> None:
    """The labelled corpus of test_redact, written as JSONL lines with and without \\u
    escapes, then redacted by the streaming path: every positive becomes its expected
    text, and no lookalike is touched."""
    corpus = positives(seed=21)
    clean = lookalikes(seed=22, n=1000)
    records = [base_record(prompt=text, response=f"ok ✓ {i}") for i, (_, text, _) in
               enumerate(corpus)] + [base_record(prompt=text) for text in clean]
    path = tmp_path / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=ascii_only) + "\n")
    out = tmp_path / "out.jsonl"
    export([path], out, redact=True)
    got = [json.loads(line)["prompt"] for line in lines_of(out)]
    missed = [(kind, text) for (kind, text, expected), result in zip(corpus, got, strict=False)
              if result != expected]
    assert not missed, missed[:5]
    touched = [text for text, result in zip(clean, got[len(corpus):], strict=True)
               if text != result]
    assert not touched, touched[:5]


def test_escaped_characters_cannot_hide_a_value(tmp_path: Path) -> None:
    line = ('{"timestamp":"2025-12-26T10:00:12Z","model":"m","prompt":'
            '"mail jane\\u0040example.com or \\u0031\\u0032\\u0033-45-6789"}')
    path = write_jsonl(tmp_path / "esc.jsonl", [line])
    export([path], tmp_path / "out.jsonl", redact=True)
    [record] = [json.loads(x) for x in lines_of(tmp_path / "out.jsonl")]
    assert record["prompt"] == "mail <EMAIL_1> or <US_SSN_1>"


# ---------------------------------------------------------------- same as the table path

TEXT = st.lists(st.sampled_from(["hello", "order #4821", "v1.2.3", "2025-12-26", "$12.50",
                                 "reach me at", "call", "\n", "ünïcode", "✓"]), max_size=4)


@st.composite
def records_with_pii(draw: st.DrawFn) -> dict[str, Any]:
    rng = random.Random(draw(st.integers(0, 10**6)))

    def text() -> str:
        words = draw(TEXT)
        if draw(st.booleans()):
            words.insert(draw(st.integers(0, len(words))), generate(draw(
                st.sampled_from(sorted(GENERATORS))), rng))
        return " ".join(words)

    record = base_record(prompt=text(), latency_ms=draw(st.sampled_from([1.10, 1e3, 250])))
    if draw(st.booleans()):
        record["response"] = text()
    if draw(st.booleans()):
        record["system_prompt"] = None
    if draw(st.booleans()):
        record["messages"] = [{"role": "user", "content": text()},
                              {"role": "assistant", "content": text()}]
    if draw(st.booleans()):
        record["metadata"] = {"note": text(), "n": 3, "nested": {"deep": text()}}
    if draw(st.booleans()):
        record["tenant"] = text()  # user fields: a string, a list of strings
    if draw(st.booleans()):
        record["labels"] = [text(), text()]
    return record


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records_with_pii(), min_size=1, max_size=8), st.booleans())
def test_every_writer_numbers_a_record_alike(tmp_path: Path, records: list[dict[str, Any]],
                                             ascii_only: bool) -> None:
    """The same records exported as logged (JSONL) and as Parquet (a table writer) carry
    the same placeholders, and redaction counts agree."""
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records),
                    encoding="utf-8")
    logged = tmp_path / "logged.jsonl"
    result = export([path], logged, redact=True)
    table = export([path], tmp_path / "table.parquet", redact=True)
    assert result.redaction.counts == table.redaction.counts
    assert result.redaction.records_changed == table.redaction.records_changed
    rows = pl.read_parquet(tmp_path / "table.parquet").iter_rows(named=True)
    got = [json.loads(line) for line in lines_of(logged)]
    for row, record, source in zip(rows, got, records, strict=True):
        assert list(record) == list(source)  # keys keep their order
        assert record["latency_ms"] == source["latency_ms"]  # numbers keep their value
        for name in ("prompt", "response", "tenant", "labels"):
            want = row.get(name)
            if isinstance(record.get(name), list):  # a user list is JSON text in the table
                want = json.loads(want)
            assert record.get(name) == want
        if "metadata" in record:
            assert record["metadata"] == json.loads(row["metadata"])
        if "messages" in record:
            assert [m["content"] for m in record["messages"]] == [
                m["content"] for m in row["messages"]]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records_with_pii(), min_size=1, max_size=8))
def test_a_filter_that_keeps_every_record_changes_no_byte(
        tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """Selecting first (a table is read, then the lines again) or not (the lines are
    streamed): one writer, the same bytes and counts."""
    path = write_jsonl(tmp_path / "logs.jsonl", records)
    plain = export([path], tmp_path / "plain.jsonl", redact=True)
    kept = export([path], tmp_path / "kept.jsonl", redact=True, where="model IS NOT NULL")
    assert (tmp_path / "kept.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    assert kept.counts == plain.counts
    assert kept.redaction.counts == plain.redaction.counts


# ---------------------------------------------------------------- lines and files


def test_bom_crlf_blank_invalid_and_unterminated_lines(tmp_path: Path) -> None:
    good = [json.dumps(base_record(prompt=f"p{i} a@b.co")) for i in range(4)]
    raw = ("\ufeff" + good[0] + "\r\n\r\n" + good[1] + "\n   \n{broken\n" + good[2] + "\r\n"
           + good[3])
    path = tmp_path / "messy.jsonl"
    path.write_bytes(raw.encode("utf-8"))
    out = tmp_path / "out.jsonl"
    result = export([path], out, redact=True, on_invalid=f"quarantine={tmp_path / 'q.jsonl'}")
    text = out.read_bytes()
    assert b"\r" not in text and text.endswith(b"}\n") and not text.startswith(b"\xef")
    assert [json.loads(x) for x in text.splitlines()] == [
        json.loads(g.replace("a@b.co", "<EMAIL_1>")) for g in good]
    assert (result.counts.read, result.counts.invalid, result.counts.written) == (5, 1, 4)
    assert (tmp_path / "q.jsonl").read_bytes() == b"{broken\n"
    plain = tmp_path / "plain.jsonl"
    export([path], plain)
    assert lines_of(plain) == [g.encode() for g in good]
    # Selecting first (a filter keeping everything) writes the same lines.
    for name, redact in (("w1.jsonl", True), ("w2.jsonl", False)):
        export([path], tmp_path / name, redact=redact, where="model IS NOT NULL")
    assert (tmp_path / "w1.jsonl").read_bytes() == text
    assert (tmp_path / "w2.jsonl").read_bytes() == plain.read_bytes()


def test_first_invalid_record_fails_the_export_and_leaves_no_output(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [base_record(), base_record(), "[1]"])
    out = tmp_path / "out.jsonl"
    with pytest.raises(InvalidRecordError) as error:
        export([path], out, on_invalid="fail")
    assert error.value.line == 3
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


def test_pieces_on_worker_processes_equal_one_process(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    records: list[Any] = [base_record(prompt=f"r{i} call (415) 555-{i % 10000:04d}"
                                      if i % 3 == 0 else f"r{i}") for i in range(3000)]
    records[1234] = "{oops"
    records[2999] = {"model": "no timestamp"}
    path = write_jsonl(tmp_path / "big.jsonl", records)
    monkeypatch.setattr(stream, "PIECE_BYTES", 16 * 1024)
    spread = stream._spread
    spreads: list[int] = []

    def counted(path: str, ranges: list[tuple[int, int]], *rest: Any) -> Any:
        spreads.append(len(ranges))
        return spread(path, ranges, *rest)

    monkeypatch.setattr(stream, "_spread", counted)
    results = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("GENAILOG_WORKERS", workers)
        out = tmp_path / f"out{workers}.jsonl"
        results[workers] = export([path], out, redact=True)
    assert len(spreads) == 1 and spreads[0] > 10  # workers ran only when allowed
    one, two = results["1"], results["2"]
    assert (tmp_path / "out1.jsonl").read_bytes() == (tmp_path / "out2.jsonl").read_bytes()
    assert one.redaction.counts == two.redaction.counts and one.counts == two.counts
    assert one.redaction.counts["PHONE"] == 1000
    assert one.counts.invalid == 2
    for workers in ("1", "2"):  # line numbers are the file's, whatever piece holds them
        monkeypatch.setenv("GENAILOG_WORKERS", workers)
        with pytest.raises(InvalidRecordError) as error:
            export([path], tmp_path / "failed.jsonl", on_invalid="fail")
        assert error.value.line == 1235


def test_second_read_on_worker_processes_equals_one_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Selected records read again, split over workers, with blank, CRLF and invalid
    lines spread across pieces: same bytes as in one process and as with nothing selected."""
    rows = []
    for i in range(2500):
        line = json.dumps(base_record(session_id=f"s{i // 5}",
                                      prompt=f"r{i} mail u{i}@example.com" if i % 4 else f"r{i}"))
        rows.append(line + ("\r\n" if i % 97 == 0 else "\n"))
        if i % 211 == 0:
            rows.append("\n  \n")
        if i % 389 == 0:
            rows.append("{nope\n")
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(rows), encoding="utf-8")
    monkeypatch.setattr(stream, "PIECE_BYTES", 16 * 1024)
    pools: list[int] = []
    make_pool = stream.parallel.pool

    def counted(count: int) -> Any:
        pools.append(count)
        return make_pool(count)

    monkeypatch.setattr(stream.parallel, "pool", counted)
    outputs = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("GENAILOG_WORKERS", workers)
        result = export([path], tmp_path / f"all{workers}.jsonl", redact=True)
        assert (result.counts.invalid, result.counts.written) == (7, 2500)  # i % 389 == 0
        export([path], tmp_path / f"w{workers}.jsonl", redact=True, where="model = 'gpt-4.1'")
        export([path], tmp_path / f"s{workers}.jsonl", redact=True,
               split={"train": 0.7, "test": 0.3}, seed=3)
        outputs[workers] = [(tmp_path / name).read_bytes() for name in (
            f"all{workers}.jsonl", f"w{workers}.jsonl", f"s{workers}.train.jsonl",
            f"s{workers}.test.jsonl")]
    assert pools == [2, 2, 2]  # workers=2 only: the streamed export and two second reads
    assert outputs["1"] == outputs["2"]
    everything, filtered, train, test = outputs["2"]
    assert filtered == everything and b"\r" not in everything
    assert sorted(train.splitlines() + test.splitlines()) == sorted(everything.splitlines())
    assert everything.count(b"\n") == 2500


def test_split_parts_hold_input_lines_in_input_order(tmp_path: Path) -> None:
    records = [base_record(session_id=f"s{i // 3}", prompt=f"p{i}") for i in range(300)]
    path = write_jsonl(tmp_path / "logs.jsonl", records)
    export([path], tmp_path / "d.jsonl", split={"train": 0.8, "test": 0.2}, seed=4)
    source = lines_of(path)
    train, test = lines_of(tmp_path / "d.train.jsonl"), lines_of(tmp_path / "d.test.jsonl")
    assert sorted(train + test) == sorted(source)
    assert train == [x for x in source if x in set(train)]
    assert test == [x for x in source if x in set(test)]


def test_redact_command_keeps_jsonl_as_logged(tmp_path: Path) -> None:
    records = [base_record(prompt="mail jane@example.com", cost_usd=0.10, extra=None),
               base_record(prompt="nothing here", tags=["a"])]
    path = write_jsonl(tmp_path / "logs.jsonl", records)
    result = redact_logs([path], tmp_path / "red.jsonl")
    first, second = lines_of(tmp_path / "red.jsonl")
    assert second == lines_of(path)[1]
    assert json.loads(first) == {**records[0], "prompt": "mail <EMAIL_1>"}
    assert result.redaction.counts["EMAIL"] == 1
    cli = runner.invoke(app, ["redact", str(path), "--out", str(tmp_path / "cli.jsonl")])
    assert cli.exit_code == 0, cli.output
    assert (tmp_path / "cli.jsonl").read_bytes() == (tmp_path / "red.jsonl").read_bytes()


def test_manifest_hashes_inputs_as_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain files are hashed from the bytes the export reads (BOM included, on workers
    too); compressed ones as the compressed file."""
    import gzip
    import hashlib

    body = "".join(json.dumps(base_record(prompt=f"p{i}")) + "\n" for i in range(2000))
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(b"\xef\xbb\xbf" + body.encode())
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(body.encode()))
    monkeypatch.setattr(stream, "PIECE_BYTES", 8 * 1024)
    for workers in ("1", "2"):
        monkeypatch.setenv("GENAILOG_WORKERS", workers)
        result = export([plain, packed], tmp_path / "out.jsonl")
        manifest = json.loads(Path(result.manifest).read_text(encoding="utf-8"))
        jsonschema.validate(manifest, json.loads(
            (schemas_dir() / "export-manifest.schema.json").read_text(encoding="utf-8")))
        assert {i["path"]: i["sha256"] for i in manifest["inputs"]} == {
            str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (plain, packed)}
        assert result.counts.written == 4000
        output = (tmp_path / "out.jsonl").read_bytes()
        assert manifest["outputs"][0]["sha256"] == hashlib.sha256(output).hexdigest()
        assert output == body.encode() * 2
