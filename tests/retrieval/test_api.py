"""Pins the public API the search/QA layer and users build on."""

from __future__ import annotations

import inspect

import vlkit.retrieval as kb
from vlkit.retrieval.index import DocumentIndex


def test_exports():
    assert kb.__all__ == [
        "Chunk", "PageHit", "PageText",
        "DocumentIndex", "DocumentInfo", "IngestSummary", "FileResult",
        "Embedder", "SentenceTransformerEmbedder",
        "PageReader", "SourcePage",
        "HybridSearcher", "Reranker", "VLMReranker", "DocumentQA", "Answer",
        "KnowledgeBaseRetriever", "KnowledgeBaseVectorStore", "USEEmbedder", "make_embedder",
        "SearchableIndex", "SUPPORTED_SUFFIXES",
    ]
    for name in kb.__all__:
        assert getattr(kb, name) is not None


def test_the_index_is_a_searchable_index(text_index):
    from vlkit.retrieval.protocols import SearchableIndex

    assert isinstance(text_index, SearchableIndex)
    assert isinstance(text_index.read_side, SearchableIndex)


def test_ingest_result_fields_the_cli_reads():
    from dataclasses import fields

    from vlkit.retrieval.ingest import STATUSES

    assert [f.name for f in fields(kb.FileResult)] == ["path", "status", "doc_id", "pages", "reason", "page_count",
                                                       "seconds"]
    assert [f.name for f in fields(kb.IngestSummary)] == ["files", "wall_s", "waited_s", "supported_suffixes",
                                                          "stages"]
    assert STATUSES == ("added", "replaced", "resumed", "unchanged", "skipped", "failed")


def test_document_index_signature():
    params = inspect.signature(DocumentIndex).parameters
    assert list(params)[:7] == ["path", "chroma_url", "embedder", "reader", "dpi", "chat_model", "max_image_pixels"]
    for method in ("add", "remove", "documents", "chunks", "dense_search", "page_image", "page_text"):
        assert callable(getattr(DocumentIndex, method))
    assert isinstance(DocumentIndex.version, property) and isinstance(DocumentIndex.embedder, property)
    assert list(inspect.signature(DocumentIndex.add).parameters) == ["self", "paths", "reader", "progress"]


def test_one_required_method_per_extension_point():
    from vlkit.retrieval.embeddings import Embedder
    from vlkit.retrieval.readers import PageReader

    assert [m for m in ("read", "select") if m in PageReader.__dict__] == ["read", "select"]
    assert "embed" in Embedder.__dict__
