"""Drift gives the same bits run after run: reports, CI gates and diffs of JSON depend on it.

Polars' ``value_counts`` and ``group_by`` give the labels of a categorical feature in an
order that changes from run to run; the category order must not follow it, or the float
sums behind Cramer's V and Jensen-Shannon change in their last digit.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
from drift_synthetic import synthetic_logs
from hypothesis import given, settings
from hypothesis import strategies as st

from genailog.analysis.drift import DriftOptions, categorical, detect_drift
from genailog.api import detect_drift as detect_drift_from_paths

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"
#: Categorical and numeric features only: the text classifiers take seconds per run and
#: are covered by the single full run below.
CHEAP = ("latency_ms", "input_tokens", "output_tokens", "cost_usd", "model", "status",
         "error_type", "finish_reason")

counts = st.dictionaries(st.text(min_size=1, max_size=4), st.integers(1, 4), min_size=2,
                         max_size=70)


def _shuffled(mapping: dict[str, int], seed: int) -> dict[str, int]:
    items = list(mapping.items())
    random.Random(seed).shuffle(items)
    return dict(items)


@settings(max_examples=60, deadline=None)
@given(reference=counts, current=counts, seed=st.integers(0, 2**16))
def test_categorical_scores_do_not_depend_on_the_order_labels_arrive_in(
        reference: dict[str, int], current: dict[str, int], seed: int) -> None:
    """Few distinct counts, many ties and more than MAX_CATEGORIES labels: the cases where
    an order by arrival would show."""
    shuffled_ref, shuffled_cur = _shuffled(reference, seed), _shuffled(current, seed + 1)
    labels, ref, cur = categorical.category_counts(reference, current)
    labels2, ref2, cur2 = categorical.category_counts(shuffled_ref, shuffled_cur)
    assert labels == labels2
    assert ref.tobytes() == ref2.tobytes() and cur.tobytes() == cur2.tobytes()
    for method in (categorical.chisquare, categorical.jensenshannon):
        first, second = method(reference, current), method(shuffled_ref, shuffled_cur)
        assert (first.score, first.detail) == (second.score, second.detail)


def test_ranking_is_by_count_then_label() -> None:
    labels, ref, cur = categorical.category_counts({"b": 1, "a": 1, "c": 5}, {"d": 2})
    assert labels == ["c", "d", "a", "b"]
    assert ref.tolist() == [5, 0, 1, 1] and cur.tolist() == [0, 2, 0, 0]


def _json(result: object) -> str:
    return json.dumps(result.to_dict(), sort_keys=True)  # type: ignore[attr-defined]


def test_drift_on_sample_logs_is_identical_run_after_run() -> None:
    cheap = DriftOptions(features=CHEAP)
    outputs = {_json(detect_drift_from_paths([str(SAMPLE_LOGS)], options=cheap))
               for _ in range(6)}
    assert len(outputs) == 1
    full = {_json(detect_drift_from_paths([str(SAMPLE_LOGS)])) for _ in range(2)}
    assert len(full) == 1


def _many_labels(rows: int) -> pl.DataFrame:
    """Synthetic logs with 120 error types of equal frequency (ties, pooled "(other)") and
    a status per record: large enough for polars to count on several threads."""
    frame = synthetic_logs(days=8, per_day=rows // 8, change_day=4, seed=3)
    rng = np.random.default_rng(5)
    kinds = np.array([f"E{k:03d}" for k in range(120)])
    return frame.with_columns(
        pl.Series("error_type", kinds[rng.integers(0, kinds.size, frame.height)]),
        pl.Series("finish_reason", kinds[rng.integers(0, 30, frame.height)]))


def test_drift_on_a_large_frame_is_identical_run_after_run() -> None:
    frame = _many_labels(200_000)
    options = DriftOptions(features=("latency_ms", "model", "error_type", "finish_reason"))
    results = [detect_drift(frame, options=options) for _ in range(5)]
    assert len({_json(result) for result in results}) == 1
    judged = {f.feature for f in results[0].windows[-1].features if f.judged}
    assert judged == {"latency_ms", "model", "error_type", "finish_reason"}
