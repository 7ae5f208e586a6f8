"""Reciprocal rank fusion."""

from __future__ import annotations

import pytest

from vlkit.retrieval.fusion import reciprocal_rank_fusion


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
