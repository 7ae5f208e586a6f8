"""Chroma as a vector store: embedded (``PersistentClient``) or a server (``HttpClient``), same code.

Every Chroma call vlkit makes is in this module: :class:`ChromaStore` holds the chunk vectors of
an index, :class:`FreeTextStore` the free texts LangChain's ``VectorStore.add_texts`` adds (a side
collection ``<collection>-texts`` of the same client), whose metadata round-trips as JSON.

Embeddings are always passed explicitly; collections are created with ``embedding_function=None``
so Chroma never loads (or downloads) its default model. Which chunks are *visible* is decided by
the manifest, not here: a query either takes the list of complete document ids or searches every
stored vector and leaves it to the caller to drop hidden ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from vlkit.errors import ServerUnreachableError
from vlkit.extras import require
from vlkit.retrieval.types import Chunk

__all__ = ["ChromaStore", "FreeTextStore", "make_client"]

logger = logging.getLogger(__name__)


def make_client(path: Path, url: str | None = None) -> Any:
    """An embedded client storing under ``path``, or an HTTP client for ``url`` (``http://host:port``)."""
    chromadb = require("chromadb", "kb", "the document index")
    settings = require("chromadb.config", "kb", "the document index").Settings(anonymized_telemetry=False)
    if url is None:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ServerUnreachableError(f"chroma url '{url}' is not http(s)://host:port; e.g. http://127.0.0.1:8000")
    try:
        client = chromadb.HttpClient(
            host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 80),
            ssl=parsed.scheme == "https", settings=settings,
        )
        client.heartbeat()
    except Exception as exc:  # chromadb raises plain ValueError/ConnectError variants here
        raise ServerUnreachableError(
            f"cannot reach the Chroma server at {url} ({exc}); start it with: chroma run --path DIR --port PORT"
        ) from exc
    return client


def _metadata(chunk: Chunk) -> dict[str, Any]:
    """What Chroma keeps beside a chunk's vector: what locates it (the ``doc_id`` filter of :meth:`ChromaStore.query`
    and of deletes). The text, heading and the rest live in the index's manifest; the full metadata alone made the
    upsert much slower."""
    return {"doc_id": chunk.doc_id, "page": chunk.page, "chunk_index": int(chunk.id.rsplit(":", 1)[1])}


def _collection(client: Any, name: str) -> Any:
    # no embedding function: vectors always come from vlkit's embedder, Chroma never loads a model
    return client.get_or_create_collection(name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})


def _query(collection: Any, embedding: np.ndarray, k: int, **kwargs: Any) -> dict[str, Any]:
    return collection.query(query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
                            n_results=k, **kwargs)


class ChromaStore:
    """One Chroma collection of chunk vectors (cosine space)."""

    def __init__(self, client: Any, collection: str) -> None:
        self.client = client
        self.collection = _collection(client, collection)

    @property
    def name(self) -> str:
        """The collection's name (``vlkit-<index id>``)."""
        return str(self.collection.name)

    def free_texts(self) -> FreeTextStore:
        """The side collection of free texts that belongs to this index."""
        return FreeTextStore(self.client, f"{self.name}-texts")

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Write chunks' vectors (and :func:`_metadata`); deterministic ids make a repeat overwrite, never duplicate.

        The texts are not sent: Chroma would full-text index them (more than the upsert itself costs) and
        vlkit never reads them back — the manifest holds them."""
        if not chunks:
            return
        self.collection.upsert(
            ids=[c.id for c in chunks], embeddings=np.asarray(embeddings, dtype=np.float32),
            metadatas=[_metadata(c) for c in chunks],
        )

    def ids(self, doc_id: str) -> set[str]:
        """Every chunk id stored for a document (complete or not)."""
        got = self.collection.get(where={"doc_id": doc_id}, include=[])
        return set(got["ids"])

    def delete_ids(self, ids: Sequence[str]) -> None:
        if ids:
            self.collection.delete(ids=list(ids))

    def delete_doc(self, doc_id: str) -> None:
        self.collection.delete(where={"doc_id": doc_id})

    def count(self) -> int:
        return int(self.collection.count())

    def vectors(self, ids: Sequence[str], batch: int = 2000) -> Iterator[tuple[str, np.ndarray]]:
        """``(chunk id, stored vector)`` of the ids that exist, fetched in batches (for the search
        snapshot, :class:`~vlkit.retrieval.store.VectorSnapshot`)."""
        for i in range(0, len(ids), batch):
            got = self.collection.get(ids=list(ids[i:i + batch]), include=["embeddings"])
            yield from zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32))

    def all_ids(self, batch: int = 1000) -> Iterator[str]:
        offset = 0
        while True:
            got = self.collection.get(include=[], limit=batch, offset=offset)
            if not got["ids"]:
                return
            yield from got["ids"]
            offset += len(got["ids"])

    def query(
        self, embedding: np.ndarray, k: int, doc_ids: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """``(chunk id, cosine similarity)`` of the ``k`` nearest chunks among ``doc_ids``, or among
        all stored chunks when ``doc_ids`` is ``None`` (then the caller decides which are visible).

        The filtered form costs far more than the search itself on a large collection: Chroma
        evaluates the ``where`` clause over every record first.
        """
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        where: dict[str, Any] | None = None
        if doc_ids is not None:
            where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}
        res = _query(self.collection, embedding, k, where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]


_META_KEY = "vlkit_meta"


class FreeTextStore:
    """Texts with arbitrary metadata (stored as one JSON string, so nested values round-trip exactly)."""

    def __init__(self, client: Any, collection: str) -> None:
        self.collection = _collection(client, collection)

    def upsert(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict], embeddings: np.ndarray) -> None:
        self.collection.upsert(
            ids=list(ids), embeddings=np.asarray(embeddings, dtype=np.float32), documents=list(texts),
            metadatas=[{_META_KEY: json.dumps(m, sort_keys=True, ensure_ascii=False)} for m in metadatas],
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.collection.delete(ids=list(ids))

    def get(self, ids: Sequence[str]) -> list[tuple[str, str, dict]]:
        """``(id, text, metadata)`` of the ids that exist."""
        if not ids:
            return []
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [(i, d, _meta(m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def count(self) -> int:
        return int(self.collection.count())

    def query(self, embedding: np.ndarray, k: int) -> list[tuple[str, str, dict, float]]:
        """``(id, text, metadata, cosine similarity)`` of the ``k`` nearest free texts."""
        n = self.count() if k > 0 else 0
        if not n:
            return []
        res = _query(self.collection, embedding, min(k, n), include=["documents", "metadatas", "distances"])
        return [(i, d, _meta(m), 1.0 - float(dist)) for i, d, m, dist in
                zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])]


def _meta(stored: dict | None) -> dict:
    raw = (stored or {}).get(_META_KEY)
    return json.loads(raw) if raw else {}
