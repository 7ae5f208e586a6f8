"""Pins the public API the search/QA layer and users build on."""

from __future__ import annotations

import inspect

import vlkit.retrieval as kb
from vlkit.retrieval.index import DocumentIndex


def test_exports():
    for name in ("DocumentIndex", "DocumentInfo", "IngestSummary", "FileResult", "Embedder",
                 "SentenceTransformerEmbedder", "PageReader", "SourcePage", "Chunk", "PageHit", "PageText"):
        assert name in kb.__all__ and getattr(kb, name) is not None


def test_document_index_signature():
    params = inspect.signature(DocumentIndex).parameters
    assert list(params)[:6] == ["path", "chroma_url", "embedder", "reader", "dpi", "chat_model"]
    for method in ("add", "remove", "documents", "chunks", "dense_search", "page_image", "page_text"):
        assert callable(getattr(DocumentIndex, method))
    assert isinstance(DocumentIndex.version, property) and isinstance(DocumentIndex.embedder, property)
    assert list(inspect.signature(DocumentIndex.add).parameters) == ["self", "paths", "reader", "progress"]


def test_one_required_method_per_extension_point():
    from vlkit.retrieval.embeddings import Embedder
    from vlkit.retrieval.readers import PageReader

    assert [m for m in ("read", "select") if m in PageReader.__dict__] == ["read", "select"]
    assert "embed" in Embedder.__dict__
