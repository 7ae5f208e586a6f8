"""The read side of an index: what search, QA and the LangChain adapters read, never write.

Visibility is the manifest's: only chunks and pages of ``complete`` documents are returned, whatever
the vector store holds (vectors of a document still being ingested, or being removed, are there too).
Reads take no lock: SQLite's WAL lets them run while another process ingests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from vlkit.retrieval.embedders import Embedder
from vlkit.retrieval.store._manifest import Manifest
from vlkit.retrieval.store._page_images import PageImageStore
from vlkit.retrieval.protocols import PageKey
from vlkit.retrieval.store._chroma import ChromaStore
from vlkit.retrieval.types import Chunk
from vlkit.retrieval.store._vectors import VectorSnapshot

__all__ = ["IndexReader"]


class IndexReader:
    """Implements :class:`~vlkit.retrieval.protocols.SearchableIndex` over a manifest, a vector store
    and a page-image store.

    Args:
        embedder: returns the index's embedder (resolved lazily: loading a model is slow).
        check_embedder: raises when that embedder is not the one the index was built with.
    """

    def __init__(
        self, manifest: Manifest, store: ChromaStore | Callable[[], ChromaStore], images: PageImageStore, *,
        embedder: Callable[[], Embedder], check_embedder: Callable[[], None], snapshot: VectorSnapshot | None = None,
    ) -> None:
        self.manifest, self.images, self.snapshot = manifest, images, snapshot
        self._store = store
        self._embedder, self._check_embedder = embedder, check_embedder

    @property
    def store(self) -> ChromaStore:
        """The vector store, opened on first use when given as a factory."""
        return self._store if isinstance(self._store, ChromaStore) else self._store()

    @property
    def version(self) -> int:
        return self.manifest.version

    def chunks(self, doc_id: str | None = None) -> Iterator[Chunk]:
        for row in self.manifest.complete_chunks(doc_id=doc_id):
            yield self.chunk(row)

    def document_stamps(self) -> dict[str, str]:
        return self.manifest.complete_stamps()

    def dense_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        self._check_embedder()
        if k <= 0 or not query.strip() or not self.manifest.has_complete():
            return []
        return self.dense_search_by_vector(self._embedder().embed([query])[0], k)

    def dense_search_by_vector(self, embedding: np.ndarray, k: int = 10) -> list[tuple[Chunk, float]]:
        """Visibility is checked against the manifest *after* the vector search, not with a Chroma
        ``where`` filter: a filter makes Chroma evaluate it over every stored vector before the
        HNSW search, far more than the search itself on a large index. Vectors of pending or removing
        documents are rare, so the search fetches a few more to make up for them, and falls back to
        the filtered query only when they crowd out visible chunks.

        A fresh vector snapshot (:class:`~vlkit.retrieval.store.VectorSnapshot`) answers first when there is one: it
        holds exactly the visible chunks, and needs no Chroma.
        """
        if k <= 0:
            return []
        if self.snapshot is not None:
            found = self.snapshot.search(embedding, k, self.manifest.version, self.manifest.get_meta("embedder") or "")
            if found is not None:
                rows = self.manifest.chunks_by_id([i for i, _ in found])
                return [(self.chunk(rows[i]), score) for i, score in found if i in rows][:k]
        hidden = self.manifest.hidden_ids()
        fetch = k if not hidden else 2 * k + 10
        hits = self.store.query(embedding, fetch)
        rows = self.manifest.chunks_by_id([i for i, _ in hits])  # complete documents only
        visible = [(i, score) for i, score in hits if i in rows]
        if len(visible) < k and len(hits) == fetch:  # the store may hold more visible chunks
            doc_ids = self.manifest.complete_ids()
            hits = self.store.query(embedding, k, doc_ids) if doc_ids else []
            rows = self.manifest.chunks_by_id([i for i, _ in hits])
            visible = [(i, score) for i, score in hits if i in rows]
        return [(self.chunk(rows[i]), score) for i, score in visible[:k]]

    def pages(self, keys: Iterable[PageKey], images: bool = True) -> dict[PageKey, tuple[str, Path | None]]:
        """Text and image of each page; a PDF page's image is rendered now if this is its first showing
        (``images=False``: text only, no image)."""
        return {key: (row.text, self.images.existing(row.image_sha) if images else None)
                for key, row in self.manifest.pages_by_key(list(keys)).items()}

    def page_text(self, doc_id: str, page: int) -> str:
        row = self.manifest.page(doc_id, page)
        return row.text if row else ""

    def page_image(self, doc_id: str, page: int) -> Path | None:
        row = self.manifest.page(doc_id, page)
        return self.images.existing(row.image_sha) if row is not None else None

    def chunk(self, row: tuple) -> Chunk:
        """A :class:`Chunk` from a manifest chunk row (``Manifest.complete_chunks`` / ``chunks_by_id``)."""
        cid, doc_id, file_name, sha, page, reader, text, start, end, heading, image_sha = row
        image = self.images.path_str(image_sha) if image_sha else None
        return Chunk(id=cid, doc_id=doc_id, file_name=file_name, sha256=sha, page=page, reader=reader, text=text,
                     start=start, end=end, heading=heading, image_path=image)
