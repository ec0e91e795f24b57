"""--engine: the per-file work of summarize, diff-prompts and drift on a Dask cluster of
worker processes on 127.0.0.1, merged, gives the single-machine answer.

Dask is an optional extra (genailog[dask]): without it these tests skip, except under
GENAILOG_REQUIRE_ALL=1 (CI installs it), where a skip is a failure.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_or_skip
from test_merge import RECORDS, same, write_partitions
from typer.testing import CliRunner

from genailog.analysis.compare import DiffOptions, diff_prompts
from genailog.analysis.drift import DriftOptions, detect_drift
from genailog.analysis.summarize import summarize
from genailog.cli.app import app
from genailog.engine import parse_engine, plan, run_diff, run_drift, run_summary
from genailog.engine.runner import EngineSpec
from genailog.errors import InputError, UsageError
from genailog.ingest import read_logs
from genailog.query.prune import partition_prune

WORKERS = 2



@pytest.fixture(scope="module")
def cluster() -> Iterator[EngineSpec]:
    """One local cluster of WORKERS processes for the module, reached by address."""
    try:
        import distributed
    except ImportError:
        require_or_skip("Dask's distributed is not installed: pip install 'genailog[dask]'")
    import logging

    with distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.ERROR) as local:
        address = local.scheduler_address.removeprefix("tcp://")
        assert address.startswith("127.0.0.1:")
        yield parse_engine(f"dask://{address}")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("engine")
    write_partitions(root, n=RECORDS)
    return root


def _workers_used(spec: EngineSpec) -> int:
    import distributed

    with distributed.Client(f"tcp://{spec.address}") as client:
        return len(client.scheduler_info()["workers"])


def test_summary_on_the_cluster_equals_one_machine(cluster: EngineSpec, data: Path) -> None:
    assert _workers_used(cluster) == WORKERS
    whole = summarize(read_logs(data), by=["model", "date"]).to_dict()
    merged = run_summary(data, cluster, by=["model", "date"]).finalize().to_dict()
    same(whole["groups"], merged["groups"])
    same(whole["total"], merged["total"])
    assert {g["date"] for g in merged["groups"]} == {g["date"] for g in whole["groups"]}


def test_diff_and_drift_on_the_cluster_equal_one_machine(cluster: EngineSpec, data: Path
                                                          ) -> None:
    logs = read_logs(data)
    opts = DiffOptions(resamples=300)
    whole = diff_prompts(logs.frame, "v1", "v2", opts).to_dict()
    merged = run_diff(data, cluster, "v1", "v2", opts).finalize().to_dict()
    same(whole["metrics"], merged["metrics"])
    assert merged["input"]["records"] == RECORDS and merged["merge"]["parts"] == 24
    drift_opts = DriftOptions(window="7d", sample_size=200)
    want = detect_drift(logs, options=drift_opts).to_dict()
    got = run_drift(data, cluster, drift_opts).finalize().to_dict()
    same(want["windows"], got["windows"])
    same(want["reference"], got["reference"])


def test_pruning_sends_only_the_selected_partitions(cluster: EngineSpec, data: Path) -> None:
    since, until = "2026-11-10", "2026-11-13"
    listing = plan(data, partition_prune(None, since, until))
    assert len(listing.units) == 3 and listing.partitions["files_skipped"] == 21
    whole = summarize(read_logs(data), since=since, until=until).to_dict()
    merged = run_summary(data, cluster, since=since, until=until).finalize().to_dict()
    same(whole["total"], merged["total"])


def test_the_cli_engine_option_gives_the_commands_output(cluster: EngineSpec, data: Path
                                                         ) -> None:
    runner = CliRunner()
    args = ["diff-prompts", str(data), "--baseline", "v1", "--candidate", "v2",
            "--resamples", "300", "--format", "json"]
    here = runner.invoke(app, args)
    there = runner.invoke(app, [*args, "--engine", str(cluster)])
    assert there.exit_code == here.exit_code, there.output
    want, got = json.loads(here.stdout), json.loads(there.stdout)
    same(want["metrics"], got["metrics"])
    assert got["merge"]["recomputed_on_merged_data"]


@pytest.mark.slow
def test_a_local_cluster_by_name(data: Path, cluster: EngineSpec) -> None:
    """``--engine dask`` starts (and stops) its own cluster of worker processes."""
    part = run_summary(data, parse_engine("dask"), workers=WORKERS, by=["model"])
    assert part.finalize().to_dict()["total"]["requests"] == RECORDS


def test_an_unreadable_file_fails_the_run_as_it_fails_one_read(cluster: EngineSpec,
                                                              tmp_path: Path) -> None:
    write_partitions(tmp_path, n=480)
    bad = tmp_path / "date=2026-11-30" / "part-0.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"timestamp": "2026-11-30T00:00:00Z", "model": 5}\n')
    with pytest.raises(InputError) as raised:
        run_summary(tmp_path, cluster)
    assert "part-0.jsonl" in str(raised.value)


@pytest.mark.parametrize("text", ["spark", "dask://", "ray://127.0.0.1:1"])
def test_engine_names_are_checked(text: str) -> None:
    with pytest.raises(UsageError):
        parse_engine(text)


def test_without_dask_the_message_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                                      data: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if absent
    with pytest.raises(UsageError, match=r"genailog\[dask\]"):
        run_summary(data, parse_engine("dask"))


def test_an_unreachable_scheduler_is_a_usage_error(data: Path, cluster: EngineSpec
                                                    ) -> None:
    with pytest.raises(UsageError, match="cannot reach"):
        run_summary(data, EngineSpec("dask", "127.0.0.1:9"))


def test_a_field_only_some_files_carry_is_null_in_the_others(cluster: EngineSpec,
                                                             tmp_path: Path) -> None:
    """One read of every file has the field everywhere (null where a file lacks it); a
    worker that reads one file must see the same, or --where and --by would fail there."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "p.jsonl").write_text(
        '{"timestamp": "2026-11-01T00:00:00Z", "model": "m", "team": "x", "latency_ms": 5}\n')
    (tmp_path / "b" / "p.jsonl").write_text(
        '{"timestamp": "2026-11-02T00:00:00Z", "model": "m", "latency_ms": 7}\n')
    for options in ({"where": "team = 'x'"}, {"by": ["team"]}):
        whole = summarize(read_logs(tmp_path), **options).to_dict()
        merged = run_summary(tmp_path, cluster, **options).finalize().to_dict()
        same(whole["total"], merged["total"])
        same(whole["groups"], merged["groups"])


def test_engine_with_partial_out_writes_the_merged_partial(cluster: EngineSpec, data: Path,
                                                           tmp_path: Path) -> None:
    """--engine --partial-out: the cluster's merged partial, which merge finishes like the
    command (so a cluster's result can itself be a part of a larger merge)."""
    runner = CliRunner()
    out = tmp_path / "parts" / "all.json"
    args = ["drift", str(data), "--window", "7d", "--sample-size", "200"]
    wrote = runner.invoke(app, [*args, "--engine", str(cluster), "--partial-out", str(out)])
    assert wrote.exit_code == 0, wrote.output
    merged = runner.invoke(app, ["merge", str(out.parent), "--format", "json"])
    whole = runner.invoke(app, [*args, "--format", "json"])
    assert merged.exit_code == whole.exit_code == 1  # week two drifts
    same(json.loads(whole.stdout)["windows"], json.loads(merged.stdout)["windows"])
