"""Duplicate removal for datasets: exact on normalized text, near by TF-IDF cosine.

Both keep the first record of each duplicate set, in input order, so the result does not
depend on any random choice. Records without any prompt text are never treated as
duplicates of each other (there is nothing to compare).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from genailog.schema.rules import prompt_text

#: Default cosine similarity above which two prompts count as near duplicates.
NEAR_THRESHOLD = 0.9
_BLOCK = 512


def _normalized(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null("").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()




def exact_keep(frame: pl.DataFrame) -> pl.Series:
    """True for the first record of each (normalized prompt, normalized response) pair."""
    prompt = _normalized(prompt_text())
    key = pl.concat_str([prompt, _normalized(pl.col("response"))], separator="\x1f")
    keep = key.is_first_distinct() | (prompt == "")
    return frame.select(keep.alias("keep")).to_series()


def near_keep(frame: pl.DataFrame, threshold: float = NEAR_THRESHOLD) -> pl.Series:
    """False for a record whose prompt has TF-IDF cosine similarity >= ``threshold`` with
    an earlier kept record's prompt (word unigrams and bigrams, sublinear tf)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = frame.select(_normalized(prompt_text())).to_series().to_list()
    has_text = np.array([bool(t) for t in texts])
    keep = np.ones(len(texts), dtype=bool)
    if has_text.sum() < 2:
        return pl.Series("keep", keep)
    rows = np.flatnonzero(has_text)
    vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    matrix = vectors.fit_transform([texts[i] for i in rows]).tocsr()
    earlier = _earlier_neighbours(matrix, threshold)
    for pos, row in enumerate(rows):
        if any(keep[rows[j]] for j in earlier[pos]):
            keep[row] = False
    return pl.Series("keep", keep)


def _earlier_neighbours(matrix: object, threshold: float) -> list[list[int]]:
    """For each row, the earlier rows at cosine similarity >= threshold (rows are L2-normed)."""
    n = matrix.shape[0]  # type: ignore[attr-defined]
    result: list[list[int]] = [[] for _ in range(n)]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        sims = (matrix[start:stop] @ matrix[:stop].T).tocoo()  # type: ignore[index]
        rows = sims.row + start
        close = (sims.data >= threshold - 1e-9) & (sims.col < rows)
        for i, j in zip(rows[close].tolist(), sims.col[close].tolist(), strict=True):
            result[i].append(j)
    return result


def dedup(frame: pl.DataFrame, mode: str, threshold: float = NEAR_THRESHOLD) -> pl.DataFrame:
    """``frame`` without duplicates: ``exact``, or ``near`` (exact first, then near)."""
    kept = frame.filter(exact_keep(frame))
    if mode == "near":
        kept = kept.filter(near_keep(kept, threshold))
    return kept
