"""Document knowledge base: pages read (text layer or OCR), indexed in Chroma, answered with citations.

The heavy parts (PyMuPDF, Chroma, sentence-transformers) import on first use of the names below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlkit.retrieval.types import Chunk, PageHit, PageText

__all__ = [
    "Chunk", "PageHit", "PageText",
    "DocumentIndex", "DocumentInfo", "IngestSummary", "FileResult",
    "Embedder", "SentenceTransformerEmbedder",
    "PageReader", "SourcePage",
    "HybridSearcher", "Reranker", "VLMReranker", "DocumentQA", "Answer",
    "KnowledgeBaseRetriever", "KnowledgeBaseVectorStore", "USEEmbedder", "make_embedder",
    "SearchableIndex", "SUPPORTED_SUFFIXES",
]

if TYPE_CHECKING:
    from vlkit.retrieval.embeddings import Embedder, SentenceTransformerEmbedder
    from vlkit.retrieval.index import DocumentIndex, DocumentInfo, FileResult, IngestSummary
    from vlkit.retrieval.adapters import KnowledgeBaseRetriever, KnowledgeBaseVectorStore
    from vlkit.retrieval.embeddings import make_embedder
    from vlkit.retrieval.multilingual import USEEmbedder
    from vlkit.retrieval.qa import Answer, DocumentQA
    from vlkit.retrieval.ingest.files import SUPPORTED_SUFFIXES
    from vlkit.retrieval.pages import SourcePage
    from vlkit.retrieval.protocols import SearchableIndex
    from vlkit.retrieval.readers import PageReader
    from vlkit.retrieval.rerank import VLMReranker
    from vlkit.retrieval.search import HybridSearcher, Reranker

_LAZY = {
    "DocumentIndex": "index", "DocumentInfo": "index", "IngestSummary": "index", "FileResult": "index",
    "Embedder": "embeddings", "SentenceTransformerEmbedder": "embeddings",
    "PageReader": "readers", "SourcePage": "pages", "SearchableIndex": "protocols",
    "SUPPORTED_SUFFIXES": "ingest.files",
    "HybridSearcher": "search", "Reranker": "search", "VLMReranker": "rerank", "DocumentQA": "qa", "Answer": "qa",
    "KnowledgeBaseRetriever": "adapters", "KnowledgeBaseVectorStore": "adapters",
    "USEEmbedder": "multilingual", "make_embedder": "embeddings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"vlkit.retrieval.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vlkit.retrieval' has no attribute {name!r}")
