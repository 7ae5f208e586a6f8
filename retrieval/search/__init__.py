"""Page search: dense + BM25 retrieval fused into one page ranking, the ranking steps, and rerankers.

:class:`HybridSearcher` is the searcher; :func:`score_fusion` / :func:`reciprocal_rank_fusion` fuse the
retrievers, :class:`RankingConfig` switches the ranking steps, :class:`Reranker` is the extension point and
:class:`VLMReranker` the chat model as a listwise judge.
"""

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("HybridSearcher", "Reranker"), "._hybrid"),
    **dict.fromkeys(("score_fusion", "reciprocal_rank_fusion"), "._fusion"),
    **dict.fromkeys(("RankingConfig", "is_listing_page"), "._ranking"),
    **dict.fromkeys(("VLMReranker",), "._rerank"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
