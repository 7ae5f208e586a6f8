"""Hybrid page search: dense (Chroma) + BM25 over chunks, fused by reciprocal rank, deduplicated to pages.

Why pages: QA shows the model page *images* and cites ``[file p.N]``, so the page is the unit
that is returned, cited and evaluated. Each retriever's chunk ranking is first collapsed to a
page ranking (a page ranks where its best chunk ranks), then the two page rankings are fused
with RRF, so a page with many mediocre chunks does not outrank a page with one excellent one.

BM25 lives in memory and is brought up to date lazily, on the first search after ``index.version``
changed, re-reading only the documents that changed (:class:`~vlkit.retrieval.lexical_corpus.LexicalCorpus`).

Relevance: RRF scores only order results; they do not say whether anything matched. Every hit
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

from vlkit.errors import InvalidArgumentError
from vlkit.retrieval.chunking import with_heading
from vlkit.retrieval.fusion import RRF_K, reciprocal_rank_fusion
from vlkit.retrieval.lexical import BM25Index
from vlkit.retrieval.lexical_corpus import LexicalCorpus
from vlkit.retrieval.protocols import PageKey, SearchableIndex
from vlkit.retrieval.script import cjk_share
from vlkit.retrieval.types import Chunk, PageHit

__all__ = ["HybridSearcher", "Reranker", "cjk_share"]

logger = logging.getLogger(__name__)


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
        rrf_k: the RRF constant.
        weights: ``(dense, lexical)`` weights in the fusion.
        adaptive: scale the lexical weight by how much of the query BM25's best pages contain
            (full weight at ``full_coverage`` or more), and by the script gap between the query
            and those pages (``1 - |cjk_share(query) - cjk_share(pages)|``: a Chinese question
            about English pages is left to the multilingual dense retriever); see :meth:`search`.
        full_coverage: the coverage at which BM25 gets its full weight.
    """

    def __init__(
        self,
        index: SearchableIndex,
        *,
        k_dense: int = 40,
        k_lexical: int = 40,
        reranker: Reranker | None = None,
        rerank_depth: int = 20,
        rrf_k: int = RRF_K,
        weights: tuple[float, float] = (1.0, 1.0),
        adaptive: bool = True,
        full_coverage: float = 0.7,
    ) -> None:
        if k_dense < 0 or k_lexical < 0 or k_dense + k_lexical == 0:
            raise InvalidArgumentError(
                f"k_dense={k_dense} and k_lexical={k_lexical}: both must be >= 0 and not both 0 (defaults: 40 and 40)"
            )
        self.index = index
        self.k_dense = k_dense
        self.k_lexical = k_lexical
        self.reranker = reranker
        self.rerank_depth = rerank_depth
        self.rrf_k = rrf_k
        self.weights = weights
        self.adaptive = adaptive
        self.full_coverage = full_coverage
        # the heading is part of what a chunk is about, as in the dense embedding
        self._corpus = LexicalCorpus(index, with_heading)

    # ------------------------------------------------------------------ retrievers
    def _lexical(self) -> tuple[BM25Index, list[Chunk]]:
        return self._corpus.get()

    def lexical_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        """The ``k`` best chunks by BM25 as ``(chunk, score)``."""
        return _bm25_hits(*self._lexical(), query, k)

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
        bm25, chunks = self._lexical()
        dense = self.dense_search(query, max(self.k_dense, k)) if self.k_dense else []
        lexical = _bm25_hits(bm25, chunks, query, max(self.k_lexical, k)) if self.k_lexical else []
        lexical_pages = _page_ranking(lexical)
        w_dense, w_lex = self.weights
        pages = self._pages(lexical_pages[:3], dense, lexical) if self.adaptive and dense else {}
        if self.adaptive and dense and lexical_pages:
            # BM25 only deserves a vote when the query's terms are actually on the pages it found:
            # a Chinese question about an English manual matches little more than the product name.
            top = [pages[key][0] for key in lexical_pages[:3]]
            best = max(bm25.coverage(query, text) for text in top)
            w_lex *= min(1.0, best / self.full_coverage)
            # ... and across scripts the terms it can match at all are names and numbers, so its
            # vote shrinks with the script gap between the query and those pages.
            w_lex *= 1.0 - abs(cjk_share(query) - cjk_share("\n".join(top)))
        fused = reciprocal_rank_fusion(
            [_page_ranking(dense), lexical_pages], k=self.rrf_k, weights=(w_dense, w_lex)
        )
        depth = max(k, self.rerank_depth) if self.reranker else k
        missing = [key for key, _ in fused[:depth] if key not in pages]
        pages.update(self._pages(missing, dense, lexical) if missing else {})
        hits = [self._hit(key, score, dense, lexical, query, pages[key], bm25) for key, score in fused[:depth]]
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
    ) -> dict[PageKey, tuple[str, Path | None]]:
        """Text and image of every candidate page, read in one batch."""
        keys = list(dict.fromkeys(keys))
        found = self.index.pages(keys)
        out: dict[PageKey, tuple[str, Path | None]] = {}
        for key in keys:
            text, image = found.get(key, ("", None))
            if not text:  # a page known only by its chunks (e.g. an index without page rows)
                text = "\n".join(c.text for c, _ in list(dense) + list(lexical) if (c.doc_id, c.page) == key)
            out[key] = (text, image)
        return out

    def _hit(
        self, key: PageKey, score: float, dense: list[tuple[Chunk, float]],
        lexical: list[tuple[Chunk, float]], query: str, page: tuple[str, Path | None], bm25: BM25Index,
    ) -> PageHit:
        doc_id, page_no = key
        mine = [c for c, _ in dense if (c.doc_id, c.page) == key]
        seen = {m.id for m in mine}
        mine += [c for c, _ in lexical if (c.doc_id, c.page) == key and c.id not in seen]
        first = mine[0]
        text, image = page
        scores = {"rrf": score}
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
            image_path=str(image) if image is not None else first.image_path, chunks=mine, scores=scores,
        )


def _bm25_hits(bm25: BM25Index, chunks: list[Chunk], query: str, k: int) -> list[tuple[Chunk, float]]:
    return [(chunks[i], s) for i, s in bm25.search(query, k)]


def _page_ranking(results: Sequence[tuple[Chunk, float]]) -> list[PageKey]:
    """Pages in order of their best chunk."""
    seen: dict[PageKey, None] = {}
    for chunk, _ in results:
        seen.setdefault((chunk.doc_id, chunk.page), None)
    return list(seen)
