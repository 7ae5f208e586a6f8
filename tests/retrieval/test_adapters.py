"""LangChain adapters: the standard retriever and vector-store suites, plus page metadata checks."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import RetrieversIntegrationTests, VectorStoreIntegrationTests

from vlkit.retrieval.adapters import (
    EmbedderEmbeddings,
    KnowledgeBaseRetriever,
    KnowledgeBaseVectorStore,
    LangChainEmbedder,
)
from vlkit.retrieval.search import HybridSearcher


class TestRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _index(self, text_index):
        type(self)._shared_index = text_index

    @property
    def retriever_constructor(self):
        return KnowledgeBaseRetriever

    @property
    def retriever_constructor_params(self):
        return {"searcher": HybridSearcher(self._shared_index)}

    @property
    def retriever_query_example(self):
        return "basalt magma volcano"


class TestVectorStoreStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, tmp_path):
        from vlkit.retrieval.index import DocumentIndex

        index = DocumentIndex(tmp_path / "kb", embedder=LangChainEmbedder(self.get_embeddings(), name="fake6"))
        yield KnowledgeBaseVectorStore(index)
        index.close()

    @property
    def has_async(self) -> bool:
        return True  # the VectorStore base runs the sync methods in a thread


def test_retriever_returns_pages_with_citations(text_index):
    docs = KnowledgeBaseRetriever.from_index(text_index, k=2).invoke("chlorophyll sunlight")
    assert docs[0].metadata["page"] == 2 and docs[0].metadata["citation"].endswith("p.2]")
    assert "Photosynthesis" in docs[0].page_content
    assert docs[0].metadata["image_path"].endswith(".png") and docs[0].metadata["scores"]["dense"] > 0


def test_vectorstore_searches_document_chunks_and_free_texts(tmp_path, embedder, text_pdf):
    from vlkit.retrieval.index import DocumentIndex

    index = DocumentIndex(tmp_path / "kb", embedder=embedder, dpi=72)
    index.add(text_pdf)
    store = KnowledgeBaseVectorStore(index)
    ids = store.add_texts(["Penguins live in Antarctica and eat krill."], [{"topic": "birds", "tags": ["a"]}])
    doc, score = store.similarity_search_with_score("shield volcano basalt", k=1)[0]
    assert doc.metadata["page"] == 3 and doc.metadata["citation"] == f"[{text_pdf.name} p.3]" and score > 0.3
    free = store.similarity_search("antarctic krill eaters", k=1)[0]
    assert free == Document(page_content="Penguins live in Antarctica and eat krill.",
                            metadata={"topic": "birds", "tags": ["a"]}, id=ids[0])
    assert store.as_retriever(search_kwargs={"k": 2}).invoke("invoice total")[0].metadata["page"] == 1
    rel = store.similarity_search_with_relevance_scores("invoice total", k=1)
    assert 0.5 < rel[0][1] <= 1.0
    store.delete(ids)
    assert store.get_by_ids(ids) == []
    assert isinstance(store.embeddings, EmbedderEmbeddings) and len(store.embeddings.embed_query("x")) == 384
    index.close()


def test_from_texts_builds_an_index(tmp_path):
    store = KnowledgeBaseVectorStore.from_texts(
        ["alpha", "beta"], DeterministicFakeEmbedding(size=8), [{"n": 1}, {"n": 2}], ids=["a", "b"], path=tmp_path / "kb"
    )
    assert [d.metadata for d in store.get_by_ids(["b", "a"])] in ([{"n": 2}, {"n": 1}], [{"n": 1}, {"n": 2}])
    assert store.similarity_search("beta", k=1)[0].id == "b"
    store.index.close()
