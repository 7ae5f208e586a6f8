"""Pins the public API the search/QA layer and users build on."""

from __future__ import annotations

import inspect

import vlkit.retrieval as kb
from vlkit.retrieval.index import DocumentIndex


def test_exports():
    assert kb.__all__ == sorted([
        "Chunk", "PageHit", "PageText",
        "DocumentIndex", "DocumentInfo", "IngestSummary", "FileResult",
        "Embedder", "SentenceTransformerEmbedder", "USEEmbedder", "make_embedder",
        "HybridSearcher", "Reranker", "VLMReranker", "DocumentQA", "Answer",
        "KnowledgeBaseRetriever", "KnowledgeBaseVectorStore", "SearchableIndex",
    ])
    for name in kb.__all__:
        assert getattr(kb, name) is not None


def test_each_subpackage_exports_what_its_users_import():
    """The folders name the ideas; their modules are private and each package's __all__ is its API."""
    from importlib import import_module
    from pathlib import Path

    expected = {
        "bm25": {"BM25Index", "BM25Config", "LexicalCorpus", "tokenize"},
        "embedders": {"Embedder", "SentenceTransformerEmbedder", "USEEmbedder", "make_embedder"},
        "search": {"HybridSearcher", "Reranker", "VLMReranker", "RankingConfig", "score_fusion",
                   "reciprocal_rank_fusion"},
        "store": {"ChromaStore", "Manifest", "VectorSnapshot", "IndexReader", "PageImageStore"},
        "ingest": {"Ingestor", "IngestLock", "FileResult", "IngestSummary"},
    }
    for name, names in expected.items():
        package = import_module(f"vlkit.retrieval.{name}")
        assert names <= set(package.__all__), name
        assert list(package.__all__) == sorted(package.__all__)
        modules = [p.stem for p in Path(package.__file__).parent.glob("*.py") if p.stem != "__init__"]
        assert modules and all(m.startswith("_") for m in modules), (name, modules)


def test_the_index_is_a_searchable_index(text_index):
    from vlkit.retrieval.protocols import SearchableIndex

    assert isinstance(text_index, SearchableIndex)
    assert isinstance(text_index.read_side, SearchableIndex)


def test_ingest_result_fields_the_cli_reads():
    from dataclasses import fields

    from vlkit.retrieval.ingest import STATUSES

    assert [f.name for f in fields(kb.FileResult)] == ["path", "status", "doc_id", "pages", "reason", "page_count",
                                                       "seconds", "failure"]
    assert [f.name for f in fields(kb.IngestSummary)] == ["files", "wall_s", "waited_s", "supported_suffixes",
                                                          "stages"]
    assert STATUSES == ("added", "replaced", "resumed", "unchanged", "skipped", "failed")


def test_document_index_signature():
    params = inspect.signature(DocumentIndex).parameters
    assert list(params)[:7] == ["path", "chroma_url", "embedder", "reader", "dpi", "model", "max_image_pixels"]
    for method in ("add", "remove", "documents", "chunks", "dense_search", "page_image", "page_text"):
        assert callable(getattr(DocumentIndex, method))
    assert isinstance(DocumentIndex.version, property) and isinstance(DocumentIndex.embedder, property)
    assert list(inspect.signature(DocumentIndex.add).parameters) == ["self", "paths", "reader", "progress"]


def test_one_required_method_per_extension_point():
    from vlkit.documents import PageReader
    from vlkit.retrieval.embedders import Embedder
    from vlkit.retrieval.search import Reranker

    assert [m for m in ("read_page", "read", "read_lines", "select") if m in PageReader.__dict__] == [
        "read_page", "read", "read_lines", "select"]
    assert "embed" in Embedder.__dict__ and "score" in Reranker.__dict__


def test_every_chat_model_argument_is_called_model():
    from vlkit.documents import VLMReader, make_reader
    from vlkit.retrieval import DocumentQA, VLMReranker

    for call in (DocumentQA, VLMReranker, VLMReader, make_reader, DocumentIndex):
        params = inspect.signature(call).parameters
        assert "model" in params and "chat_model" not in params, call
