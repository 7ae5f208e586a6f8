"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009).

RRF adds ``weight / (k + rank)`` over the rankings an item appears in (rank is 1-based). It needs
no score calibration between retrievers — BM25 scores and cosine similarities are on unrelated
scales — which is why hybrid search fuses ranks, not scores. ``k = 60`` is the paper's value.

Example::

    reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
    # -> [("b", 1/62 + 1/61), ("a", 1/61), ("c", 1/62)]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["reciprocal_rank_fusion", "RRF_K"]

RRF_K = 60
"""The constant of the original paper; larger values flatten the head of each ranking."""

K = TypeVar("K", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[K, float]]:
    """Fuse best-first rankings into one, as ``(item, fused score)`` best first.

    Ties keep the order of first appearance (earlier ranking, better rank), so the result is
    deterministic. An item repeated inside one ranking counts at its best rank only.
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    scores: dict[K, float] = {}
    for r, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[r])
        seen: set[K] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
