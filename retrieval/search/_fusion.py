"""Fusing the rankings of several retrievers into one: by score (the default) or by rank.

* :func:`score_fusion` — a weighted sum of each retriever's scores divided by its best score of the
  query (CombSUM over max-normalised scores, Fox & Shaw 1994; the convex combination that Bruch,
  Gai & Ingber, *An Analysis of Fusion Functions for Hybrid Retrieval*, TOIS 2023, found better than
  RRF in and out of domain). It keeps *how much* better the first item is than the second: a
  cosine of 0.62 against 0.40 is a clear win, ranks 1 and 2 are not.
* :func:`reciprocal_rank_fusion` (Cormack, Clarke & Büttcher, SIGIR 2009) adds
  ``weight / (k + rank)``; it needs no scores at all. ``k = 60`` is the paper's value.

Dividing by the query's best score is the calibration: BM25 scores and cosines are on unrelated
scales, and BM25's scale moves with the query's length, but "this page scores 80 % of the best one"
means the same for both. On the Debian-manuals dev set score fusion put the right page first for
0.685 of the questions against RRF's 0.645, with the same weights (``benchmarks/bench_ranking.py``).

Example::

    reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
    # -> [("b", 1/62 + 1/61), ("a", 1/61), ("c", 1/62)]
    score_fusion([[("a", 0.8), ("b", 0.4)], [("b", 12.0), ("c", 6.0)]])
    # -> [("b", 0.5 + 1.0), ("a", 1.0), ("c", 0.5)]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from vlkit.errors import InvalidArgumentError

__all__ = ["reciprocal_rank_fusion", "score_fusion", "RRF_K"]

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
        raise InvalidArgumentError(f"got {len(weights)} weights for {len(rankings)} rankings; give one per ranking")
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


def score_fusion(
    results: Sequence[Sequence[tuple[K, float]]],
    *,
    weights: Sequence[float] | None = None,
) -> list[tuple[K, float]]:
    """Fuse best-first ``(item, score)`` lists by ``sum(weight * score / best score of that list)``.

    An item missing from a list gets nothing from it; a negative score counts as 0, and a list
    whose best score is not positive adds nothing (it found nothing). An item repeated inside one
    list counts at its best score. Ties keep the order of first appearance, as in
    :func:`reciprocal_rank_fusion`. Returns ``(item, fused score)`` best first.
    """
    if weights is not None and len(weights) != len(results):
        raise InvalidArgumentError(f"got {len(weights)} weights for {len(results)} result lists; give one per list")
    scores: dict[K, float] = {}
    for r, listed in enumerate(results):
        w = 1.0 if weights is None else float(weights[r])
        best: dict[K, float] = {}
        for item, score in listed:
            if item not in best or score > best[item]:
                best[item] = float(score)
        top = max(best.values(), default=0.0)
        for item, score in best.items():
            share = w * max(score, 0.0) / top if top > 0 else 0.0
            scores[item] = scores.get(item, 0.0) + share
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
