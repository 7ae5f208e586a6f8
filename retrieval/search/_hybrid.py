"""Hybrid page search: dense (Chroma) + BM25 over chunks, fused by score, deduplicated to pages.

Why pages: QA shows the model page *images* and cites ``[file p.N]``, so the page is the unit
that is returned, cited and evaluated. Each retriever's chunk list is first collapsed to pages (a
page scores its best chunk's score), then the page lists are fused (:func:`~vlkit.retrieval.search.score_fusion`:
each retriever's scores divided by its best score of the query, weighted and summed; or by
reciprocal rank with ``fusion="rrf"``), so a page with many mediocre chunks does not outrank a page
with one excellent one.

BM25 lives in memory and is brought up to date lazily, on the first search after ``index.version``
changed, re-reading only the documents that changed (:class:`~vlkit.retrieval.bm25.LexicalCorpus`).

Ranking steps (switched by :class:`~vlkit.retrieval.search.RankingConfig`): the section path as a
boosted BM25 field, page-level BM25 as a third fused ranking (a page whose whole text answers the
question, not one lucky chunk), demotion of table-of-contents / index pages, and — off by default, they
did not help — a second-chunk bonus and RM3 query expansion. Each was measured on the Debian-manuals dev
set (``benchmarks/bench_ranking.py``; the figures are in ``benchmarks/README.md``).

Relevance: fused scores only order results; they do not say whether anything matched. Every hit
therefore also carries ``scores["dense"]`` (best cosine of its chunks) and ``scores["coverage"]``
(share of the query's idf mass present in the page, see :meth:`BM25Index.coverage`);
``scores["relevance"]`` is the larger of the two and is what :class:`~vlkit.retrieval.qa.DocumentQA`
compares with its threshold.

Example::

    searcher = HybridSearcher(DocumentIndex(".vlkit/kb"))
    for hit in searcher.search("how do I rotate TLS certificates", k=3):
        print(hit.citation, round(hit.score, 4))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from vlkit.documents.script import cjk_share
from vlkit.errors import InvalidArgumentError
from vlkit.retrieval.bm25 import BM25Index, LexicalCorpus, LexicalSnapshot, tokenize
from vlkit.retrieval.chunking import context_header, with_heading
from vlkit.retrieval.protocols import PageKey, SearchableIndex
from vlkit.retrieval.search._fusion import reciprocal_rank_fusion, score_fusion
from vlkit.retrieval.search._ranking import (
    RankingConfig,
    apply_penalty,
    expansion_terms,
    is_listing_page,
    page_scores,
)
from vlkit.retrieval.types import Chunk, PageHit

__all__ = ["HybridSearcher", "Reranker", "FUSION_K", "FUSION_WEIGHTS"]

logger = logging.getLogger(__name__)

FUSION_K = 20
"""RRF constant for ``fusion="rrf"``, tuned on the Debian-manuals dev set (``benchmarks/bench_ranking.py --tune``)."""
FUSION_WEIGHTS = (0.5, 1.0)
"""Default ``(dense, lexical)`` fusion weights, tuned on the same set (best for both fusions)."""


class Reranker:
    """Re-scores the best pages of a search. Subclasses implement :meth:`score`.

    A cross-encoder, a VLM judging page images, or a rule ("prefer the newest manual") plugs in
    here; the searcher re-sorts by the returned scores and records them as ``scores["rerank"]``.
    """

    def score(self, query: str, hits: Sequence[PageHit]) -> Sequence[float]:
        """One score per hit, higher is better."""
        raise NotImplementedError


class HybridSearcher:
    """Dense + BM25 page search over a :class:`~vlkit.retrieval.index.DocumentIndex`.

    Args:
        index: the read side of an index (:class:`~vlkit.retrieval.protocols.SearchableIndex`): a
            :class:`~vlkit.retrieval.index.DocumentIndex`, or anything with the same read methods.
        k_dense: chunks fetched from the vector store per query.
        k_lexical: chunks taken from BM25 per query.
        reranker: optional :class:`Reranker` applied to the best ``rerank_depth`` pages.
        rerank_depth: how many fused pages the reranker sees.
        fusion: ``"score"`` (default): each retriever's page scores divided by its best score of the
            query, weighted and summed (:func:`~vlkit.retrieval.search.score_fusion`) — a page the
            embedding puts far ahead keeps that lead; ``"rrf"``: reciprocal rank fusion, ranks only.
        rrf_k: the RRF constant when ``fusion="rrf"`` (default 20, tuned on the dev set; the paper's
            60 flattens the head of each ranking, which costs Recall@1 when one retriever is clearly right).
        weights: ``(dense, lexical)`` weights in the fusion (default ``(0.5, 1.0)``: on real English
            manuals BM25 is the stronger retriever; a Chinese question still goes to the dense side
            through ``adaptive``).
        adaptive: scale the lexical weight by how much of the query BM25's best pages contain
            (full weight at ``full_coverage`` or more), and by the script gap between the query
            and those pages (``1 - |cjk_share(query) - cjk_share(pages)|``: a Chinese question
            about English pages is left to the multilingual dense retriever); see :meth:`search`.
        full_coverage: the coverage at which BM25 gets its full weight.
        ranking: the ranking steps and their weights (:class:`~vlkit.retrieval.search.RankingConfig`).
    """

    def __init__(
        self,
        index: SearchableIndex,
        *,
        k_dense: int = 40,
        k_lexical: int = 40,
        reranker: Reranker | None = None,
        rerank_depth: int = 20,
        fusion: Literal["score", "rrf"] = "score",
        rrf_k: int = FUSION_K,
        weights: tuple[float, float] = FUSION_WEIGHTS,
        adaptive: bool = True,
        full_coverage: float = 0.7,
        ranking: RankingConfig | None = None,
    ) -> None:
        if k_dense < 0 or k_lexical < 0 or k_dense + k_lexical == 0:
            raise InvalidArgumentError(
                f"k_dense={k_dense} and k_lexical={k_lexical}: both must be >= 0 and not both 0 (defaults: 40 and 40)"
            )
        if fusion not in ("score", "rrf"):
            raise InvalidArgumentError(f"fusion={fusion!r}: choose 'score' (default) or 'rrf'")
        self.index = index
        self.fusion = fusion
        self.k_dense = k_dense
        self.k_lexical = k_lexical
        self.reranker = reranker
        self.rerank_depth = rerank_depth
        self.rrf_k = rrf_k
        self.weights = weights
        self.adaptive = adaptive
        self.full_coverage = full_coverage
        self.ranking = ranking or RankingConfig()
        # the section path is part of what a chunk is about, as in the dense embedding (where it
        # is prepended, see with_heading); BM25 counts it as a boosted field
        # an index that keeps a search folder (DocumentIndex) also keeps the term counts there, so a
        # new process (`vlkit kb search`) does not tokenise every chunk again
        self._corpus = LexicalCorpus(index, _body, heading_of=context_header,
                                     heading_weight=self.ranking.heading_weight,
                                     cache=getattr(index, "lexical_cache_path", None), is_listing=is_listing_page)

    # ------------------------------------------------------------------ retrievers
    def lexical_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        """The ``k`` best chunks by BM25 as ``(chunk, score)`` (with query expansion when on)."""
        snap = self._corpus.snapshot()
        return _bm25_hits(snap.bm25, snap.chunks, self._lexical_query(snap, query), k)

    def _lexical_query(self, snap: LexicalSnapshot, query: str) -> str | dict[str, float]:
        """``query``, or with RM3 expansion terms added (``ranking.prf_terms``)."""
        cfg = self.ranking
        if not cfg.prf_terms:
            return query
        first = _bm25_hits(snap.bm25, snap.chunks, query, cfg.prf_docs)
        extra = expansion_terms(snap.bm25, query, [(with_heading(c), s) for c, s in first], cfg.prf_terms)
        if not extra:
            return query
        # RM3's mix: the asked terms weigh 1 each, the expansion ``prf_weight`` of their total
        terms = {t: 1.0 for t in tokenize(query)}
        mass = cfg.prf_weight * len(terms)
        for t, w in extra.items():
            terms[t] = terms.get(t, 0.0) + mass * w
        return terms

    def dense_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks as ``(chunk, cosine)``."""
        return list(self.index.dense_search(query, k)) if k > 0 else []

    # ------------------------------------------------------------------ search
    def search(self, query: str, k: int = 5) -> list[PageHit]:
        """The ``k`` best pages for ``query``, best first (see the module docstring)."""
        if k <= 0 or not query.strip():
            return []
        # one BM25 snapshot for the whole search: ranking and coverage agree even if an ingest
        # commits meanwhile, and the index version is read once, not once per hit
        cfg = self.ranking
        snap = self._corpus.snapshot()
        bm25, chunks = snap.bm25, snap.chunks
        dense = self.dense_search(query, max(self.k_dense, k)) if self.k_dense else []
        lex_query = self._lexical_query(snap, query) if self.k_lexical else query
        lexical = _bm25_hits(bm25, chunks, lex_query, max(self.k_lexical, k)) if self.k_lexical else []
        lexical_pages = page_scores(lexical, cfg.second_chunk)
        page_level: list[tuple[PageKey, float]] = []
        if cfg.page_bm25 and self.k_lexical:
            page_level = [(snap.pages[i], s) for i, s in snap.page_bm25.search(lex_query, max(self.k_lexical, k))]
        w_dense, w_lex = self.weights
        # the text of BM25's top pages, for its vote's weight (their images only if they are returned)
        texts = self._pages([key for key, _ in lexical_pages[:3]], dense, lexical, images=False) \
            if self.adaptive and dense else {}
        if self.adaptive and dense and lexical_pages:
            # BM25 only deserves a vote when the query's terms are actually on the pages it found:
            # a Chinese question about an English manual matches little more than the product name.
            top = [texts[key][0] for key, _ in lexical_pages[:3]]
            best = max(bm25.coverage(query, text) for text in top)
            w_lex *= min(1.0, best / self.full_coverage)
            # ... and across scripts the terms it can match at all are names and numbers, so its
            # vote shrinks with the script gap between the query and those pages.
            w_lex *= 1.0 - abs(cjk_share(query) - cjk_share("\n".join(top)))
        lists, weights = [page_scores(dense, cfg.second_chunk), lexical_pages], [w_dense, w_lex]
        if page_level:
            lists.append(page_level)
            weights.append(w_lex * cfg.page_bm25)
        if self.fusion == "score":
            fused = score_fusion(lists, weights=weights)
        else:
            fused = reciprocal_rank_fusion([[key for key, _ in pl] for pl in lists], k=self.rrf_k, weights=weights)
        # a table of contents or an index holds every section's words but answers nothing
        fused = apply_penalty(fused, snap.listings, cfg.listing_penalty)
        depth = max(k, self.rerank_depth) if self.reranker else k
        shown = [key for key, _ in fused[:depth]]
        pages = self._pages(shown, dense, lexical) if shown else {}
        hits = [self._hit(key, score, dense, lexical, query, pages[key], snap) for key, score in fused[:depth]]
        if self.reranker is not None and hits:
            scores = list(self.reranker.score(query, hits))
            if len(scores) != len(hits):
                raise InvalidArgumentError(
                    f"{type(self.reranker).__name__}.score returned {len(scores)} scores for {len(hits)} hits; "
                    "a reranker must return one score per hit, in order"
                )
            for hit, s in zip(hits, scores):
                hit.scores["rerank"] = float(s)
                hit.score = float(s)
            hits.sort(key=lambda h: -h.score)  # stable: ties keep the fused order
        return hits[:k]

    def _pages(
        self, keys: list[PageKey], dense: list[tuple[Chunk, float]], lexical: list[tuple[Chunk, float]],
        images: bool = True,
    ) -> dict[PageKey, tuple[str, Path | None]]:
        """Text and image (``images``) of every candidate page, read in one batch."""
        keys = list(dict.fromkeys(keys))
        found = self.index.pages(keys, images)
        out: dict[PageKey, tuple[str, Path | None]] = {}
        for key in keys:
            text, image = found.get(key, ("", None))
            if not text:  # a page known only by its chunks (e.g. an index without page rows)
                mine = [c for c, _ in list(dense) + list(lexical) if (c.doc_id, c.page) == key]
                text = "\n".join(c.text for c in mine)
                if key not in found and images:
                    image = next((Path(c.image_path) for c in mine if c.image_path), None)
            out[key] = (text, image)
        return out

    def _hit(
        self, key: PageKey, score: float, dense: list[tuple[Chunk, float]],
        lexical: list[tuple[Chunk, float]], query: str, page: tuple[str, Path | None], snap: LexicalSnapshot,
    ) -> PageHit:
        doc_id, page_no = key
        bm25 = snap.bm25
        mine = [c for c, _ in dense if (c.doc_id, c.page) == key]
        seen = {m.id for m in mine}
        mine += [c for c, _ in lexical if (c.doc_id, c.page) == key and c.id not in seen]
        if not mine:  # found by page-level BM25 only
            mine = snap.page_chunks(key)[:1]
        first = mine[0]
        text, image = page
        scores = {"fused": score}
        d = [s for c, s in dense if (c.doc_id, c.page) == key]
        if d:
            scores["dense"] = max(d)
        b = [s for c, s in lexical if (c.doc_id, c.page) == key]
        if b:
            scores["bm25"] = max(b)
        scores["coverage"] = bm25.coverage(query, text)
        scores["relevance"] = max(scores.get("dense", 0.0), scores["coverage"])
        return PageHit(
            doc_id=doc_id, file_name=first.file_name, page=page_no, score=score, text=text,
            image_path=str(image) if image is not None else None, chunks=mine, scores=scores,
        )


def _body(chunk: Chunk) -> str:
    return chunk.text


def _bm25_hits(bm25: BM25Index, chunks: list[Chunk], query: str | dict[str, float], k: int) -> list[tuple[Chunk, float]]:
    return [(chunks[i], s) for i, s in bm25.search(query, k)]
