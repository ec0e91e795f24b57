"""promptfoo export: an answer judged bad is never the expected output.

Exporting badly rated calls as a regression set used to write ``assert: similar`` to the
bad answer itself, so the set rewarded reproducing the failure. Every combination of
hallucination flag and rating is checked against the rule written out independently here.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from genailog.cli.app import app

FLAGS = (True, False, None)
RATINGS = (None, 0, 1, 2, 2.5, 3, 5)


def _records() -> list[dict[str, Any]]:
    return [{"timestamp": "2026-11-01T10:00:00Z", "model": "gpt-4.1",
             "request_id": f"r{i}", "prompt": f"question {i}", "response": f"answer {i}",
             "hallucination_flag": flag, "feedback_rating": rating}
            for i, (flag, rating) in enumerate(itertools.product(FLAGS, RATINGS))]


def _bad(record: dict[str, Any], at_most: float) -> bool:
    rating = record["feedback_rating"]
    return record["hallucination_flag"] is True or (rating is not None and rating <= at_most)


def _export(tmp_path: Path, *args: str) -> tuple[Any, list[dict[str, Any]], str]:
    logs = tmp_path / "logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    out = tmp_path / "tests.yaml"
    result = CliRunner().invoke(app, ["export-dataset", str(logs), "--out", str(out),
                                      "--overwrite", *args])
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    return result, yaml.safe_load(text) if text else [], text


@pytest.mark.parametrize(("args", "at_most"), [((), 2.0), (("--bad-rating", "0"), 0.0)])
def test_omit_writes_no_assertion_from_a_bad_answer(tmp_path: Path, args: tuple[str, ...],
                                                   at_most: float) -> None:
    result, tests, text = _export(tmp_path, *args)
    assert result.exit_code == 0, result.output
    by_id = {t["metadata"]["request_id"]: t for t in tests}
    records = _records()
    assert len(by_id) == len(records)
    for record in records:
        test = by_id[record["request_id"]]
        if _bad(record, at_most):
            assert "assert" not in test, (record, test)
            assert test["metadata"]["judged_bad"], test
        else:
            assert test["assert"] == [{"type": "similar", "value": record["response"],
                                       "threshold": 0.8}], (record, test)
            assert "judged_bad" not in test["metadata"]
    judged = sum(_bad(r, at_most) for r in records)
    assert f"# {judged} test(s) come from answers judged bad" in text


def test_not_similar_inverts_the_assertion(tmp_path: Path) -> None:
    result, tests, _ = _export(tmp_path, "--bad-answers", "not-similar")
    assert result.exit_code == 0, result.output
    for record, test in zip(_records(), tests, strict=True):
        kind = "not-similar" if _bad(record, 2.0) else "similar"
        assert test["assert"] == [{"type": kind, "value": record["response"],
                                   "threshold": 0.8}], (record, test)


def test_no_similar_assertion_ever_names_a_bad_answer(tmp_path: Path) -> None:
    """The regression set exported the way the docs show it (only the bad calls)."""
    result, tests, _ = _export(tmp_path, "--where", "feedback_rating <= 2 OR "
                               "hallucination_flag")
    assert result.exit_code == 0, result.output
    assert tests and all(a["type"] != "similar" for t in tests for a in t.get("assert", []))


def test_the_reason_names_the_judgement(tmp_path: Path) -> None:
    _, tests, _ = _export(tmp_path)
    reasons = {t["metadata"]["judged_bad"] for t in tests if "judged_bad" in t["metadata"]}
    assert {"hallucination_flag", "feedback_rating 1 <= 2", "feedback_rating 0 <= 2"} <= reasons


def test_an_unknown_policy_is_a_usage_error(tmp_path: Path) -> None:
    result, _, _ = _export(tmp_path, "--bad-answers", "keep")
    assert result.exit_code == 2, result.output
    assert "--bad-answers takes omit or not-similar" in result.stderr
