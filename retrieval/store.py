"""Chroma as a vector store: embedded (``PersistentClient``) or a server (``HttpClient``), same code.

Embeddings are always passed explicitly; collections are created with ``embedding_function=None``
so Chroma never loads (or downloads) its default model. Which chunks are *visible* is decided by
the manifest, not here: a query either takes the list of complete document ids or searches every
stored vector and leaves it to the caller to drop hidden ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from vlkit.errors import MissingExtraError, ServerUnreachableError
from vlkit.retrieval.types import Chunk

__all__ = ["ChromaStore", "make_client"]

logger = logging.getLogger(__name__)


def make_client(path: Path, url: str | None = None) -> Any:
    """An embedded client storing under ``path``, or an HTTP client for ``url`` (``http://host:port``)."""
    try:
        import chromadb
        from chromadb.config import Settings
    except ImportError as exc:
        raise MissingExtraError("chromadb", "kb", "the document index") from exc
    settings = Settings(anonymized_telemetry=False)
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
    meta = chunk.metadata()
    meta["chunk_index"] = int(chunk.id.rsplit(":", 1)[1])
    return meta


class ChromaStore:
    """One Chroma collection of chunk vectors (cosine space)."""

    def __init__(self, client: Any, collection: str) -> None:
        self.client = client
        self.collection = client.get_or_create_collection(
            collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Write chunks; deterministic ids make a repeat overwrite, never duplicate."""
        if not chunks:
            return
        self.collection.upsert(
            ids=[c.id for c in chunks], embeddings=np.asarray(embeddings, dtype=np.float32),
            documents=[c.text for c in chunks], metadatas=[_metadata(c) for c in chunks],
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
        evaluates the ``where`` clause over every record first (~0.3 s at 100k chunks).
        """
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        where: dict[str, Any] | None = None
        if doc_ids is not None:
            where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}
        res = self.collection.query(
            query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
            n_results=k, where=where, include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]
