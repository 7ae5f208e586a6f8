"""Score fusion and reciprocal rank fusion."""

from __future__ import annotations

import pytest

from vlkit.retrieval.search import reciprocal_rank_fusion, score_fusion


def test_rrf_math():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert [x for x, _ in fused] == ["b", "a", "d", "c"]  # d: 1/62 beats c: 1/63
    assert dict(fused)["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert dict(fused)["d"] == pytest.approx(1 / 62)
    weighted = dict(reciprocal_rank_fusion([["a"], ["b"]], k=1, weights=[1.0, 0.5]))
    assert weighted == {"a": pytest.approx(0.5), "b": pytest.approx(0.25)}
    assert dict(reciprocal_rank_fusion([["a", "a"]], k=0)) == {"a": 1.0}  # repeats count once
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])


def test_score_fusion_math():
    fused = score_fusion([[("a", 0.8), ("b", 0.4)], [("b", 12.0), ("c", 6.0)]], weights=[1.0, 0.5])
    assert [x for x, _ in fused] == ["a", "b", "c"]
    assert dict(fused) == {"a": pytest.approx(1.0), "b": pytest.approx(0.5 + 0.5), "c": pytest.approx(0.25)}
    # a negative cosine adds nothing; a list whose best score is not positive adds nothing
    assert dict(score_fusion([[("a", 0.5), ("b", -0.2)], [("c", 0.0)]])) == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert dict(score_fusion([[("a", 2.0), ("a", 1.0), ("b", 1.0)]])) == {"a": 1.0, "b": 0.5}  # best score counts
    assert [x for x, _ in score_fusion([[("a", 1.0)], [("b", 1.0)]])] == ["a", "b"]  # ties: first seen first
    with pytest.raises(ValueError):
        score_fusion([[("a", 1.0)]], weights=[1.0, 2.0])


def test_score_fusion_keeps_a_clear_lead_that_rank_fusion_drops():
    # the embedding is sure (0.62 against 0.40), BM25 barely prefers the other page (10.0 against 9.5)
    dense = [("gold", 0.62), ("other", 0.40)]
    lexical = [("other", 10.0), ("gold", 9.5)]
    by_rank = reciprocal_rank_fusion([[k for k, _ in dense], [k for k, _ in lexical]], k=20, weights=[0.5, 1.0])
    by_score = score_fusion([dense, lexical], weights=[0.5, 1.0])
    assert by_rank[0][0] == "other"  # ranks 1 and 2 are all RRF sees
    assert by_score[0][0] == "gold"
