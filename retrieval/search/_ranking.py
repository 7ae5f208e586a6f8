"""The ranking steps between the retrievers and the page list, each one switchable in :class:`RankingConfig`.

Real manuals punish what short generated pages reward: the right page is usually *found* but ranked
2nd–6th, behind tables of contents and indices that contain every query's words, and behind pages
that share one lucky chunk. Each step here fixes one such cause; ``benchmarks/bench_ranking.py``
measures each one on and off on the Debian-manuals dev set.

* **section-path field** (``heading_weight``): BM25 counts a term in the chunk's section path
  (document title + heading stack, see :mod:`~vlkit.retrieval.chunking`) ``heading_weight`` times;
* **page-level BM25** (``page_bm25``): the chunks of a page scored as one text, fused next to the
  chunk-level rankings — a page whose *whole* text answers the question beats one lucky chunk;
* **second-chunk bonus** (``second_chunk``): a page ranks by its best chunk plus a small share
  of its second best (never by how many chunks it has);
* **listing pages** (``listing_penalty``): tables of contents and back-of-book indices (dot leaders,
  "term, 37, 45" lines) are detected once at index time and their fused score scaled down;
* **pseudo-relevance feedback** (``prf_terms``): RM3 on BM25 — the best chunks' distinctive terms
  are added to the query with a small weight for a second BM25 pass.

Everything per query works on the retrievers' top lists (tens of items) or on numpy arrays; none
loops over the corpus in Python.

The steps that are on by default each raised Recall@1, Recall@5 and MRR@10 on the dev set's questions;
the second-chunk bonus and RM3 did not help and are off (what each step is worth: ``benchmarks/README.md``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vlkit.retrieval.bm25 import BM25Index, tokenize
from vlkit.retrieval.protocols import PageKey
from vlkit.retrieval.types import Chunk

__all__ = ["RankingConfig", "apply_penalty", "expansion_terms", "is_listing_page", "page_ranking", "page_scores"]

_LEADER = re.compile(r"(?:\.\s?){4,}\s*\S{0,6}$|…{2,}|(?:\s\.){4,}")
_INDEX_ENTRY = re.compile(r"(?:,\s*(?:\d{1,4}|[ivxlc]{1,6}))+$", re.IGNORECASE)


@dataclass(frozen=True)
class RankingConfig:
    """Switches and weights of the ranking steps (see the module docstring); the defaults are those
    measured best on the Debian-manuals dev set (two-fold tuning, each half checked on the other)."""

    heading_weight: float = 3.0
    """BM25F weight of the section path field (1: counted like body text; 0: not indexed)."""
    page_bm25: float = 1.0
    """Fusion weight of the page-level BM25 ranking, relative to the chunk-level one (0: off)."""
    second_chunk: float = 0.0
    """A page's score per retriever: best chunk + this × second-best chunk (0: best chunk only)."""
    listing_penalty: float = 0.1
    """Fused score factor for table-of-contents / index pages (1: no demotion). Score fusion keeps
    score gaps, and a table of contents holding every query word can score several times an answer
    page: at 0.1 it stays above one only with ten times its score (on the dev set 0–0.5 rank alike)."""
    prf_terms: int = 0
    """RM3 expansion terms added to the BM25 query (0: no pseudo-relevance feedback)."""
    prf_docs: int = 5
    """Best first-pass BM25 chunks the expansion terms are drawn from."""
    prf_weight: float = 0.3
    """Weight of the expansion terms against the original query terms (each 1)."""


def is_listing_page(text: str, *, min_lines: int = 5, share: float = 0.15) -> bool:
    """True for a table-of-contents or index page: at least ``min_lines`` lines, and ``share`` of
    all lines, end in dot leaders or page-number lists ("apt-doc, 36, 37").

    Such pages hold the words of every section they list, so BM25 (and a dense model, less so)
    ranks them high for any question — but they answer none.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    hits = sum(1 for line in lines if _LEADER.search(line) or _INDEX_ENTRY.search(line))
    return hits >= min_lines and hits >= share * len(lines)


def page_scores(results: Sequence[tuple[Chunk, float]], second: float = 0.0) -> list[tuple[PageKey, float]]:
    """Pages of a best-first chunk list as ``(page, score)``, best first: a page scores its best
    chunk's score (+ ``second`` × its second best).

    A page's third and later chunks never count, so a long page is not favoured for having many chunks.
    """
    best: dict[PageKey, list[float]] = {}
    for chunk, score in results:
        top = best.setdefault((chunk.doc_id, chunk.page), [])
        if len(top) < 2:
            top.append(score)
    scored = {key: top[0] + second * sum(top[1:]) for key, top in best.items()}
    if not second:
        return list(scored.items())  # the chunk list's order: a page ranks where its best chunk ranks
    order = {key: i for i, key in enumerate(best)}
    return sorted(scored.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def page_ranking(results: Sequence[tuple[Chunk, float]], second: float = 0.0) -> list[PageKey]:
    """The pages of :func:`page_scores`, without their scores (what rank fusion needs)."""
    return [key for key, _ in page_scores(results, second)]


def expansion_terms(
    bm25: BM25Index, query: str, feedback: Iterable[tuple[str, float]], n_terms: int,
) -> dict[str, float]:
    """RM3's expansion: the ``n_terms`` terms that weigh most across the feedback texts, each text's
    term distribution weighted by its (first-pass) score, times the term's idf. Query terms, and
    terms seen only once in all the feedback (noise), are left out.

    Returns ``{term: weight}`` with the weights scaled to sum to 1.
    """
    asked = set(tokenize(query))
    mass: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    feedback = list(feedback)
    top = max((s for _, s in feedback), default=0.0)
    for text, score in feedback:
        terms = tokenize(text)
        if not terms or top <= 0:
            continue
        counts = Counter(terms)
        w = math.exp(score / top - 1.0)  # the best text 1, weaker ones less
        for term, c in counts.items():
            if term in asked:
                continue
            mass[term] += w * c / len(terms)
            seen[term] += c
    scored = {t: m * bm25.idf(t) for t, m in mass.items() if seen[t] >= 2 and len(t) > 1 and not t.isdigit()}
    best = sorted(scored, key=lambda t: (-scored[t], t))[:n_terms]
    total = sum(scored[t] for t in best)
    return {t: scored[t] / total for t in best} if total > 0 else {}


def apply_penalty(
    fused: list[tuple[PageKey, float]], demoted: set[PageKey] | frozenset[PageKey], factor: float,
) -> list[tuple[PageKey, float]]:
    """``fused`` with the scores of ``demoted`` pages times ``factor``, re-sorted (stable)."""
    if factor == 1.0 or not demoted:
        return fused
    out = [(key, score * factor if key in demoted else score) for key, score in fused]
    order = {key: i for i, (key, _) in enumerate(out)}
    return sorted(out, key=lambda kv: (-kv[1], order[kv[0]]))
