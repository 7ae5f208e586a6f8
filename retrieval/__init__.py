"""Document knowledge base: pages read (text layer or OCR), indexed in Chroma, answered with citations.

:class:`DocumentIndex` adds files and keeps them (``ingest``, ``store``), :class:`HybridSearcher` finds
pages (``search``: dense + ``bm25``, fused and ranked), :class:`DocumentQA` answers from them with
``[file p.N]`` citations, and the LangChain adapters make an index a ``BaseRetriever`` / ``VectorStore``.
Reading the pages themselves is :mod:`vlkit.documents`. Names import on first use: PyMuPDF, Chroma and
the embedders load only when something needs them.

Example:
    ```python
    from vlkit.retrieval import DocumentIndex, HybridSearcher

    kb = DocumentIndex(".vlkit/kb")
    kb.add(["reports/"])
    for hit in HybridSearcher(kb).search("how do I rotate the API key", k=3):
        print(hit.citation, hit.text[:80])
    ```
"""

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("Chunk", "PageHit", "PageText"), ".types"),
    **dict.fromkeys(("SearchableIndex",), ".protocols"),
    **dict.fromkeys(("DocumentIndex", "DocumentInfo"), ".index"),
    **dict.fromkeys(("IngestSummary", "FileResult"), ".ingest"),
    **dict.fromkeys(("Embedder", "SentenceTransformerEmbedder", "USEEmbedder", "make_embedder"), ".embedders"),
    **dict.fromkeys(("HybridSearcher", "Reranker", "VLMReranker"), ".search"),
    **dict.fromkeys(("DocumentQA", "Answer"), ".qa"),
    **dict.fromkeys(("KnowledgeBaseRetriever", "KnowledgeBaseVectorStore"), ".adapters"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.retrieval.adapters import KnowledgeBaseRetriever, KnowledgeBaseVectorStore
    from vlkit.retrieval.embedders import Embedder, SentenceTransformerEmbedder, USEEmbedder, make_embedder
    from vlkit.retrieval.index import DocumentIndex, DocumentInfo
    from vlkit.retrieval.ingest import FileResult, IngestSummary
    from vlkit.retrieval.protocols import SearchableIndex
    from vlkit.retrieval.qa import Answer, DocumentQA
    from vlkit.retrieval.search import HybridSearcher, Reranker, VLMReranker
    from vlkit.retrieval.types import Chunk, PageHit, PageText
