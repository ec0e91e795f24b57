"""read_spans: every span of the real-producer trace fixtures, with the right tree."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from genailog.ingest.spans import read_spans

REAL = Path(__file__).parent / "fixtures" / "real"
TRACED = sorted(p for p in REAL.glob("*/*/truth.json")
                if json.loads(p.read_text(encoding="utf-8")).get("spans"))


def _expected_trees(trees: Any) -> Counter[tuple[str, str, str | None]]:
    """(trace id, span name, parent name) of each span, from either truth layout."""
    pairs: Counter[tuple[str, str, str | None]] = Counter()
    items = trees.items() if isinstance(trees, dict) else ((t["trace_id"], t["spans"])
                                                           for t in trees)
    for trace_id, spans in items:
        for name, parent in spans:
            pairs[(trace_id, name, parent)] += 1
    return pairs


@pytest.mark.parametrize("truth_path", TRACED, ids=lambda p: p.parent.name)
def test_every_span_is_read_with_its_parent(truth_path: Path) -> None:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    spans = read_spans([str(truth_path.parent / name) for name in truth["read"]])
    frame = spans.frame
    assert frame.height == truth["spans"] and not spans.invalid
    names = dict(zip(frame["span_id"], frame["name"], strict=True))
    got = Counter((t, n, names.get(p) if p else None)
                  for t, n, p in frame.select("trace_id", "name", "parent_span_id").rows())
    want = _expected_trees(truth["trees"])
    if all(trace in set(frame["trace_id"]) for trace, _, _ in want):
        assert got == want
    else:  # trees keyed by index, not by id: compare the shapes
        assert sorted(Counter((n, p) for _, n, p in got.elements()).items()) == sorted(
            Counter((n, p) for _, n, p in want.elements()).items())
    assert frame["duration_ms"].min() >= 0
    assert set(frame["kind"]) <= {"llm", "retriever", "reranker", "embedding", "tool",
                                  "agent", "chain", "guardrail", "evaluator", "span"}
