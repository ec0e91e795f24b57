"""Partial results merge to the whole input's answer: 24 partitions of generated logs,
computed per partition and merged, against summarize / diff-prompts / drift on the whole.

Exact statistics (counts, token sums, rates, categorical counts) must be equal; floats
computed in another order (sums, chi-square over reordered categories) equal up to float
rounding (relative 1e-9 here); sketch percentiles within the sketch's stated 1%.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.analysis import diff_partial
from genailog.analysis.compare import DiffOptions, diff_prompts
from genailog.analysis.drift import DriftOptions, detect_drift
from genailog.analysis.drift import partial as drift_partial
from genailog.analysis.frame_codec import decode, encode
from genailog.analysis.partials import merge as merge_summaries
from genailog.analysis.partials import summary_partial
from genailog.analysis.summarize import summarize
from genailog.cli.app import app
from genailog.errors import InputError, UsageError
from genailog.ingest import Logs, read_logs
from genailog.ingest.partitions import values_of, with_values
from genailog.ingest.sources import discover
from genailog.sample import generate_sample

PARTITIONS = 24
RECORDS = 3600  # 150 per partition: enough for every p95 and drift window to be judged


def write_partitions(root: Path, n: int = RECORDS, seed: int = 7) -> list[Path]:
    """genailog's generated logs, one hive partition per day: date=YYYY-MM-DD/part-0.jsonl."""
    encoder = msgspec.json.Encoder()
    days: dict[str, list[bytes]] = {}
    for record in generate_sample(n, seed, days=PARTITIONS):
        days.setdefault(record["timestamp"][:10], []).append(encoder.encode(record))
    files = []
    for day, lines in sorted(days.items()):
        path = root / f"date={day}" / "part-0.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(lines) + b"\n")
        files.append(path)
    return files


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("partitioned")
    files = write_partitions(root)
    assert len(files) == PARTITIONS
    return root, files


def read_part(root: Path, file: Path) -> Logs:
    """One partition read as a worker reads it: the file, then its partition columns."""
    logs = read_logs([file], require_calls=False)
    source = next(s for s in discover([str(root)]) if s.name == str(file))
    logs.frame = with_values(logs.frame, values_of(source), {"date": pl.String()})
    return logs


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats up to relative 1e-9 (NaN equal to NaN)."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), path
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9), path
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (path, set(a) ^ set(b))
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, str) and ".worse[" in path:
        # a worsened case's values are printed to 4 digits: compare the metric named
        # (a mean over repeats may differ in its last bit, as between two polars runs)
        assert a.partition(":")[0] == b.partition(":")[0], (path, a, b)
    else:
        assert a == b, (path, a, b)


def _input_records(data: dict[str, Any]) -> int:
    return int(data["records"])


# --- summarize ---------------------------------------------------------------------------


def test_summary_partials_of_24_partitions_merge_to_the_whole(parts: tuple[Path, list[Path]]
                                                             ) -> None:
    root, files = parts
    whole = summarize(read_logs(root), by=["model", "date"], window="1w").to_dict()
    pieces = [summary_partial(read_part(root, f), by=["model", "date"], window="1w")
              for f in files]
    merged = merge_summaries(*pieces).finalize().to_dict()
    same(whole["groups"], merged["groups"])
    same(whole["total"], merged["total"])
    assert merged["total"]["requests"] == RECORDS


def test_sketch_percentiles_merged_are_within_the_stated_bound(parts: tuple[Path, list[Path]]
                                                              ) -> None:
    root, files = parts
    exact = summarize(read_logs(root), by=["model"]).to_dict()
    pieces = [summary_partial(read_part(root, f), by=["model"], quantiles="sketch")
              for f in files]
    sketched = merge_summaries(*pieces).finalize().to_dict()
    checked = 0
    for want, got in zip([*exact["groups"], exact["total"]],
                         [*sketched["groups"], sketched["total"]], strict=True):
        assert want["requests"] == got["requests"]
        for name in ("latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "ttft_ms_p95"):
            if want[name] is not None:
                assert abs(got[name] - want[name]) <= 0.01 * abs(want[name]) + 1e-9, name
                checked += 1
    assert checked > 20


# --- diff-prompts ------------------------------------------------------------------------


def _diff_parts(root: Path, files: list[Path], opts: DiffOptions
                ) -> list[diff_partial.DiffPartial]:
    out = []
    for file in files:
        logs = read_part(root, file)
        part = diff_partial.diff_partial(logs.frame, "v1", "v2", opts,
                                         report=logs.report.to_dict())
        out.append(diff_partial.DiffPartial.from_dict(json.loads(part.to_json())))
    return out


@pytest.mark.parametrize("opts", [DiffOptions(resamples=500),
                                  DiffOptions(pair_on="user_id", resamples=500)],
                         ids=["unpaired", "paired"])
def test_diff_partials_of_24_partitions_merge_to_the_whole(
        parts: tuple[Path, list[Path]], opts: DiffOptions) -> None:
    root, files = parts
    logs = read_logs(root)
    whole = diff_prompts(logs.frame, "v1", "v2", opts, report=logs.report.to_dict()).to_dict()
    merged = diff_partial.merge(_diff_parts(root, files, opts)).finalize().to_dict()
    note = merged.pop("merge")
    assert note["parts"] == PARTITIONS and "rates" in " ".join(note["exact"])
    same({k: v for k, v in whole.items() if k != "input"},
         {k: v for k, v in merged.items() if k != "input"})
    assert _input_records(merged["input"]) == _input_records(whole["input"]) == RECORDS
    judged = [m for m in whole["metrics"] if m["p_value"] is not None]
    assert len(judged) >= 5  # the comparison is not vacuous


@settings(max_examples=8, deadline=None)
@given(cuts=st.sets(st.integers(1, PARTITIONS - 1), max_size=6))
def test_diff_merge_does_not_depend_on_how_parts_are_grouped(
        diff_pieces: list[diff_partial.DiffPartial], diff_whole: dict[str, Any],
        cuts: set[int]) -> None:
    bounds = [0, *sorted(cuts), PARTITIONS]
    groups = [diff_partial.merge(diff_pieces[a:b]) for a, b in zip(bounds, bounds[1:],
                                                                    strict=False)]
    merged = diff_partial.merge(groups).finalize().to_dict()
    same(diff_whole["metrics"], merged["metrics"])


@pytest.fixture(scope="module")
def diff_pieces(parts: tuple[Path, list[Path]]) -> list[diff_partial.DiffPartial]:
    return _diff_parts(*parts, DiffOptions(resamples=200))


@pytest.fixture(scope="module")
def diff_whole(parts: tuple[Path, list[Path]]) -> dict[str, Any]:
    return diff_prompts(read_logs(parts[0]).frame, "v1", "v2",
                        DiffOptions(resamples=200)).to_dict()


def test_diff_partials_disagreeing_on_options_do_not_merge(
        diff_pieces: list[diff_partial.DiffPartial], parts: tuple[Path, list[Path]]) -> None:
    root, files = parts
    other = _diff_parts(root, files[:1], DiffOptions(resamples=200, alpha=0.01))[0]
    with pytest.raises(UsageError, match="alpha"):
        diff_partial.merge([diff_pieces[0], other])


# --- drift -------------------------------------------------------------------------------


def test_drift_partials_of_24_partitions_merge_to_the_whole(parts: tuple[Path, list[Path]]
                                                           ) -> None:
    root, files = parts
    opts = DriftOptions(window="7d", sample_size=200)
    whole = detect_drift(read_logs(root), options=opts).to_dict()
    pieces = [drift_partial.DriftPartial.from_dict(json.loads(
        drift_partial.drift_partial(read_part(root, f), options=opts).to_json()))
        for f in files]
    merged = drift_partial.merge(pieces).finalize().to_dict()
    assert merged.pop("merge")["parts"] == PARTITIONS
    same({k: v for k, v in whole.items() if k != "input"},
         {k: v for k, v in merged.items() if k != "input"})
    assert whole["summary"]["judged"] >= 2 and whole["drifted"]  # week two drifts
    kinds = {f["type"] for w in whole["windows"] for f in w["features"] if f["judged"]}
    assert {"numeric", "categorical", "text"} <= kinds


# --- the JSON form -----------------------------------------------------------------------


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.none(), max_size=30))
def test_frame_columns_survive_json_exactly(values: list[float | None]) -> None:
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.Float64),
                          "t": pl.Series([1_700_000_000_123_456] * len(values)).cast(
                              pl.Datetime("us", "UTC"))})
    back = decode(json.loads(json.dumps(encode(frame))), "test")
    assert back.equals(frame)


def test_a_column_of_the_wrong_type_is_an_input_error() -> None:
    with pytest.raises(InputError, match="column 'x'"):
        decode({"x": {"dtype": "int64", "values": ["one"]}}, "part.json")
    with pytest.raises(InputError, match="dtype"):
        decode({"x": {"dtype": "__import__('os')", "values": []}}, "part.json")


# --- the CLI -----------------------------------------------------------------------------

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_merge_cli_finishes_diff_partials_like_the_command(parts: tuple[Path, list[Path]],
                                                           tmp_path: Path) -> None:
    root, files = parts
    for i, file in enumerate(files[:12]):  # 12 parts: enough, and quick
        result = _run("diff-prompts", str(file), "--baseline", "v1", "--candidate", "v2",
                      "--partial-out", str(tmp_path / f"part-{i:02d}.json"))
        assert result.exit_code == 0, result.output
    merged = _run("merge", str(tmp_path), "--format", "json")
    whole = _run("diff-prompts", *map(str, files[:12]), "--baseline", "v1", "--candidate",
                 "v2", "--format", "json")
    assert merged.exit_code == whole.exit_code, merged.output
    got, want = json.loads(merged.stdout), json.loads(whole.stdout)
    assert got["merge"]["parts"] == 12
    same(want["metrics"], got["metrics"])
    assert got["verdict"] == want["verdict"]


def test_merge_cli_summary_and_drift(parts: tuple[Path, list[Path]], tmp_path: Path) -> None:
    root, files = parts
    for i, file in enumerate(files):
        assert _run("summarize", str(file), "--partial-out",
                    str(tmp_path / "s" / f"{i:02d}.json")).exit_code == 0
        assert _run("drift", str(file), "--window", "7d", "--partial-out",
                    str(tmp_path / "d" / f"{i:02d}.json")).exit_code == 0
    got = _run("merge", str(tmp_path / "s"), "--format", "json")
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["total"]["requests"] == RECORDS
    drift = _run("merge", str(tmp_path / "d"), "--format", "json")
    whole = _run("drift", str(root), "--window", "7d", "--format", "json")
    assert drift.exit_code == whole.exit_code == 1  # week two drifts, both ways
    same(json.loads(whole.stdout)["windows"], json.loads(drift.stdout)["windows"])


def test_merge_cli_refuses_bad_files_with_one_line(tmp_path: Path,
                                                   parts: tuple[Path, list[Path]]) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something-else"}')
    result = _run("merge", str(junk))
    assert result.exit_code == 3 and "not a genailog partial" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert _run("merge", str(broken)).exit_code == 3
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert _run("summarize", str(parts[1][0]), "--partial-out", str(a)).exit_code == 0
    assert _run("drift", str(parts[1][0]), "--partial-out", str(b)).exit_code == 0
    mixed = _run("merge", str(a), str(b))
    assert mixed.exit_code == 2 and "different commands" in mixed.output
    assert _run("merge", str(b), "--fail-if", "requests > 1").exit_code == 2


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node[:3]) for p in _leaves(v, (*path, i))]
    return [path]


@pytest.fixture(scope="module")
def partial_files(parts: tuple[Path, list[Path]], tmp_path_factory: pytest.TempPathFactory
                  ) -> list[dict[str, Any]]:
    root, files = parts
    logs = read_part(root, files[0])
    return [json.loads(diff_partial.diff_partial(logs.frame, "v1", "v2", opts).to_json())
            for opts in (DiffOptions(resamples=100), DiffOptions(resamples=100,
                                                                 pair_on="user_id"))] + [
        json.loads(drift_partial.drift_partial(logs).to_json())]


_JUNK = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(
    max_size=5) | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3),
                                                                      st.integers(), max_size=2)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_damaged_partial_is_a_clear_error_never_a_crash(
        partial_files: list[dict[str, Any]], data: st.DataObject, tmp_path_factory: Any
        ) -> None:
    """Any one value of a partial replaced by junk: merge finishes or fails with exit 2
    or 3 and one line, never a traceback (exit 70)."""
    document = json.loads(json.dumps(data.draw(st.sampled_from(partial_files))))
    path = data.draw(st.sampled_from(_leaves(document)))
    target = document
    for key in path[:-1]:
        target = target[key]
    if path:
        target[path[-1]] = data.draw(_JUNK)
    out = tmp_path_factory.mktemp("junk") / "part.json"
    out.write_text(json.dumps(document))
    result = runner.invoke(app, ["merge", str(out), "--format", "json"])
    assert result.exit_code in (0, 1, 2, 3), (path, result.output[-800:])


def test_drift_reference_parts_merge_once(parts: tuple[Path, list[Path]], tmp_path: Path
                                          ) -> None:
    """--reference with --partial-out: the reference rides in one part; the merge equals
    drift with --reference on the whole, and a reference given to two parts is refused."""
    root, files = parts
    reference, logs = files[:7], files[7:]
    args = ["--window", "7d", *(a for f in reference for a in ("--reference", str(f)))]
    for i, file in enumerate(logs):
        extra = args if i == 0 else ["--window", "7d"]
        assert _run("drift", str(file), *extra, "--partial-out",
                    str(tmp_path / "d" / f"{i:02d}.json")).exit_code == 0
    merged = _run("merge", str(tmp_path / "d"), "--format", "json")
    whole = _run("drift", *map(str, logs), *args, "--format", "json")
    assert merged.exit_code == whole.exit_code, merged.output
    want, got = json.loads(whole.stdout), json.loads(merged.stdout)
    assert got["reference"]["source"] == "reference_paths"
    same(want["windows"], got["windows"])
    same(want["reference"], got["reference"])
    assert _run("drift", str(logs[1]), *args, "--partial-out",
                str(tmp_path / "d" / "99.json")).exit_code == 0
    twice = _run("merge", str(tmp_path / "d"))
    assert twice.exit_code == 2 and "more than one partial" in twice.output


@pytest.mark.parametrize(("which", "path", "junk", "says"), [
    (0, ("options", "metrics"), [], "names no metric"),
    (0, ("options", "metrics"), [""], "names no metric"),
    (0, ("options", "pair_on"), "x", "pair_on and the pairs disagree"),
    (0, ("options", "resamples"), 2**70, "resamples"),
    (2, ("rows", "_start", "values", 0), None, "a null in _start"),
    (2, ("inputs", 0, "policy"), float("nan"), "NaN is not a number JSON allows"),
])
def test_damaged_partials_found_by_a_sweep_are_exit_3(
        partial_files: list[dict[str, Any]], which: int, path: tuple[Any, ...], junk: Any,
        says: str, tmp_path: Path) -> None:
    """A sweep of every value of a partial replaced by junk found these exits 70 (no
    column to explode, an assertion, a bootstrap of 2**70 resamples, a null window, NaN
    echoed into JSON output)."""
    document = json.loads(json.dumps(partial_files[which]))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    out = tmp_path / "part.json"
    out.write_text(json.dumps(document))  # NaN is written as the token NaN
    result = runner.invoke(app, ["merge", str(out), "--format", "json"])
    assert result.exit_code == 3 and says in result.output, result.output
