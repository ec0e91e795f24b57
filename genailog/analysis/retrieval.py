"""Retrieval quality of logged RAG calls: the library behind ``genailog retrieval``.

Reads ``retrieval_docs`` (JSON text in the canonical frame: a list of ids, or of objects
with ``id``, ``score``, ``source``, ``relevant`` and ``text``) and answers four questions:

* **retrievers**: per ``by`` group and per document ``source``, how many calls, how many
  came back empty, documents per call, the score distribution and the share of scores
  below a threshold;
* **documents**: per document id, how often it was retrieved, and the hallucination rate
  and mean feedback of the calls that used it against the calls that did not, each with a
  one-sided test (Fisher's exact test for the rate, Mann-Whitney U for feedback) and the
  Benjamini-Hochberg false discovery rate over every test made, so that the documents
  that go with bad answers come first;
* **ranking**: hit rate, MRR, precision, recall and NDCG at each cut-off ``k`` over the
  calls whose documents carry ``relevant`` labels, as BEIR and pytrec_eval define them;
* **groundedness**: with document texts logged, the share of a response's sentences whose
  content words mostly occur in the retrieved text, a lexical heuristic, with its agreement
  with ``hallucination_flag`` where both exist.

Pure: takes a frame in canonical columns and a :class:`RetrievalOptions`, returns a
:class:`RetrievalResult`; no reading, printing or exit codes.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec
import numpy as np
import polars as pl

from genailog.errors import UsageError
from genailog.query.filters import apply_filters, check_where

_CALL = "__call"
#: Words too common to show that a sentence came from a document.
_STOPWORDS = frozenset(
    "the and for are but not you your with this that from have has had was were will "
    "would can could should into onto out our their there then than them they its it's "
    "about which what when where who how all any each more most other some such only own "
    "same very just also over under again further once here both few nor too does did "
    "doing being been after before above below between through during until while".split()
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class RetrievalOptions:
    """What to analyse and the thresholds used (defaults in docs/retrieval.md)."""

    #: Record fields that name a retriever (e.g. ``app``); empty: one row for all calls.
    by: tuple[str, ...] = ()
    #: Scores below this count in ``share_below_threshold``.
    score_threshold: float = 0.5
    #: Cut-offs of the ranking metrics.
    ks: tuple[int, ...] = (1, 3, 5, 10)
    #: False discovery rate at which a document is flagged.
    alpha: float = 0.05
    #: Fewest labelled calls with the document, and without it, before it is tested.
    min_calls: int = 5
    #: A sentence is supported when at least this share of its content words occur in
    #: the retrieved text.
    support_threshold: float = 0.5
    #: A call is "ungrounded" when fewer than this share of its sentences are supported.
    grounded_cut: float = 0.5
    where: str | None = None
    since: str | None = None
    until: str | None = None

    def check(self) -> None:
        if not self.ks or any(k < 1 for k in self.ks):
            raise UsageError("--k takes positive cut-offs, e.g. --k 1,3,5,10")
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha must be between 0 and 1, not {self.alpha}")
        if self.min_calls < 1:
            raise UsageError(f"--min-calls must be at least 1, not {self.min_calls}")
        for name in ("support_threshold", "grounded_cut"):
            if not 0 <= getattr(self, name) <= 1:
                raise UsageError(f"{name.replace('_', '-')} must be between 0 and 1")
        check_where(self.where)


@dataclass
class RetrievalResult:
    """Everything ``genailog retrieval`` reports (``to_dict`` is the JSON contract)."""

    records: int
    calls: int
    documents_logged: int
    skipped_calls: int
    skipped_documents: int
    retrievers: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    ranking: dict[str, Any] | None
    groundedness: dict[str, Any] | None
    options: RetrievalOptions = field(default_factory=RetrievalOptions)
    #: Invalid records the read set aside (``--on-invalid skip``), for the caller to fill.
    skipped_records: int = 0

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["flagged"]]

    def to_dict(self) -> dict[str, Any]:
        options = asdict(self.options)
        options["by"], options["ks"] = list(self.options.by), list(self.options.ks)
        return {
            "records": self.records,
            "calls": self.calls,
            "documents_logged": self.documents_logged,
            "skipped_calls": self.skipped_calls,
            "skipped_documents": self.skipped_documents,
            "skipped_records": self.skipped_records,
            "retrievers": self.retrievers,
            "sources": self.sources,
            "documents": self.documents,
            "flagged_documents": len(self.flagged),
            "ranking": self.ranking,
            "groundedness": self.groundedness,
            "options": options,
        }


# --- parsing ---------------------------------------------------------------------------


@dataclass
class _Parsed:
    """Calls (one row per record with ``retrieval_docs``) and documents (one per entry)."""

    calls: pl.DataFrame
    docs: pl.DataFrame
    skipped_calls: int
    skipped_documents: int


def _grade(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _doc_row(call: int, rank: int, item: Any) -> tuple[Any, ...] | None:
    if isinstance(item, str):
        return call, rank, item, None, None, None, None
    if not isinstance(item, dict):
        return None
    score = item.get("score")
    score = float(score) if isinstance(score, int | float) and not isinstance(score, bool) \
        and math.isfinite(score) else None
    text = item.get("text")
    return (call, rank, _str_or_none(item.get("id")), score, _str_or_none(item.get("source")),
            _grade(item.get("relevant")), text if isinstance(text, str) else None)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_DOC_SCHEMA = {_CALL: pl.Int64, "rank": pl.Int64, "id": pl.String, "score": pl.Float64,
               "source": pl.String, "relevant": pl.Float64, "text": pl.String}


def _parse(frame: pl.DataFrame) -> _Parsed:
    decode = msgspec.json.Decoder().decode
    rows: list[tuple[Any, ...]] = []
    keep: list[int] = []
    sizes: list[int] = []
    skipped_calls = skipped_docs = 0
    for call, text in enumerate(frame["retrieval_docs"].to_list()):
        try:
            items = decode(text)
        except (msgspec.DecodeError, TypeError):
            items = None
        if not isinstance(items, list):
            skipped_calls += 1
            continue
        keep.append(call)
        count = 0
        for rank, item in enumerate(items, start=1):
            row = _doc_row(call, rank, item)
            if row is None:
                skipped_docs += 1
            else:
                rows.append(row)
                count += 1
        sizes.append(count)
    calls = frame.with_row_index(_CALL).with_columns(pl.col(_CALL).cast(pl.Int64))[keep]
    calls = calls.with_columns(pl.Series("documents", sizes, pl.Int64))
    docs = pl.DataFrame(rows, schema=_DOC_SCHEMA, orient="row")
    return _Parsed(calls, docs, skipped_calls, skipped_docs)


# --- retrievers and sources ------------------------------------------------------------


def _score_stats(threshold: float) -> list[pl.Expr]:
    score = pl.col("score").drop_nulls()
    stats = [pl.col("score").count().alias("scored")]
    for name, q in (("min", 0.0), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("max", 1.0)):
        stats.append(score.quantile(q, "linear").alias(f"score_{name}"))
    stats += [
        score.mean().alias("score_mean"),
        (score < threshold).sum().alias("below_threshold"),
    ]
    return stats


def _share_below() -> pl.Expr:
    return (pl.when(pl.col("scored") > 0)
            .then(pl.col("below_threshold") / pl.col("scored")).alias("share_below_threshold"))


def _retrievers(parsed: _Parsed, by: list[str], threshold: float) -> list[dict[str, Any]]:
    """One row per ``by`` group (one row in all without ``by``; none without calls)."""
    if parsed.calls.is_empty():
        return []
    keys: list[str | pl.Expr] = [*by] or [pl.lit("all").alias("retriever")]
    calls = parsed.calls.group_by(keys, maintain_order=True).agg(
        pl.len().alias("calls"), (pl.col("documents") == 0).sum().alias("empty_calls"),
        pl.col("documents").sum().alias("documents"))
    names = by or ["retriever"]
    tagged = parsed.docs.join(
        parsed.calls.select(_CALL, *by), on=_CALL, how="left").with_columns(
        *([] if by else [pl.lit("all").alias("retriever")]))
    scores = tagged.group_by(names).agg(_score_stats(threshold))
    out = calls.join(scores, on=names, how="left", nulls_equal=True).with_columns(
        (pl.col("empty_calls") / pl.col("calls")).alias("empty_rate"),
        (pl.col("documents") / pl.col("calls")).alias("documents_per_call"),
        pl.col("scored").fill_null(0), pl.col("below_threshold").fill_null(0),
    ).with_columns(_share_below()).sort("calls", *names, descending=[True] * (1 + len(names)),
                                          nulls_last=True)
    return out.select(*names, *_RETRIEVER_COLUMNS).to_dicts()


_SCORE_COLUMNS = ("scored", "score_min", "score_p25", "score_p50", "score_p75", "score_max",
                  "score_mean", "below_threshold", "share_below_threshold")
_RETRIEVER_COLUMNS = ("calls", "empty_calls", "empty_rate", "documents",
                      "documents_per_call", *_SCORE_COLUMNS)


def _sources(parsed: _Parsed, threshold: float) -> list[dict[str, Any]]:
    """One row per document ``source`` (null: documents logged without one)."""
    out = parsed.docs.group_by("source").agg(
        pl.col(_CALL).n_unique().alias("calls"), pl.len().alias("documents"),
        *_score_stats(threshold),
    ).with_columns((pl.col("documents") / pl.col("calls")).alias("documents_per_call"),
                   _share_below())
    out = out.sort(["calls", "source"], descending=[True, False], nulls_last=True)
    return out.select("source", "calls", "documents", "documents_per_call",
                      *_SCORE_COLUMNS).to_dicts()


# --- documents -------------------------------------------------------------------------


def _documents(parsed: _Parsed, options: RetrievalOptions) -> list[dict[str, Any]]:
    """Per document id: use, outcome of the calls that used it, tests, flag."""
    used = parsed.docs.filter(pl.col("id").is_not_null()).select("id", _CALL).unique()
    if used.is_empty():
        return []
    outcomes = parsed.calls.select(_CALL, "hallucination_flag", "feedback_rating")
    joined = used.join(outcomes, on=_CALL, how="left")
    per_doc = joined.group_by("id").agg(
        pl.len().alias("retrieved"),
        pl.col("hallucination_flag").count().alias("hallucination_calls"),
        pl.col("hallucination_flag").sum().alias("hallucinations"),
        pl.col("feedback_rating").count().alias("feedback_calls"),
        pl.col("feedback_rating").mean().alias("feedback_mean"),
        pl.col("feedback_rating").drop_nulls().alias("_feedback"),
    ).sort("id")
    flags = outcomes["hallucination_flag"].drop_nulls()
    ratings = outcomes["feedback_rating"].drop_nulls().to_numpy()
    rows = per_doc.to_dicts()
    tests = _hallucination_tests(rows, len(flags), int(flags.sum()), options.min_calls)
    tests += _feedback_tests(rows, ratings, options.min_calls)
    _adjust(rows, tests, options.alpha)
    return [{name: row[name] for name in DOCUMENT_FIELDS}
            for row in sorted(rows, key=_evidence_order)]


#: The fields of a document row, in output order.
DOCUMENT_FIELDS = (
    "id", "retrieved", "hallucination_calls", "hallucinations", "hallucination_rate",
    "rest_hallucination_rate", "feedback_calls", "feedback_mean", "rest_feedback_mean",
    "p_hallucination", "p_feedback", "q_hallucination", "q_feedback", "p_value", "q_value",
    "flagged", "flagged_for",
)


def _hallucination_tests(rows: list[dict[str, Any]], labelled: int, bad: int,
                         min_calls: int) -> list[tuple[int, str, float]]:
    """Fisher's exact test, one-sided (more hallucinations with the document than without):
    the hypergeometric upper tail of the 2x2 table, for every document at once."""
    from scipy.stats import hypergeom

    n = np.array([row["hallucination_calls"] for row in rows], dtype=np.int64)
    k = np.array([row["hallucinations"] for row in rows], dtype=np.int64)
    rest = labelled - n
    tested = (n >= min_calls) & (rest >= min_calls)
    p = np.minimum(1.0, hypergeom.sf(k - 1, labelled, bad, n)) if len(rows) else n
    out = []
    for i, row in enumerate(rows):
        row["hallucination_rate"] = k[i] / n[i] if n[i] else None
        row["rest_hallucination_rate"] = (bad - k[i]) / rest[i] if rest[i] else None
        row["p_hallucination"] = float(p[i]) if tested[i] else None
        if tested[i]:
            out.append((i, "hallucination", float(p[i])))
    return out


def _feedback_tests(rows: list[dict[str, Any]], ratings: np.ndarray[Any, Any],
                    min_calls: int) -> list[tuple[int, str, float]]:
    """Mann-Whitney U, one-sided (lower feedback with the document than without), by the
    normal approximation with tie and continuity corrections (scipy's ``asymptotic``).

    The two samples of every document are its rated calls and the other rated calls, so
    together they are always all rated calls: one ranking of all ratings gives each
    document's rank sum, and the tie correction is the same for every document.
    """
    from scipy.stats import norm, rankdata

    total = ratings.size
    values, counts = np.unique(ratings, return_counts=True)
    midrank = dict(zip(values.tolist(), np.unique(rankdata(ratings)).tolist(), strict=True)) \
        if total else {}
    ties = float((counts.astype(float) ** 3 - counts).sum())
    out = []
    for i, row in enumerate(rows):
        mine = row["_feedback"]
        n1, n2 = len(mine), total - len(mine)
        row["rest_feedback_mean"] = (float(ratings.sum()) - sum(mine)) / n2 if n2 else None
        row["p_feedback"] = None
        if n1 < min_calls or n2 < min_calls:
            continue
        u1 = sum(midrank[v] for v in mine) - n1 * (n1 + 1) / 2
        spread = n1 * n2 / 12.0 * ((total + 1) - ties / (total * (total - 1)))
        p = 1.0 if spread <= 0 else float(norm.sf((n1 * n2 - u1 - n1 * n2 / 2 - 0.5)
                                                  / math.sqrt(spread)))
        row["p_feedback"] = p
        out.append((i, "feedback", p))
    return out


def _adjust(rows: list[dict[str, Any]], tests: list[tuple[int, str, float]],
            alpha: float) -> None:
    """Benjamini-Hochberg q-values over every test made (both kinds, all documents)."""
    for row in rows:
        row["q_hallucination"] = row["q_feedback"] = None
    if tests:
        from scipy.stats import false_discovery_control

        qs = false_discovery_control([p for _, _, p in tests], method="bh")
        for (i, kind, _), q in zip(tests, qs, strict=True):
            rows[i][f"q_{kind}"] = float(q)
    for row in rows:
        ps = [p for p in (row["p_hallucination"], row["p_feedback"]) if p is not None]
        qs_row = [q for q in (row["q_hallucination"], row["q_feedback"]) if q is not None]
        row["p_value"] = min(ps) if ps else None
        row["q_value"] = min(qs_row) if qs_row else None
        row["flagged"] = row["q_value"] is not None and row["q_value"] <= alpha
        row["flagged_for"] = [kind for kind in ("hallucination", "feedback")
                              if (q := row[f"q_{kind}"]) is not None and q <= alpha]


def _evidence_order(row: dict[str, Any]) -> tuple[Any, ...]:
    missing = math.inf
    return (not row["flagged"], row["q_value"] if row["q_value"] is not None else missing,
            row["p_value"] if row["p_value"] is not None else missing, -row["retrieved"],
            row["id"])


# --- ranking metrics -------------------------------------------------------------------


def ranking_metrics(ranked_gains: Iterable[Sequence[float] | np.ndarray[Any, Any]],
                    ks: Sequence[int]
                    ) -> dict[str, Any] | None:
    """Mean hit rate, MRR, precision, recall and NDCG at each ``k`` over queries, each
    given as the gains of its documents in ranked order (one per distinct document).

    The definitions are trec_eval's (and so pytrec_eval's and BEIR's): a document is
    relevant when its gain is above 0 (trec_eval's ``rel >= 1`` for integer grades);
    ``P@k`` divides by ``k`` even when fewer were retrieved; ``recall@k`` divides by the
    relevant documents known for the query; NDCG uses the gain as is with a ``log2(rank +
    1)`` discount, against the ideal order of the same gains; MRR@k is BEIR's (the
    reciprocal rank of the first relevant document within the top ``k``, else 0).
    """
    rows = [np.clip(np.asarray(g, dtype=float), 0.0, None) for g in ranked_gains]
    if not rows:
        return None
    sums = np.zeros((len(ks), 5))
    # Calls of similar length together, padded with zeros (not relevant) to the longest
    # of their chunk: vectorised, in bounded memory.
    rows.sort(key=len)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        gains = np.zeros((len(chunk), max(1, len(chunk[-1]))))
        for i, row in enumerate(chunk):
            gains[i, : row.size] = row
        for j, k in enumerate(ks):
            sums[j] += _at_k(gains, k).sum(axis=0)
    means = sums / len(rows)
    metrics = [{"k": k, **{name: float(v) for name, v in zip(
        ("hit_rate", "mrr", "precision", "recall", "ndcg"), means[j], strict=True)}}
        for j, k in enumerate(ks)]
    return {"calls": len(rows),
            "calls_with_relevant": int(sum(bool((g > 0).any()) for g in rows)),
            "metrics": metrics}


_CHUNK = 10_000


def _at_k(gains: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    """Per call (row of non-negative gains, zero-padded): hit, reciprocal rank,
    precision, recall and NDCG at ``k``, as columns."""
    relevant = gains > 0
    hits = relevant[:, :k]
    found = hits.sum(axis=1)
    any_hit = found > 0
    first = np.argmax(hits, axis=1) + 1
    total = relevant.sum(axis=1)
    discount = 1.0 / np.log2(np.arange(2, min(k, gains.shape[1]) + 2))
    dcg = gains[:, :k] @ discount
    ideal = -np.sort(-gains, axis=1)[:, :k] @ discount
    return np.column_stack([
        any_hit.astype(float),
        np.where(any_hit, 1.0 / first, 0.0),
        found / k,
        np.divide(found, total, out=np.zeros(len(gains)), where=total > 0),
        np.divide(dcg, ideal, out=np.zeros(len(gains)), where=ideal > 0),
    ])


def _ranked_gains(docs: pl.DataFrame) -> list[list[float]]:
    """Per call with a ``relevant`` label: the gains in rank order, one per distinct
    document (its first position; its highest grade), unlabelled documents at 0. A
    document without an id is a document of its own."""
    labelled = docs.filter(pl.col("relevant").is_not_null().any().over(_CALL))
    if labelled.is_empty():
        return []
    keyed = labelled.with_columns(
        pl.coalesce("id", pl.format("#{}", "rank")).alias("_key"))
    per_doc = keyed.group_by(_CALL, "_key").agg(
        pl.col("rank").min(), pl.col("relevant").max().fill_null(0.0))
    ordered = per_doc.sort(_CALL, "rank").group_by(_CALL, maintain_order=True).agg("relevant")
    return [list(gains) for gains in ordered["relevant"].to_list()]


# --- groundedness ----------------------------------------------------------------------


def content_words(text: str) -> set[str]:
    """Lower-cased words of three or more characters, stopwords left out."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS}


@functools.lru_cache(maxsize=65_536)
def _document_words(text: str) -> frozenset[str]:
    """A document's content words, cached: the same documents come back call after call."""
    return frozenset(content_words(text))


def groundedness(response: str, sources: Sequence[str], support_threshold: float
                 ) -> float | None:
    """Share of the response's sentences whose content words occur, for at least
    ``support_threshold`` of them, in the retrieved texts (None: no sentence with content
    words)."""
    known = set().union(*(_document_words(t) for t in sources))
    verdicts = []
    for sentence in _SENTENCE.split(response):
        words = content_words(sentence)
        if words:
            verdicts.append(len(words & known) / len(words) >= support_threshold)
    return sum(verdicts) / len(verdicts) if verdicts else None


def _groundedness(parsed: _Parsed, options: RetrievalOptions) -> dict[str, Any] | None:
    texts = parsed.docs.filter(pl.col("text").is_not_null()).group_by(_CALL).agg("text")
    if texts.is_empty():
        return None
    calls = texts.join(parsed.calls.select(_CALL, "response", "hallucination_flag"), on=_CALL)
    scores, flags = [], []
    for text_list, response, flag in calls.select("text", "response", "hallucination_flag"
                                                  ).iter_rows():
        score = groundedness(response, text_list, options.support_threshold) \
            if response else None
        if score is not None:
            scores.append(score)
            flags.append(flag)
    if not scores:
        return None
    values = np.array(scores)
    return {
        "calls": len(scores), "mean": float(values.mean()),
        "ungrounded_calls": int((values < options.grounded_cut).sum()),
        "ungrounded_rate": float((values < options.grounded_cut).mean()),
        "agreement": _agreement(values, flags, options.grounded_cut),
    }


def _agreement(scores: np.ndarray[Any, Any], flags: list[bool | None], cut: float
               ) -> dict[str, Any] | None:
    """How well "ungrounded" predicts ``hallucination_flag`` on the calls that have both."""
    known = np.array([f is not None for f in flags])
    if not known.any():
        return None
    truth = np.array([bool(f) for f in flags])[known]
    predicted = scores[known] < cut
    tp = int((predicted & truth).sum())
    return {
        "calls": int(known.sum()), "hallucinated": int(truth.sum()),
        "accuracy": float((predicted == truth).mean()),
        "precision": tp / int(predicted.sum()) if predicted.any() else None,
        "recall": tp / int(truth.sum()) if truth.any() else None,
        "roc_auc": roc_auc(1.0 - scores[known], truth),
    }


def roc_auc(risk: np.ndarray[Any, Any], truth: np.ndarray[Any, Any]) -> float | None:
    """Area under the ROC curve of ``risk`` for ``truth`` (ties count one half): the
    Mann-Whitney U of the positives over the negatives, divided by their product."""
    pos, neg = risk[truth], risk[~truth]
    if not pos.size or not neg.size:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


# --- entry point -----------------------------------------------------------------------


def analyze_retrieval(frame: pl.LazyFrame | pl.DataFrame,
                      options: RetrievalOptions | None = None) -> RetrievalResult:
    """Retrieval quality of the records in ``frame`` (canonical columns)."""
    options = options or RetrievalOptions()
    options.check()
    lazy = frame.lazy()
    names = lazy.collect_schema().names()
    unknown = [name for name in options.by if name not in names]
    if unknown:
        raise UsageError(f"--by names unknown field(s) {', '.join(unknown)}; "
                         f"fields present: {', '.join(sorted(names))}")
    lazy = apply_filters(lazy, where=options.where, since=options.since, until=options.until)
    needed = ["retrieval_docs", "hallucination_flag", "feedback_rating", "response",
              *options.by]
    selected = lazy.select(*dict.fromkeys(needed)).collect()
    parsed = _parse(selected.filter(pl.col("retrieval_docs").is_not_null()))
    return RetrievalResult(
        records=selected.height,
        calls=parsed.calls.height,
        documents_logged=parsed.docs.height,
        skipped_calls=parsed.skipped_calls,
        skipped_documents=parsed.skipped_documents,
        retrievers=_retrievers(parsed, list(options.by), options.score_threshold),
        sources=_sources(parsed, options.score_threshold),
        documents=_documents(parsed, options),
        ranking=ranking_metrics(_ranked_gains(parsed.docs), options.ks),
        groundedness=_groundedness(parsed, options),
        options=options,
    )
