"""Cost explosions in ``summarize``: the few groups that drive the bill (``--top N``) and
windows whose cost jumps (``--window``).

Both work on the finished summary rows, so they see exactly the costs the summary shows
(reported ``cost_usd``, else priced from tokens; weighted when the logs are sampled).

The anomaly rule (docs/summarize.md) is Iglewicz and Hoaglin's modified z-score over the
windows of one group: ``z = 0.6745 (cost - median) / MAD``, with MAD the median absolute
deviation from the median; a window is an anomaly when ``z > 3.5`` and its cost is at
least :data:`MIN_RATIO` times the median (upward only: cost explosions; the ratio keeps a
series that barely varies from flagging a small rise). When MAD is 0 (more than half the
windows cost the same), ``1.2533 * MeanAD`` (mean absolute deviation) stands in for
``MAD / 0.6745``; when that is 0 too, every window costs the same and none is an
anomaly. A group needs :data:`MIN_WINDOWS` windows with a cost before any is judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Modified z-score above which a window's cost is an anomaly (Iglewicz and Hoaglin).
Z_LIMIT = 3.5
#: Smallest cost, as a multiple of the group's median window cost, that can be an anomaly.
MIN_RATIO = 1.5
#: Fewest windows with a cost before a group's windows are judged.
MIN_WINDOWS = 5


def top_groups(groups: list[dict[str, Any]], total_cost: float | None, n: int
               ) -> list[dict[str, Any]]:
    """The ``n`` costliest groups, costliest first, each with ``cost_share`` of the total
    (groups without a known cost come last, by requests)."""
    ranked = sorted(groups, key=lambda g: (g["cost_usd"] is None, -(g["cost_usd"] or 0.0),
                                           -g["requests"]))
    return [{**g, "cost_share": (g["cost_usd"] / total_cost
                                 if g["cost_usd"] is not None and total_cost else None)}
            for g in ranked[:n]]


def modified_z(values: Sequence[float]) -> list[float | None]:
    """Iglewicz-Hoaglin modified z-scores (None for all when the spread is 0)."""
    x = np.asarray(values, dtype=float)
    median = float(np.median(x))
    deviation = np.abs(x - median)
    mad = float(np.median(deviation))
    if mad > 0:
        return [float(v) for v in 0.6745 * (x - median) / mad]
    mean_ad = float(deviation.mean())
    if mean_ad > 0:
        return [float(v) for v in (x - median) / (1.253314 * mean_ad)]
    return [None] * len(values)


def cost_anomalies(groups: list[dict[str, Any]], by: Sequence[str]) -> list[dict[str, Any]]:
    """Mark each window row with ``cost_anomaly`` (None: not judged) and
    ``cost_anomaly_score``; return the anomalous windows, highest score first."""
    series: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in groups:
        row["cost_anomaly"] = row["cost_anomaly_score"] = None
        if row["cost_usd"] is not None and row["window"] is not None:
            series.setdefault(tuple(row[k] for k in by), []).append(row)
    found = []
    for rows in series.values():
        if len(rows) < MIN_WINDOWS:
            continue
        costs = [r["cost_usd"] for r in rows]
        median = float(np.median(costs))
        for row, z in zip(rows, modified_z(costs), strict=True):
            row["cost_anomaly_score"] = z
            row["cost_anomaly"] = (z is not None and z > Z_LIMIT
                                   and row["cost_usd"] >= MIN_RATIO * median)
            if row["cost_anomaly"]:
                found.append({"window": row["window"], **{k: row[k] for k in by},
                              "cost_usd": row["cost_usd"], "median_cost_usd": median,
                              "score": z})
    return sorted(found, key=lambda a: -a["score"])
