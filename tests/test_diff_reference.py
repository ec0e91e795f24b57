"""``diff-prompts PATHS --reference MAIN``: a PR's logs against main's, no version field.

Both artifacts carry the same ``prompt_version``; the comparison must use the same
statistics as the version comparison (checked against it row by row), catch a known
injected regression (exit 1), and raise few false alarms on identical distributions
(200 seeded runs, share reported with its exact binomial interval).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from scipy.stats import binomtest
from test_diff_prompts import ab_records
from typer.testing import CliRunner

import genailog
from genailog.analysis.compare import DiffOptions, diff_prompts
from genailog.cli.app import app
from genailog.errors import UsageError
from genailog.ingest.frame import canonical_frame

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "schemas" / "diff-prompts.output.schema.json").read_text())


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["diff-prompts", *args])


def _frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    frame, _ = canonical_frame(records)
    return frame


def _artifacts(tmp_path: Path, **pr: Any) -> tuple[Path, Path]:
    """main's and a PR's logs, both of prompt_version v1; ``pr`` changes the PR's calls."""
    main = _write(tmp_path / "main.jsonl", ab_records(600, "v1", 1))
    head = _write(tmp_path / "pr.jsonl", ab_records(600, "v1", 2, **pr))
    return head, main


# --- the "Done when" scenarios -------------------------------------------------------


def test_injected_regression_with_the_same_prompt_version_exits_1(tmp_path: Path) -> None:
    head, main = _artifacts(tmp_path, latency=1.5)
    result = _cli(str(head), "--reference", str(main), "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert "latency_ms median" in data["regressions"]
    assert (data["baseline"], data["candidate"]) == ("reference", "current")
    assert (data["n_baseline"], data["n_candidate"]) == (600, 600)
    assert data["reference"]["input"]["records"] == 600
    assert data["reference"]["baseline_version"] is None
    latency = next(m for m in data["metrics"] if m["metric"] == "latency_ms"
                   and m["statistic"] == "median")
    assert latency["delta_pct"] == pytest.approx(50, abs=12)
    assert "regression: latency_ms median" in result.stderr


def test_identical_distributions_alarm_in_at_most_5_percent_of_200_seeded_runs() -> None:
    """Each run draws main's and the PR's logs from one distribution (fresh seeds) and
    compares them with the defaults; a run 'exits 1' when any metric is a regression
    (the CLI's rule, checked on a few runs below). 150 records a side judge every
    statistic, p95 included."""
    runs, alarms = 200, []
    for seed in range(runs):
        main = _frame(ab_records(150, "v1", 10_000 + 2 * seed))
        head = _frame(ab_records(150, "v1", 10_001 + 2 * seed))
        result = diff_prompts(head, options=DiffOptions(seed=seed), reference=main)
        assert result.verdict != "insufficient data"
        if result.regressions:
            alarms.append(seed)
    share = len(alarms) / runs
    ci = binomtest(len(alarms), runs).proportion_ci(0.95, method="exact")
    print(f"false alarms: {len(alarms)}/{runs} = {share:.1%} "
          f"(95% Clopper-Pearson {ci.low:.1%}..{ci.high:.1%}); seeds {alarms}")
    assert share <= 0.05, (alarms, ci)


def test_cli_exit_code_is_the_library_verdict(tmp_path: Path) -> None:
    for seed in range(3):
        main = _write(tmp_path / f"m{seed}.jsonl", ab_records(150, "v1", 10_000 + 2 * seed))
        head = _write(tmp_path / f"p{seed}.jsonl", ab_records(150, "v1", 10_001 + 2 * seed))
        result = _cli(str(head), "--reference", str(main), "--seed", str(seed))
        library = genailog.diff_prompts(head, options=DiffOptions(seed=seed), reference=main)
        assert result.exit_code == (1 if library.regressions else 0), result.output


# --- same statistics as the version comparison ----------------------------------------


def test_reference_rows_equal_the_version_comparison_of_the_same_records() -> None:
    """Relabelled into one set of logs (main as v-main, the PR as v-pr), the version
    comparison must give every row the same numbers."""
    main, head = ab_records(400, "v1", 5), ab_records(400, "v1", 6, latency=1.1)
    by_reference = diff_prompts(_frame(head), reference=_frame(main)).to_dict()
    relabelled = [dict(r, prompt_version="v-main") for r in main] + [
        dict(r, prompt_version="v-pr") for r in head]
    by_version = diff_prompts(_frame(relabelled), "v-main", "v-pr").to_dict()
    assert by_reference["metrics"] == by_version["metrics"]
    assert by_reference["verdict"] == by_version["verdict"]


def test_paired_on_a_case_id_across_artifacts() -> None:
    main = ab_records(300, "v1", 7)
    head = [dict(r, feedback_rating=1.0) if i % 4 == 0 else r for i, r in enumerate(main)]
    result = diff_prompts(_frame(head), options=DiffOptions(pair_on="case_id"),
                          reference=_frame(main))
    assert result.n_matched == 300
    assert result.paired_changes is not None
    rating = next(m for m in result.metrics if m.metric == "feedback_rating")
    assert rating.regression and rating.test == "wilcoxon-signed-rank"


def test_baseline_and_candidate_pick_a_version_within_each_side(tmp_path: Path) -> None:
    main = _write(tmp_path / "main.jsonl", ab_records(200, "v1", 1) + ab_records(300, "v2", 2))
    head = _write(tmp_path / "pr.jsonl", ab_records(250, "v2", 3) + ab_records(50, "v3", 4))
    result = _cli(str(head), "--reference", str(main), "--baseline", "v2", "--candidate",
                  "v2", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert (data["n_baseline"], data["n_candidate"]) == (300, 250)
    assert data["reference"]["baseline_version"] == "v2"
    assert (data["baseline"], data["candidate"]) == ("reference v2", "current v2")
    only_one = _cli(str(head), "--reference", str(main), "--candidate", "v3",
                    "--format", "json")
    data = json.loads(only_one.stdout)
    assert (data["n_baseline"], data["n_candidate"]) == (500, 50)


def test_where_filters_both_sides(tmp_path: Path) -> None:
    head, main = _artifacts(tmp_path)
    data = json.loads(_cli(str(head), "--reference", str(main), "--where",
                           "status = 'ok'", "--format", "json").stdout)
    expected = [sum(1 for line in p.read_text().splitlines()
                    if json.loads(line)["status"] == "ok") for p in (main, head)]
    assert [data["n_baseline"], data["n_candidate"]] == expected


def test_api_takes_paths_for_both_and_equals_the_cli(tmp_path: Path) -> None:
    head, main = _artifacts(tmp_path, latency=1.5)
    library = genailog.diff_prompts(head, reference=main).to_dict()
    cli = json.loads(_cli(str(head), "--reference", str(main), "--format", "json").stdout)
    assert library == cli


# --- usage errors --------------------------------------------------------------------


def test_a_version_missing_on_one_side_names_that_side_and_exits_2(tmp_path: Path) -> None:
    head, main = _artifacts(tmp_path)
    result = _cli(str(head), "--reference", str(main), "--baseline", "v9")
    assert result.exit_code == 2, result.output
    assert "reference logs have no records with prompt_version = v9" in result.stderr
    assert "v1 (600)" in result.stderr


def test_neither_versions_nor_reference_is_refused_before_reading(tmp_path: Path) -> None:
    result = _cli(str(tmp_path / "missing.jsonl"), "--baseline", "v1")
    assert result.exit_code == 2, result.output
    assert "--reference" in result.stderr
    with pytest.raises(UsageError, match="--reference"):
        genailog.diff_prompts(tmp_path / "missing.jsonl", "v1")


def test_a_field_of_two_types_is_one_clear_line(tmp_path: Path) -> None:
    main = _write(tmp_path / "main.jsonl",
                  [dict(r, score=1.5) for r in ab_records(50, "v1", 1)])
    head = _write(tmp_path / "pr.jsonl",
                  [dict(r, score="high") for r in ab_records(50, "v1", 2)])
    result = _cli(str(head), "--reference", str(main), "--metrics", "score")
    assert result.exit_code in (2, 3), result.output
    assert "score" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_markdown_headline_and_notes_name_the_two_sides(tmp_path: Path) -> None:
    head, main = _artifacts(tmp_path)
    result = _cli(str(head), "--reference", str(main), "--format", "markdown")
    assert "## genailog diff-prompts: reference → current" in result.stdout
    assert "reference (600 records) -> current (600 records), unpaired" in result.stdout


def test_partitions_the_filters_exclude_are_skipped_on_both_sides(tmp_path: Path) -> None:
    """Hive folders day=...: --where on the key skips the other day's files unopened, in
    the PR's logs and in main's alike (the filters apply to both sides)."""
    for side, seed in (("main", 1), ("pr", 2)):
        for day in ("2026-11-01", "2026-11-02"):
            folder = tmp_path / side / f"day={day}"
            folder.mkdir(parents=True)
            _write(folder / "a.jsonl", [dict(r, timestamp=f"{day}T10:00:00Z")
                                        for r in ab_records(60, "v1", seed)])
    result = _cli(str(tmp_path / "pr"), "--reference", str(tmp_path / "main"), "--where",
                  "day = '2026-11-02'", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert (data["n_baseline"], data["n_candidate"]) == (60, 60)
    for read in (data["input"], data["reference"]["input"]):
        assert read["partitions"]["files_skipped"] == 1, read


@pytest.mark.parametrize("command", [["diff-prompts"], ["summarize"]])
def test_standard_input_is_read_once(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "-", "--reference", "-"], input="")
    assert result.exit_code == 2, result.output
    assert "both name - (standard input)" in result.stderr
