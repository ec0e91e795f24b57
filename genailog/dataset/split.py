"""Seeded sampling and group-safe train/test splits.

Sampling draws without replacement, optionally with proportional allocation over the
values of a field (stratified). Splits use scikit-learn's group splitters, so every record
of one group (a ``session_id`` by default) lands in the same part and no conversation leaks
from train into test. Records whose group value is null are groups of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from genailog.errors import UsageError


def parse_sample(text: str) -> int | float:
    """``--sample``: a count (``500``) or, written with a point, a fraction (``0.1``)."""
    try:
        value: int | float = float(text) if "." in text else int(text)
    except ValueError:
        value = 0
    if value <= 0 or (isinstance(value, float) and value > 1):
        raise UsageError(f"--sample takes a count (e.g. 500) or a fraction in (0, 1], not {text!r}")
    return value


def parse_split(text: str) -> dict[str, float]:
    """``--split train=0.8,test=0.2``: part names and fractions that sum to 1."""
    parts: dict[str, float] = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        try:
            fraction = float(value)
        except ValueError:
            fraction = -1.0
        if not name.strip().isidentifier() or not 0 < fraction < 1 or name.strip() in parts:
            raise UsageError(
                f"--split takes NAME=FRACTION,... e.g. train=0.8,test=0.2; got {text!r}")
        parts[name.strip()] = fraction
    if len(parts) < 2 or abs(sum(parts.values()) - 1) > 1e-6:
        raise UsageError(f"--split needs two or more parts whose fractions sum to 1; got {text!r}")
    return parts


def sample_indices(
    n: int, size: int | float, labels: Sequence[object] | None, seed: int
) -> np.ndarray:
    """Sorted row indices of a sample of ``size`` rows (a count or a fraction of ``n``).

    With ``labels``, each label gets a share proportional to its frequency (largest
    remainder rounding), so the sample keeps the population's mix.
    """
    k = min(n, size if isinstance(size, int) else round(size * n))
    rng = np.random.default_rng(seed)
    if k >= n:
        return np.arange(n)
    if labels is None:
        return np.sort(rng.choice(n, size=k, replace=False))
    codes, counts = _codes(labels)
    quotas = _allocate(counts, k)
    picked = [
        rng.choice(np.flatnonzero(codes == code), size=quota, replace=False)
        for code, quota in enumerate(quotas)
        if quota
    ]
    chosen: np.ndarray = np.sort(np.concatenate(picked)) if picked else np.arange(0)
    return chosen


def _codes(labels: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted({repr(v) for v in labels})
    index = {key: i for i, key in enumerate(keys)}
    codes = np.array([index[repr(v)] for v in labels], dtype=np.int64)
    return codes, np.bincount(codes, minlength=len(keys))


def _allocate(counts: np.ndarray, k: int) -> np.ndarray:
    exact = counts * k / counts.sum()
    quotas: np.ndarray = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[: k - int(quotas.sum())]] += 1
    return quotas


def group_ids(values: Sequence[object]) -> np.ndarray:
    """Integer group ids; each null value is a group of its own."""
    ids: dict[object, int] = {}
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        key = ("__row__", i) if value is None else value
        out[i] = ids.setdefault(key, len(ids))
    return out


def split_parts(
    fractions: Sequence[float],
    groups: np.ndarray,
    labels: Sequence[object] | None,
    seed: int,
) -> np.ndarray:
    """The part index of every row. Fractions apply to groups, not rows."""
    n_groups = len(np.unique(groups))
    if n_groups < len(fractions):
        raise UsageError(
            f"--split needs at least {len(fractions)} groups to split, found {n_groups}"
        )
    if labels is None:
        return _shuffle_split(fractions, groups, seed)
    return _stratified_split(fractions, groups, labels, seed)


def _shuffle_split(fractions: Sequence[float], groups: np.ndarray, seed: int) -> np.ndarray:
    """Peel off parts one at a time with ``GroupShuffleSplit``; the last takes the rest."""
    from sklearn.model_selection import GroupShuffleSplit

    parts = np.full(len(groups), len(fractions) - 1, dtype=np.int64)
    remaining = np.arange(len(groups))
    left = 1.0
    for part, fraction in enumerate(fractions[:-1]):
        share = fraction / left
        left -= fraction
        if len(np.unique(groups[remaining])) < 2:
            break
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed + part)
        rest, taken = next(splitter.split(remaining, groups=groups[remaining]))
        parts[remaining[taken]] = part
        remaining = remaining[rest]
    return parts


def _folds_for(fractions: Sequence[float]) -> list[int]:
    """Whole numbers of folds per part: fractions as small ratios (0.8/0.1/0.1 -> 8/1/1)."""
    ratios = [Fraction(f).limit_denominator(20) for f in fractions]
    denominator = int(np.lcm.reduce([r.denominator for r in ratios]))
    if denominator > 20:
        denominator = 20
    folds = [max(1, round(f * denominator)) for f in fractions]
    return folds


def _stratified_split(
    fractions: Sequence[float], groups: np.ndarray, labels: Sequence[object], seed: int
) -> np.ndarray:
    """``StratifiedGroupKFold`` folds, handed out to the parts in proportion."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    folds = _folds_for(fractions)
    n_groups = len(np.unique(groups))
    if n_groups < sum(folds):
        raise UsageError(
            f"--split with --stratify-by needs at least {sum(folds)} groups, found {n_groups}"
        )
    codes, _ = _codes(labels)
    splitter = StratifiedGroupKFold(n_splits=sum(folds), shuffle=True, random_state=seed)
    owner = np.repeat(np.arange(len(folds)), folds)
    parts = np.empty(len(groups), dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" is expected
        try:
            for fold, (_, test) in enumerate(splitter.split(groups, codes, groups)):
                parts[test] = owner[fold]
        except ValueError as exc:
            raise UsageError(f"--split with --stratify-by: {exc}; stratify by a coarser "
                             "field or drop --stratify-by") from None
    return parts
