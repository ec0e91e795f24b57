"""genailog retrieval: planted documents surface, clean logs raise nothing, ranking metrics
equal pytrec_eval's, groundedness agrees with generated labels, the JSON matches its schema.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from genailog.analysis.retrieval import (
    RetrievalOptions,
    analyze_retrieval,
    groundedness,
    ranking_metrics,
    roc_auc,
)
from genailog.cli.app import app
from genailog.ingest.frame import canonical_frame
from genailog.schema.files import load_output_schema

PLANTED = ("doc7", "doc42", "doc133")
TOPICS = (
    "To rotate an API key open Settings then API then create a key and revoke the old one.",
    "The free tier allows sixty requests per minute and bursts are queued for ten seconds.",
    "Exports run nightly and produce CSV files named after the workspace and the date.",
    "European customers are hosted in Frankfurt and Dublin with replicas kept in region.",
    "Seats are counted per active member each month and guests never count as seats.",
)
INVENTED = "Support can restore deleted invoices by phoning the billing robot at midnight."


def _require(reason: str) -> None:
    if os.environ.get("GENAILOG_REQUIRE_ALL") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def generate(seed: int, *, planted: bool, calls: int = 1500, corpus: int = 200
             ) -> list[dict[str, Any]]:
    """RAG calls retrieving 4 of ``corpus`` documents; with ``planted``, the calls that use a
    planted document hallucinate far more often and are rated lower."""
    rng = random.Random(seed)
    records = []
    for i in range(calls):
        ids = rng.sample(range(corpus), 4)
        docs = [{"id": f"doc{d}", "score": round(rng.uniform(0.2, 0.95), 3),
                 "source": "kb" if d % 3 else "faq"} for d in ids]
        bad = planted and any(d["id"] in PLANTED for d in docs)
        hallucinated = rng.random() < (0.6 if bad else 0.08)
        record: dict[str, Any] = {
            "timestamp": f"2026-11-02T{i % 24:02d}:00:00Z", "model": "gpt-4.1",
            "app": "search" if i % 2 else "helpdesk", "retrieval_docs": docs,
            "response": "ok", "hallucination_flag": hallucinated,
        }
        if rng.random() < 0.5:
            shift = 1.5 if bad else 0.0
            record["feedback_rating"] = min(5, max(1, round(rng.gauss(4.0 - shift, 0.9))))
        records.append(record)
    return records


def frame_of(records: list[dict[str, Any]]) -> pl.DataFrame:
    return canonical_frame(records)[0]


def test_planted_documents_rank_first() -> None:
    result = analyze_retrieval(frame_of(generate(1, planted=True)))
    top = [d["id"] for d in result.documents[: len(PLANTED)]]
    assert sorted(top) == sorted(PLANTED), result.documents[:5]
    # The planted documents are flagged; a document that happened to share calls with
    # them may be too (the false discovery rate, not the family-wise error, is controlled).
    assert set(PLANTED) <= {d["id"] for d in result.flagged}
    first = result.documents[0]
    assert first["hallucination_rate"] > 3 * first["rest_hallucination_rate"]
    assert first["feedback_mean"] < first["rest_feedback_mean"]


def test_clean_control_flags_nothing_in_19_of_20_seeds() -> None:
    raised = [seed for seed in range(20)
              if analyze_retrieval(frame_of(generate(seed, planted=False))).flagged]
    assert len(raised) <= 1, f"seeds with a flagged document: {raised}"


def test_hallucination_p_value_is_fishers_exact() -> None:
    from scipy.stats import fisher_exact

    records = generate(3, planted=True, calls=400)
    doc = analyze_retrieval(frame_of(records)).documents[0]
    with_doc = [r["hallucination_flag"] for r in records
                if doc["id"] in {d["id"] for d in r["retrieval_docs"]}]
    rest = [r["hallucination_flag"] for r in records
            if doc["id"] not in {d["id"] for d in r["retrieval_docs"]}]
    table = [[sum(with_doc), len(with_doc) - sum(with_doc)], [sum(rest), len(rest) - sum(rest)]]
    assert doc["p_hallucination"] == pytest.approx(
        fisher_exact(table, alternative="greater").pvalue, rel=1e-9)


def test_feedback_p_value_is_scipys_mann_whitney() -> None:
    from scipy.stats import mannwhitneyu

    records = generate(4, planted=True, calls=400)
    result = analyze_retrieval(frame_of(records))
    checked = 0
    for doc in result.documents[:10]:
        if doc["p_feedback"] is None:
            continue
        used = [doc["id"] in {d["id"] for d in r["retrieval_docs"]} for r in records]
        mine = [r["feedback_rating"] for r, u in zip(records, used, strict=True)
                if u and "feedback_rating" in r]
        rest = [r["feedback_rating"] for r, u in zip(records, used, strict=True)
                if not u and "feedback_rating" in r]
        want = mannwhitneyu(mine, rest, alternative="less", method="asymptotic").pvalue
        assert doc["p_feedback"] == pytest.approx(want, rel=1e-9)
        assert doc["rest_feedback_mean"] == pytest.approx(np.mean(rest))
        checked += 1
    assert checked >= 3


def test_retriever_and_source_stats_equal_duckdb() -> None:
    duckdb = pytest.importorskip("duckdb")
    records = generate(5, planted=False, calls=300)
    records[0]["retrieval_docs"] = []
    records[1]["retrieval_docs"] = ["doc1", {"id": "doc2"}]
    result = analyze_retrieval(frame_of(records), RetrievalOptions(by=("app",)))
    rows = [(r["app"], i, d.get("id") if isinstance(d, dict) else d,
             d.get("score") if isinstance(d, dict) else None,
             d.get("source") if isinstance(d, dict) else None)
            for i, r in enumerate(records) for d in r["retrieval_docs"]]
    con = duckdb.connect()
    con.execute("CREATE TABLE d(app TEXT, call INT, id TEXT, score DOUBLE, source TEXT)")
    con.executemany("INSERT INTO d VALUES (?, ?, ?, ?, ?)", rows)
    expected = dict(con.execute(
        "SELECT source, [count(DISTINCT call), count(*), quantile_cont(score, 0.25), "
        "quantile_cont(score, 0.5), avg(score), avg((score < 0.5)::INT)] FROM d "
        "GROUP BY source").fetchall())
    for row in result.sources:
        want = expected[row["source"]]
        got = [row["calls"], row["documents"], row["score_p25"], row["score_p50"],
               row["score_mean"], row["share_below_threshold"]]
        assert got == pytest.approx(want, nan_ok=True), row["source"]
    by_app = {r["app"]: r for r in result.retrievers}
    for name in ("search", "helpdesk"):
        mine = [r for r in records if r["app"] == name]
        assert by_app[name]["calls"] == len(mine)
        assert by_app[name]["empty_calls"] == sum(not r["retrieval_docs"] for r in mine)


def _graded_queries(seed: int) -> list[list[tuple[str, float]]]:
    rng = random.Random(seed)
    queries = []
    for _ in range(60):
        ids = rng.sample(range(40), rng.randint(1, 12))
        queries.append([(f"d{d}", float(rng.choice((0, 0, 0, 1, 2, 3)))) for d in ids])
    queries.append([("d1", 0.0), ("d2", 0.0)])  # no relevant document at all
    return queries


def test_ranking_metrics_equal_pytrec_eval() -> None:
    try:
        import pytrec_eval
    except ImportError:
        _require("pytrec_eval is not installed (pip install pytrec-eval-terrier)")
    queries = _graded_queries(11)
    records = [{"timestamp": "2026-11-02T00:00:00Z", "model": "m",
                "retrieval_docs": [{"id": i, "relevant": g if j % 2 else g > 0}
                                   for i, g in q]}
               for j, q in enumerate(queries)]
    ks = (1, 3, 5, 10)
    ours = analyze_retrieval(frame_of(records), RetrievalOptions(ks=ks)).ranking
    assert ours is not None
    qrels, runs = {}, {}
    for j, q in enumerate(queries):
        grades = [g if j % 2 else float(g > 0) for _, g in q]
        qrels[str(j)] = {i: int(g) for (i, _), g in zip(q, grades, strict=True)}
        runs[str(j)] = {i: float(len(q) - r) for r, (i, _) in enumerate(q)}
    for row in ours["metrics"]:
        k = row["k"]
        names = {f"P_{k}", f"recall_{k}", f"ndcg_cut_{k}", f"success_{k}"}
        evaluator = pytrec_eval.RelevanceEvaluator(qrels, names)
        scores = evaluator.evaluate(runs)
        cut = {q: dict(sorted(run.items(), key=lambda kv: -kv[1])[:k]) for q, run in runs.items()}
        mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)

        def mean(name: str, table: dict[str, dict[str, float]] = scores) -> float:
            return float(np.mean([table[q][name] for q in sorted(table)]))

        assert row["precision"] == pytest.approx(mean(f"P_{k}"))
        assert row["recall"] == pytest.approx(mean(f"recall_{k}"))
        assert row["ndcg"] == pytest.approx(mean(f"ndcg_cut_{k}"))
        assert row["hit_rate"] == pytest.approx(mean(f"success_{k}"))
        assert row["mrr"] == pytest.approx(mean("recip_rank", mrr))
    assert ours["calls"] == len(queries)


def test_ndcg_equals_sklearn_on_graded_labels() -> None:
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(4)
    gains = [rng.integers(0, 4, size=8).astype(float) for _ in range(30)]
    gains = [g for g in gains if g.any()]
    ours = ranking_metrics(gains, (5,))
    assert ours is not None
    scores = np.tile(np.arange(8, 0, -1, dtype=float), (len(gains), 1))
    assert ours["metrics"][0]["ndcg"] == pytest.approx(
        ndcg_score(np.array(gains), scores, k=5))


def test_duplicate_ids_rank_once_at_their_first_position() -> None:
    docs = [{"id": "a", "relevant": False}, {"id": "b"}, {"id": "a"}, {"id": "c", "relevant": 2}]
    record = {"timestamp": "2026-11-02T00:00:00Z", "model": "m", "retrieval_docs": docs}
    ranking = analyze_retrieval(frame_of([record]), RetrievalOptions(ks=(3,))).ranking
    assert ranking is not None
    assert ranking["metrics"][0]["mrr"] == pytest.approx(1 / 3)  # a, b, c: c third


def test_groundedness_on_known_sentences() -> None:
    docs = [TOPICS[0]]
    assert groundedness("Open Settings, then API, and create a key.", docs, 0.5) == 1.0
    assert groundedness(f"Open Settings then API. {INVENTED}", docs, 0.5) == 0.5
    assert groundedness("ok", docs, 0.5) is None  # no content word


def test_groundedness_agrees_with_generated_labels() -> None:
    rng = random.Random(8)
    records = []
    for i in range(400):
        topic = rng.randrange(len(TOPICS))
        hallucinated = rng.random() < 0.2
        sentences = [TOPICS[topic].split(" and ")[0] + "."]
        sentences.append(INVENTED if hallucinated else TOPICS[topic])
        if hallucinated and rng.random() < 0.5:
            sentences[0] = "A separate robot handles midnight phone restores for invoices."
        records.append({"timestamp": "2026-11-02T00:00:00Z", "model": "m",
                        "response": " ".join(sentences), "hallucination_flag": hallucinated,
                        "retrieval_docs": [{"id": f"t{topic}", "text": TOPICS[topic]},
                                           {"id": f"n{i}", "text": TOPICS[(topic + 1) % 5]}]})
    result = analyze_retrieval(frame_of(records))
    assert result.groundedness is not None
    agreement = result.groundedness["agreement"]
    assert agreement["calls"] == 400
    # A hallucinated response here has one or two invented sentences: the heuristic
    # separates them (AUC 1) and the 0.5 cut catches the fully invented ones.
    assert agreement["roc_auc"] == pytest.approx(1.0)
    assert agreement["precision"] == 1.0
    assert 0.3 < agreement["recall"] < 0.7


def test_roc_auc_equals_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    truth = rng.random(200) < 0.3
    risk = np.round(rng.random(200) + truth * 0.3, 1)  # ties on purpose
    assert roc_auc(risk, truth) == pytest.approx(roc_auc_score(truth, risk))


def test_malformed_entries_are_counted_not_dropped_silently() -> None:
    frame = frame_of([{"timestamp": "2026-11-02T00:00:00Z", "model": "m",
                       "retrieval_docs": ["a", 3, {"id": "b", "score": "high"}]}])
    frame = pl.concat([frame, frame.with_columns(pl.lit("{not json").alias("retrieval_docs"))])
    result = analyze_retrieval(frame)
    assert (result.calls, result.skipped_calls, result.skipped_documents) == (1, 1, 1)
    assert result.documents_logged == 2


def test_cli_json_matches_schema_and_library(tmp_path: Path) -> None:
    records = generate(1, planted=True, calls=300)
    path = tmp_path / "rag.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    runner = CliRunner()
    out = runner.invoke(app, ["retrieval", str(path), "--format", "json", "--by", "app"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    Draft202012Validator(load_output_schema("retrieval")).validate(data)
    expected = analyze_retrieval(frame_of(records), RetrievalOptions(by=("app",))).to_dict()
    assert data == json.loads(json.dumps(expected))
    for fmt in ("table", "markdown"):
        shown = runner.invoke(app, ["retrieval", str(path), "--format", fmt])
        assert shown.exit_code == 0, shown.output
        assert data["documents"][0]["id"] in shown.stdout


def test_cli_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "rag.jsonl"
    path.write_text(json.dumps(generate(1, planted=False, calls=3)[0]) + "\n")
    runner = CliRunner()
    for args in (["--k", "0"], ["--alpha", "2"], ["--by", "nope"]):
        out = runner.invoke(app, ["retrieval", str(path), *args])
        assert out.exit_code == 2, (args, out.output)


def test_untrusted_ids_stay_data(tmp_path: Path) -> None:
    record = generate(1, planted=False, calls=1)[0]
    record["retrieval_docs"] = [{"id": "\x1b[31m[bold]x|y", "source": "<b>s</b>"}]
    path = tmp_path / "rag.jsonl"
    path.write_text(json.dumps(record) + "\n")
    runner = CliRunner()
    for fmt in ("table", "markdown"):
        out = runner.invoke(app, ["retrieval", str(path), "--format", fmt])
        assert out.exit_code == 0, out.output
        assert "\x1b" not in out.stdout
        assert ("<b>" not in out.stdout) if fmt == "markdown" else ("[bold]" in out.stdout)


def test_public_function_takes_paths_logs_or_a_frame(tmp_path: Path) -> None:
    import genailog

    records = generate(2, planted=False, calls=50)
    path = tmp_path / "rag.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    from_path = genailog.analyze_retrieval(str(path)).to_dict()
    from_logs = genailog.analyze_retrieval(genailog.read_logs([path])).to_dict()
    from_frame = genailog.analyze_retrieval(frame_of(records)).to_dict()
    assert from_path == from_logs == from_frame
    assert from_path["calls"] == 50


def test_logs_without_retrieval_give_empty_sections_not_nan(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"timestamp": "2026-11-02T00:00:00Z", "model": "m"}) + "\n")
    runner = CliRunner()
    out = runner.invoke(app, ["retrieval", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    Draft202012Validator(load_output_schema("retrieval")).validate(data)
    assert (data["calls"], data["retrievers"], data["documents"]) == (0, [], [])
    shown = runner.invoke(app, ["retrieval", str(path)])
    assert "nothing to analyse" in shown.stdout


_ENTRY = st.one_of(
    st.sampled_from(["a", "b", "c"]),
    st.integers(),
    st.fixed_dictionaries({}, optional={
        "id": st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers()),
        "score": st.one_of(st.none(), st.floats(allow_nan=True), st.booleans(), st.text()),
        "source": st.one_of(st.none(), st.sampled_from(["kb", "faq"])),
        "relevant": st.one_of(st.none(), st.booleans(), st.integers(-2, 3),
                              st.floats(allow_nan=True, allow_infinity=True)),
        "text": st.one_of(st.none(), st.text(max_size=30)),
    }),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.lists(_ENTRY, max_size=6)),
                          st.one_of(st.none(), st.booleans()),
                          st.one_of(st.none(), st.integers(1, 5)),
                          st.one_of(st.none(), st.text(max_size=40))), max_size=12))
def test_any_logged_shape_gives_a_valid_finite_result(rows: list[tuple[Any, ...]]) -> None:
    frame = pl.DataFrame({
        "retrieval_docs": [None if d is None else json.dumps(d) for d, *_ in rows],
        "hallucination_flag": pl.Series([r[1] for r in rows], dtype=pl.Boolean),
        "feedback_rating": pl.Series([r[2] for r in rows], dtype=pl.Float64),
        "response": pl.Series([r[3] for r in rows], dtype=pl.String),
    })
    data = analyze_retrieval(frame, RetrievalOptions(min_calls=1)).to_dict()
    Draft202012Validator(load_output_schema("retrieval")).validate(
        json.loads(json.dumps(data, allow_nan=False)))
    # A list holding NaN is not JSON (ingest never makes one): skipped, and counted.
    assert data["calls"] + data["skipped_calls"] == sum(d is not None for d, *_ in rows)
