"""Drift's "what changed" terms are robust to prompt length (issue 13 finding 17).

The repro of the finding: the current window's prompts are four times longer (more of the
same filler words) and a new topic, "recover my crypto wallet seed", appears in about 11%
of them. Ranked by the change in document share, every filler word and filler pair rose
more than the new topic (a filler word goes from 41% to 88% of prompts), and the topic
was not named; ranked by per-token rates, it comes first.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from genailog.analysis.drift import text
from genailog.analysis.drift.text import PRIOR_COUNT, rate_log_ratios

FILLER = ["please", "help", "order", "account", "today", "thanks", "issue", "question"]
TOPICS = ["refund for my invoice", "reset my password", "track my parcel delivery",
          "warranty repair booking"]
NEW = "recover my crypto wallet seed"


def prompts(rng: np.random.Generator, n: int, filler: int, new_share: float = 0.0) -> list[str]:
    out = []
    for _ in range(n):
        topic = NEW if rng.random() < new_share else TOPICS[rng.integers(len(TOPICS))]
        out.append(f"{topic} {' '.join(rng.choice(FILLER, filler))}")
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_new_topic_is_named_first_when_prompts_also_get_longer(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = prompts(rng, 600, filler=4)
    current = prompts(rng, 600, filler=16, new_share=0.11)
    result = text.domain_classifier(reference, current, alpha=1e-3)
    assert result.drifted
    named = [t["term"] for t in result.detail["terms_current"]]
    assert any(w in named[0] for w in ("crypto", "wallet", "recover", "seed")), named
    first = result.detail["terms_current"][0]
    assert first["reference_share"] == 0.0 and 0.07 < first["current_share"] < 0.15
    # old terms' per-token rates all fell (the prompts are longer); a term is named as
    # fading only if fewer prompts hold it
    for term in result.detail["terms_reference"]:
        assert term["current_share"] < term["reference_share"], term


def test_a_vanished_topic_is_named_first_when_prompts_get_longer() -> None:
    rng = np.random.default_rng(5)
    reference = prompts(rng, 600, filler=4, new_share=0.11)
    current = prompts(rng, 600, filler=16)
    result = text.domain_classifier(reference, current, alpha=1e-3)
    first = result.detail["terms_reference"][0]
    assert any(w in first["term"] for w in ("crypto", "wallet", "recover", "seed")), first
    assert first["current_share"] == 0.0


def test_rate_log_ratios_match_a_direct_computation() -> None:
    # 2 reference documents, 3 current ones; 3 terms
    counts = sparse.csr_matrix(np.array([[2, 0, 1], [1, 0, 0], [1, 3, 0], [0, 1, 0],
                                         [2, 0, 0]]))
    log_ratio, ref_share, cur_share = rate_log_ratios(counts, 2)
    y_ref, y_cur = np.array([3, 0, 1]), np.array([3, 4, 0])
    a = PRIOR_COUNT
    expected = np.log(((y_cur + a) / (y_cur.sum() + 3 * a)) / ((y_ref + a) / (y_ref.sum() + 3 * a)))
    assert log_ratio == pytest.approx(expected)
    assert ref_share == pytest.approx([1.0, 0.0, 0.5])
    assert cur_share == pytest.approx([2 / 3, 2 / 3, 0.0])
