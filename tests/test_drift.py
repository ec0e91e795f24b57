"""detect_drift on synthetic logs: a known change is found, stationary logs stay quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from drift_synthetic import synthetic_logs

from genailog.analysis.drift import DriftOptions, DriftResult, detect_drift
from genailog.errors import UsageError
from genailog.ingest.frame import canonical_frame

CHANGE_DAY = 14
EXPECTED = {"latency_ms", "prompt_length", "prompt"}


@pytest.fixture(scope="module")
def changed() -> DriftResult:
    return detect_drift(synthetic_logs(change_day=CHANGE_DAY, per_day=600, seed=11))


def test_every_window_from_the_change_on_is_flagged_with_the_right_features(
        changed: DriftResult) -> None:
    change = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=CHANGE_DAY)
    after = [w for w in changed.windows if w.span.start is not None and w.span.start >= change]
    assert len(after) == 28 - CHANGE_DAY
    for window in after:
        assert window.drifted, window.span
        assert EXPECTED <= set(window.drifted_features), window.drifted_features
        unexpected = set(window.drifted_features) - EXPECTED - {"input_tokens", "cost_usd"}
        assert not unexpected, unexpected  # input tokens and cost follow prompt length


def test_stationary_windows_before_the_change_raise_at_most_one_false_alarm(
        changed: DriftResult) -> None:
    before = changed.windows[: CHANGE_DAY - 1]
    assert all(w.judged for w in before)
    assert sum(w.drifted for w in before) <= 1


def test_text_drift_names_the_new_topic(changed: DriftResult) -> None:
    window = changed.windows[-1]
    prompt = next(f for f in window.features if f.feature == "prompt")
    terms = [t["term"] for t in prompt.detail["terms_current"]]
    assert "crypto wallet" in terms, terms
    assert "crypto wallet" in prompt.summary


def test_direction_is_described(changed: DriftResult) -> None:
    latency = next(f for f in changed.windows[-1].features if f.feature == "latency_ms")
    assert latency.summary.startswith("p50 +")  # latency went up by about half
    percent = int(latency.summary.split("%")[0].removeprefix("p50 +"))
    assert 30 <= percent <= 70


def test_unlogged_features_are_reported_not_monitored(changed: DriftResult) -> None:
    skipped = {s["feature"]: s["reason"] for s in changed.skipped_features}
    assert skipped == {"ttft_ms": "not logged", "hallucination_flag": "not logged",
                       "embedding": "not logged"}
    assert changed.settings["tests"] == 27 * 15


@pytest.mark.parametrize("seed", [21, 22])
def test_stationary_logs_do_not_alarm(seed: int) -> None:
    # bench/bench_drift.py --false-alarms measures the rate over 20 seeds
    result = detect_drift(synthetic_logs(per_day=200, seed=seed))
    assert not result.drifted, [(w.span.start, w.drifted_features) for w in result.windows]


def test_windows_with_too_few_records_are_reported_and_not_judged() -> None:
    frame = synthetic_logs(days=4, per_day=300, seed=5)
    day3 = pl.col("timestamp").dt.day() == 7
    frame = pl.concat([frame.filter(~day3), frame.filter(day3).head(40)])
    result = detect_drift(frame, options=DriftOptions(min_records=100))
    small = next(w for w in result.windows if w.span.start.day == 7)
    assert not small.judged and not small.drifted and small.features == []
    assert small.reason is not None and "40 records" in small.reason
    assert result.to_dict()["summary"] == {"windows": 3, "judged": 2, "drifted": 0,
                                           "insufficient": 1}


def test_reference_window_and_separate_reference_give_the_same_answer() -> None:
    frame = synthetic_logs(days=10, per_day=300, change_day=7, seed=8)
    start, end = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 7, tzinfo=UTC)
    in_ref = pl.col("timestamp") < end
    by_range = detect_drift(frame, options=DriftOptions(reference_window=(start, end)))
    by_files = detect_drift(frame.filter(~in_ref), reference=frame.filter(in_ref))
    assert by_range.reference.records == by_files.reference.records == 600
    assert by_range.reference_source == "reference_window"
    assert by_files.reference_source == "reference_paths"
    assert [w.drifted for w in by_range.windows] == [w.drifted for w in by_files.windows]
    assert [w.drifted for w in by_range.windows] == [False] * 5 + [True] * 3


def test_drift_share_rule_needs_that_share_of_features() -> None:
    frame = synthetic_logs(days=4, per_day=300, change_day=2, seed=9)
    anyone = detect_drift(frame)
    half = detect_drift(frame, options=DriftOptions(drift_share=0.5))
    assert anyone.drifted and anyone.windows[-1].share < 0.5
    assert not half.drifted


def test_methods_and_thresholds_can_be_chosen_per_feature_or_type() -> None:
    frame = synthetic_logs(days=3, per_day=300, seed=10)
    options = DriftOptions(features=("latency_ms", "model", "output_tokens", "latency_ms"),
                           methods={"numeric": "ks", "latency_ms": "wasserstein"},
                           thresholds={"ks": 0.3, "model": 0.2})
    result = detect_drift(frame, options=options)
    assert result.settings["methods"] == {"latency_ms": "wasserstein", "model": "chisquare",
                                          "output_tokens": "ks"}
    assert result.settings["thresholds"] == {"latency_ms": 0.1, "model": 0.2,
                                             "output_tokens": 0.3}


def test_users_own_fields_can_be_monitored_with_a_type() -> None:
    records = [{"timestamp": f"2026-01-0{1 + i % 2}T10:00:00Z", "model": "m",
                "question": ("billing help" if i % 2 == 0 else "crypto wallet") + f" {i % 7}",
                "region": "eu" if i % 2 == 0 else "us"} for i in range(400)]
    frame, _ = canonical_frame(records)
    options = DriftOptions(features=("question:text", "region"))
    window = detect_drift(frame, options=options).windows[0]
    assert [(f.feature, f.kind, f.drifted) for f in window.features] == [
        ("question", "text", True), ("region", "categorical", True)]


def test_same_seed_same_result_and_sampling_bounds_text() -> None:
    frame = synthetic_logs(days=3, per_day=500, seed=12)
    options = DriftOptions(sample_size=200, seed=3)
    first = detect_drift(frame, options=options).to_dict()
    assert first == detect_drift(frame, options=options).to_dict()
    prompt = next(f for f in first["windows"][0]["features"] if f["feature"] == "prompt")
    assert prompt["detail"]["sampled"] == [200, 200]


@pytest.mark.parametrize(("options", "message"), [
    (DriftOptions(window="1 day"), "--window"),
    (DriftOptions(features=("nope",)), "unknown feature"),
    (DriftOptions(methods={"latency_ms": "domain_classifier"}), "does not apply"),
    (DriftOptions(methods={"nope": "ks"}), "not a monitored feature"),
    (DriftOptions(thresholds={"nope": 1.0}), "not a monitored feature"),
    (DriftOptions(alpha=0.0), "--alpha"),
    (DriftOptions(features=("timestamp:numeric",)), "cannot be a drift feature"),
    (DriftOptions(min_records=10_000), "reference holds"),
    (DriftOptions(reference_window=(datetime(2026, 2, 1, tzinfo=UTC),
                                    datetime(2026, 1, 1, tzinfo=UTC))), "START before END"),
])
def test_usage_errors(options: DriftOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        detect_drift(synthetic_logs(days=2, per_day=150, seed=1), options=options)


def test_embeddings_are_monitored_by_the_domain_classifier() -> None:
    import numpy as np

    rng = np.random.default_rng(13)
    vectors = rng.normal(0.0, 1.0, (900, 8))
    vectors[600:, 0] += 1.0  # the third day's embeddings moved along one axis
    records = [{"timestamp": f"2026-01-0{1 + i // 300}T12:00:00Z", "model": "m",
                "embedding": vectors[i].tolist()} for i in range(900)]
    frame, _ = canonical_frame(records)
    result = detect_drift(frame, options=DriftOptions(features=("embedding",)))
    assert [w.drifted for w in result.windows] == [False, True]
    moved = result.windows[1].features[0]
    assert moved.method == "domain_classifier" and moved.score > 0.7
    assert "centroid cosine" in moved.summary
