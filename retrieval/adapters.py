"""LangChain adapters: a ``BaseRetriever`` over hybrid page search and a ``VectorStore`` over the index.

* :class:`KnowledgeBaseRetriever` returns one ``Document`` per retrieved *page* (full page text),
  with ``file_name``, ``page``, ``doc_id``, ``score``, ``image_path`` and ``citation`` metadata —
  drop it into any LangChain RAG chain.
* :class:`KnowledgeBaseVectorStore` is usable wherever a ``VectorStore`` is expected. Searches
  cover the index's document chunks (metadata as stored, plus ``citation``) *and* free texts added
  with ``add_texts``/``add_documents``. Free texts live in a side collection of the same Chroma
  (:class:`~vlkit.retrieval.store.FreeTextStore`), embedded with the index's embedder; their metadata
  round-trips exactly.
  ``delete``/``get_by_ids`` act on free texts; documents are removed with ``DocumentIndex.remove``.
* :class:`EmbedderEmbeddings` / :class:`LangChainEmbedder` wrap a vlkit ``Embedder`` as LangChain
  ``Embeddings`` and back.

Example::

    retriever = KnowledgeBaseRetriever.from_index(DocumentIndex(".vlkit/kb"), k=4)
    docs = retriever.invoke("how do I roll back a deploy?")
    docs[0].metadata["citation"]            # "[skyline-cli-reference.pdf p.5]"
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore
from pydantic import ConfigDict, Field

from vlkit.errors import InvalidArgumentError
from vlkit.retrieval.embedders import Embedder, normalize_rows
from vlkit.retrieval.protocols import SearchableIndex
from vlkit.retrieval.search import HybridSearcher
from vlkit.retrieval.types import Chunk, PageHit

if TYPE_CHECKING:
    from vlkit.retrieval.index import DocumentIndex

__all__ = ["KnowledgeBaseRetriever", "KnowledgeBaseVectorStore", "EmbedderEmbeddings", "LangChainEmbedder"]


class EmbedderEmbeddings(Embeddings):
    """A vlkit :class:`Embedder` as LangChain ``Embeddings``."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0].tolist()


class LangChainEmbedder(Embedder):
    """LangChain ``Embeddings`` as a vlkit :class:`Embedder` (rows are L2-normalised here)."""

    def __init__(self, embeddings: Embeddings, name: str | None = None) -> None:
        self.embeddings = embeddings
        self.name = name or f"langchain:{type(embeddings).__name__}"

    def embed(self, texts: list[str]) -> np.ndarray:
        vecs = np.asarray(self.embeddings.embed_documents(list(texts)), dtype=np.float32)
        if vecs.size == 0:
            return vecs.reshape(len(texts), 0)
        return normalize_rows(vecs)


def page_document(hit: PageHit) -> Document:
    """A retrieved page as a LangChain ``Document`` (full page text, citation metadata)."""
    meta: dict[str, Any] = {
        "doc_id": hit.doc_id, "file_name": hit.file_name, "page": hit.page, "score": hit.score,
        "citation": hit.citation, "image_path": hit.image_path or "", "scores": dict(hit.scores),
    }
    return Document(page_content=hit.text, metadata=meta, id=f"{hit.doc_id}:{hit.page}")


class KnowledgeBaseRetriever(BaseRetriever):
    """Hybrid page retrieval as a LangChain retriever (one ``Document`` per page)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Any
    """A :class:`~vlkit.retrieval.search.HybridSearcher` (anything with ``search(query, k)``)."""
    k: int = Field(default=5, ge=1)
    """Pages returned per query."""

    @classmethod
    def from_index(cls, index: SearchableIndex, *, k: int = 5, **searcher_kwargs: Any) -> KnowledgeBaseRetriever:
        """A retriever over ``index`` with a new :class:`HybridSearcher` (kwargs go to it)."""
        return cls(searcher=HybridSearcher(index, **searcher_kwargs), k=k)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return [page_document(h) for h in self.searcher.search(query, k=k or self.k)]


def _chunk_document(chunk: Chunk) -> Document:
    meta = chunk.metadata()
    meta["citation"] = f"[{chunk.file_name} p.{chunk.page}]"
    return Document(page_content=chunk.text, metadata=meta, id=chunk.id)


class KnowledgeBaseVectorStore(VectorStore):
    """A ``VectorStore`` over a :class:`~vlkit.retrieval.index.DocumentIndex` (see module docstring)."""

    def __init__(self, index: DocumentIndex) -> None:
        self.index = index
        self._texts = index.store.free_texts()

    @property
    def embeddings(self) -> Embeddings:
        return EmbedderEmbeddings(self.index.embedder)

    # ------------------------------------------------------------------ write
    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        if not texts:
            return []
        metas = list(metadatas) if metadatas is not None else [{} for _ in texts]
        ids = [i if i else str(uuid.uuid4()) for i in ids] if ids is not None else [str(uuid.uuid4()) for _ in texts]
        if len(metas) != len(texts) or len(ids) != len(texts):
            raise InvalidArgumentError(
                f"{len(texts)} texts, {len(metas)} metadatas and {len(ids)} ids do not match; give one of each per text"
            )
        self._texts.upsert(ids, texts, metas, self.index.embedder.embed(texts))
        return ids

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        return self.add_texts([d.page_content for d in documents], [dict(d.metadata) for d in documents],
                              ids=list(ids), **kwargs)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete free texts by id (unknown ids are ignored); ``None`` ids deletes nothing."""
        self._texts.delete(list(ids or []))
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [Document(page_content=text, metadata=meta, id=i) for i, text, meta in self._texts.get(list(ids))]

    # ------------------------------------------------------------------ read
    def similarity_search_with_score(self, query: str, k: int = 4, **kwargs: Any) -> list[tuple[Document, float]]:
        """The ``k`` most similar chunks and free texts as ``(Document, cosine similarity)``."""
        return self.similarity_search_by_vector_with_score(self.index.embedder.embed([query])[0], k, query=query)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [d for d, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, **kwargs: Any) -> list[Document]:
        return [d for d, _ in self.similarity_search_by_vector_with_score(np.asarray(embedding), k)]

    def similarity_search_by_vector_with_score(
        self, embedding: np.ndarray, k: int, *, query: str | None = None
    ) -> list[tuple[Document, float]]:
        out: list[tuple[Document, float]] = []
        if k > 0:
            out += [(_chunk_document(chunk), s)
                    for chunk, s in self.index.dense_search_by_vector(np.asarray(embedding, dtype=np.float32), k)]
        out += [(Document(page_content=text, metadata=meta, id=i), score)
                for i, text, meta, score in self._texts.query(np.asarray(embedding, dtype=np.float32), k)]
        out.sort(key=lambda pair: -pair[1])
        return out[:k]

    def _select_relevance_score_fn(self):  # cosine similarity is already in [-1, 1], higher is better
        return lambda score: (score + 1.0) / 2.0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_texts(
        cls, texts: list[str], embedding: Embeddings | None = None, metadatas: list[dict] | None = None, *,
        ids: list[str] | None = None, path: str | Path | None = None, index: DocumentIndex | None = None,
        **kwargs: Any,
    ) -> KnowledgeBaseVectorStore:
        """A store over ``index`` (or a new ``DocumentIndex(path)``) with ``texts`` added.

        ``embedding`` (LangChain ``Embeddings``) becomes the new index's embedder; omit it for the
        index default.
        """
        if index is None:
            if path is None:
                raise InvalidArgumentError("from_texts needs path= (an index folder) or index=")
            from vlkit.retrieval.index import DocumentIndex

            index = DocumentIndex(path, embedder=LangChainEmbedder(embedding) if embedding is not None else None,
                                  **kwargs)
        store = cls(index)
        store.add_texts(texts, metadatas, ids=ids)
        return store
