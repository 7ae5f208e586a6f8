"""The write side: files -> pages -> chunks -> embedding batches -> committed, visible documents.

One pass per file: it is opened once (:func:`~vlkit.documents.read_source`), hashed,
compared with the manifest (unchanged files are closed unparsed), parsed, and its pages read,
chunked and handed to the :class:`~vlkit.retrieval.ingest.EmbedBatcher`. Files are opened a small
window ahead of the one being read so the progress total is known early without holding every file.

Threads: the calling thread embeds (the :class:`~vlkit.retrieval.ingest.EmbedBatcher`'s batches, run
there by a :class:`~vlkit.retrieval.ingest.CallerExecutor`: torch runs fastest on the thread that
used it before, see there) while a reading thread reads pages' text (PyMuPDF, Python), upserts the
vectors and commits. A PDF's pages are rendered only for the readers that look at pixels (OCR, the VLM), and
their images not at all: the index keeps a copy of the PDF and renders a page's image when a search
first shows it (:class:`~vlkit.retrieval.store.PageImageStore`). Image files' frames are encoded and written on a
third thread (PNG: numpy and deflate, which release the GIL); such a page is handed to the batcher
once the next page has been read, so its image was written meanwhile instead of being waited for.
:class:`~vlkit.retrieval.ingest.IngestStages` records the seconds each stage took.

Crash safety (see :class:`~vlkit.retrieval.store.Manifest`): a document's PDF copy (or a page's image) is
written and its vectors are upserted before the transaction that records its text and chunks; a document turns ``complete`` —
visible — in the commit of its last page, in the same call, so it is searchable while the next
file is read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlkit.documents import OpenedDocument, PageReader, SourcePage, discover, display_name, read_source
from vlkit.errors import DocumentError, VlkitError
from vlkit.retrieval.chunking import ChunkConfig, chunk_page, document_title, with_heading
from vlkit.retrieval.embedders import Embedder
from vlkit.retrieval.ingest._batching import CallerExecutor, EmbedBatcher
from vlkit.retrieval.ingest._results import FileResult, IngestStages, IngestSummary, ProgressCallback
from vlkit.retrieval.store import ChromaStore, DocRow, Manifest, PageImageStore, PageRow, render_key
from vlkit.retrieval.types import Chunk

__all__ = ["Ingestor", "WINDOW_FILES", "WINDOW_BYTES"]

logger = logging.getLogger(__name__)

WINDOW_FILES = 32
"""Files opened ahead of the one being read (their page counts make the progress total) ..."""
WINDOW_BYTES = 256 << 20
"""... as long as the PDFs among them hold less than this in memory (one file is always allowed)."""


@dataclass
class _Plan:
    result: FileResult
    row: DocRow
    doc: OpenedDocument
    done: dict[int, str]
    """Pages already committed (an interrupted ingest) -> the heading carried out of each."""
    todo: int
    started: float
    in_memory: int
    """Bytes of the file held in memory (a PDF's; an image is read from its open file)."""


@dataclass
class _ReadPage:
    """A page read and chunked, waiting for its image before it goes to the batcher."""

    number: int
    reader: str
    text: str
    heading_out: str
    chunks: list[Chunk]
    texts: list[str]
    image: Future[str] | str
    """The image's key: being written (image files), or the PDF page's render key."""


class Ingestor:
    """Runs one ``add``: see the module docstring. Made by :class:`~vlkit.retrieval.index.DocumentIndex`.

    Args:
        purge: deletes a ``removing`` document (vectors, rows, images); called for replaced versions.
    """

    def __init__(
        self, *, manifest: Manifest, store: ChromaStore, images: PageImageStore, embedder: Embedder,
        chunk_config: ChunkConfig, dpi: int, max_image_pixels: int, batch_chunks: int,
        purge: Callable[[str], None],
    ) -> None:
        self.manifest, self.store, self.images, self.embedder = manifest, store, images, embedder
        self.chunk_config, self.dpi, self.max_image_pixels = chunk_config, dpi, max_image_pixels
        self.batch_chunks = batch_chunks
        self.purge = purge
        self.stages = IngestStages()
        self._image_pool: ThreadPoolExecutor | None = None

    def run(self, paths: Iterable[str | Path], reader: PageReader,
            progress: ProgressCallback | None = None) -> IngestSummary:
        started = time.monotonic()
        summary = IngestSummary(stages=self.stages)
        queue: deque[tuple[Path, FileResult]] = deque()
        for found in discover(paths):
            result = FileResult(path=str(found.path), status=found.status or "failed", reason=found.reason)
            summary.files.append(result)
            if found.status is None:
                queue.append((found.path, result))
        window: deque[_Plan] = deque()
        planned: set[str] = set()
        reading: dict[str, _Plan] = {}
        total = done = 0

        def fill() -> None:
            nonlocal total
            while queue and (not window or (len(window) < WINDOW_FILES and _bytes(window) < WINDOW_BYTES)):
                path, result = queue.popleft()
                plan = self._plan(path, result, planned)
                if plan is not None:
                    window.append(plan)
                    total += plan.todo

        def commit(pages: list[PageRow], chunks: list[Chunk]) -> None:
            nonlocal done
            t = time.perf_counter()
            self.manifest.commit_pages(pages, chunks)
            done += len(pages)
            for doc_id in dict.fromkeys(p.doc_id for p in pages):
                if doc_id in reading:
                    self._finish_if_whole(reading, doc_id)
            self.stages.commit_s += time.perf_counter() - t
            if progress:
                progress(done, total)

        fill()
        if progress:
            progress(0, total)
        calls = CallerExecutor()  # the embedding runs on this thread; the pages are read on another
        batcher = EmbedBatcher(self._embed, self._upsert, commit, max_chunks=self.batch_chunks, executor=calls)
        self._image_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlkit-pages")
        failure: list[BaseException] = []

        def read_all() -> None:
            try:
                self._read_files(window, reading, batcher, reader, fill, progress, lambda: (done, total))
            except BaseException as exc:  # raised again on the calling thread
                failure.append(exc)
            finally:
                calls.stop()

        reader_thread = threading.Thread(target=read_all, name="vlkit-read", daemon=True)
        reader_thread.start()
        try:
            calls.serve()
        finally:
            reader_thread.join()
        if failure:
            raise failure[0]
        for doc_id in list(reading):  # pages that could not be read on a later run of the batcher
            self._finish_if_whole(reading, doc_id, final=True)
        summary.wall_s = time.monotonic() - started
        return summary

    def _read_files(self, window: deque[_Plan], reading: dict[str, _Plan], batcher: EmbedBatcher,
                    reader: PageReader, fill: Callable[[], None], progress: ProgressCallback | None,
                    counts: Callable[[], tuple[int, int]]) -> None:
        """On the reading thread: every planned file's pages read and handed to the batcher, then the rest
        embedded and committed."""
        try:
            while window:
                plan = window.popleft()
                reading[plan.row.doc_id] = plan
                try:
                    plan.result.pages = self._read(plan, reader, batcher)
                except VlkitError as exc:
                    reading.pop(plan.row.doc_id, None)
                    plan.result.status, plan.result.reason, plan.result.failure = "failed", str(exc), exc
                    logger.warning("ingest of %s failed: %s", plan.result.display_path, exc)
                finally:
                    plan.doc.close()
                    plan.result.seconds = time.monotonic() - plan.started
                batcher.end_document()
                if plan.row.doc_id in reading:  # nothing (more) to commit: a resumed document
                    self._finish_if_whole(reading, plan.row.doc_id)
                before = counts()[1]
                fill()
                if progress and counts()[1] != before:
                    progress(*counts())
        finally:
            assert self._image_pool is not None
            try:
                batcher.close()
            finally:
                self._image_pool.shutdown(wait=True, cancel_futures=True)
                self.stages.embed_wait_s = batcher.wait_s

    # ------------------------------------------------------------------ steps
    def _plan(self, path: Path, result: FileResult, planned: set[str]) -> _Plan | None:
        """Open a file (once), decide what to do; ``None`` when there is nothing to do."""
        t = time.perf_counter()
        try:
            return self._open(path, result, planned)
        finally:
            self.stages.open_s += time.perf_counter() - t

    def _open(self, path: Path, result: FileResult, planned: set[str]) -> _Plan | None:
        started = time.monotonic()
        try:
            src = read_source(path)
        except VlkitError as exc:
            result.reason, result.failure = str(exc), exc
            return None
        doc_id = src.sha256[:16]
        result.doc_id = doc_id
        existing = self.manifest.doc(doc_id)
        if doc_id in planned or (existing is not None and existing.state == "complete"):
            src.close()  # unchanged, or the same bytes under a second name in this run: not parsed
            result.status, result.page_count = "unchanged", existing.pages if existing else 0
            result.seconds = time.monotonic() - started
            return None
        try:
            if src.kind == "pdf" and src.data is not None:
                self.images.save_source(src.sha256, src.data)  # page images are rendered from it on demand
            doc = src.open(max_pixels=self.max_image_pixels)
        except OSError as exc:
            src.close()
            result.reason = f"cannot write to the index: {exc}"
            result.seconds = time.monotonic() - started
            return None
        except VlkitError as exc:
            result.reason, result.failure = str(exc), exc
            result.seconds = time.monotonic() - started
            return None
        source = display_name(str(path.resolve()))
        older = [d.doc_id for d in self.manifest.docs("complete") if d.source_path == source and d.doc_id != doc_id]
        row = DocRow(doc_id, src.name, source, src.sha256, doc.page_count, "pending", ",".join(older) or None)
        if existing is not None:
            result.status = "resumed"
        else:
            result.status = "replaced" if older else "added"
        result.page_count = doc.page_count
        planned.add(doc_id)
        done = self.manifest.done_pages(doc_id) if existing is not None else {}
        return _Plan(result, row, doc, done, doc.page_count - len(done), started, src.size if doc.kind == "pdf" else 0)

    def _read(self, plan: _Plan, reader: PageReader, batcher: EmbedBatcher) -> int:
        row, done = plan.row, plan.done
        self.manifest.start_doc(row)
        read = 0
        title = document_title(plan.doc.handle.metadata if plan.doc.kind == "pdf" else None, row.file_name)
        stages, pool = self.stages, self._image_pool
        assert pool is not None, "_read runs inside run()"
        pending: _ReadPage | None = None
        try:
            pdf = plan.doc.kind == "pdf"
            for page in self._rendered(plan.doc.pages(self.dpi, skip=set(done))):
                image: Future[str] | str = (render_key(row.sha256, page.number, self.dpi) if pdf
                                            else pool.submit(self._save_image, page))
                batcher.poll()  # commit what was embedded meanwhile: documents turn visible page by page
                t = time.perf_counter()
                chosen = reader.select(page)
                used = chosen.name
                try:
                    if not _shows_nothing(chosen, page):
                        lines = chosen.read_page(page)  # the OCR router names the engine it kept
                        text, used = display_name(lines.text), lines.reader
                    else:
                        text = ""
                except VlkitError:
                    raise
                except Exception as exc:  # a damaged page trips the PDF library inside a reader
                    logger.debug("reading page %d of %s failed", page.number, row.file_name, exc_info=True)
                    raise DocumentError(f"{row.file_name}: page {page.number} cannot be read ({exc})") from exc
                finally:
                    stages.text_s += time.perf_counter() - t
                t = time.perf_counter()
                chunks, heading_out = chunk_page(
                    text, doc_id=row.doc_id, file_name=row.file_name, sha256=row.sha256, page=page.number,
                    reader=used, heading=done.get(page.number - 1, ""),
                    image_path=None, config=self.chunk_config, title=title,
                )
                done[page.number] = heading_out
                texts = [with_heading(c) for c in chunks]
                stages.chunk_s += time.perf_counter() - t
                if pending is not None:
                    self._hand_over(row, pending, batcher)
                pending = _ReadPage(page.number, used, text, heading_out, chunks, texts, image)
                read += 1
        except VlkitError:
            if pending is not None:  # the pages before a bad one are kept (a later add resumes after them)
                self._hand_over(row, pending, batcher)
            raise
        if pending is not None:
            self._hand_over(row, pending, batcher)
        return read

    def _rendered(self, pages: Iterator[SourcePage]) -> Iterator[SourcePage]:
        """``pages``, timing how long each took to load (rendering, where a reader needs it, is read time)."""
        while True:
            t = time.perf_counter()
            page = next(pages, None)
            self.stages.render_s += time.perf_counter() - t
            if page is None:
                return
            yield page

    def _save_image(self, page: SourcePage) -> str:
        """On the image thread: encode and store a page image; its sha256."""
        t = time.perf_counter()
        try:
            return self.images.save(page.png)
        finally:
            self.stages.image_s += time.perf_counter() - t

    def _hand_over(self, row: DocRow, page: _ReadPage, batcher: EmbedBatcher) -> None:
        """Once its image is written, give a read page to the batcher (embedded, then committed)."""
        t = time.perf_counter()
        image_sha = page.image if isinstance(page.image, str) else page.image.result()
        self.stages.image_wait_s += time.perf_counter() - t
        image_path = str(self.images.path(image_sha))
        for chunk in page.chunks:
            chunk.image_path = image_path
        batcher.add(PageRow(row.doc_id, page.number, page.reader, page.text, image_sha, page.heading_out),
                    page.chunks, page.texts)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """On the batcher's worker thread: the embedder, timed."""
        t = time.perf_counter()
        try:
            return self.embedder.embed(texts)
        finally:
            self.stages.embed_s += time.perf_counter() - t

    def _upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        t = time.perf_counter()
        try:
            self.store.upsert(chunks, vectors)
        finally:
            self.stages.upsert_s += time.perf_counter() - t

    def _finish_if_whole(self, reading: dict[str, _Plan], doc_id: str, final: bool = False) -> None:
        """Make a document visible once every one of its pages is committed (``final``: or say why not)."""
        plan = reading[doc_id]
        have = self.manifest.count_pages(doc_id)
        if have < plan.row.pages and not final:
            return
        del reading[doc_id]
        try:
            if have < plan.row.pages:
                raise DocumentError(f"{plan.row.file_name}: only {have} of {plan.row.pages} pages could be read; "
                                    "add it again")
            self._complete(plan.row)
        except VlkitError as exc:
            plan.result.status, plan.result.reason, plan.result.failure = "failed", str(exc), exc
            logger.warning("ingest of %s failed: %s", plan.result.display_path, exc)
        plan.result.seconds = time.monotonic() - plan.started

    def _complete(self, row: DocRow) -> None:
        # vectors of a page redone with fewer chunks (a crash between upsert and commit) go now
        stale = self.store.ids(row.doc_id) - self.manifest.chunk_ids(row.doc_id)
        self.store.delete_ids(sorted(stale))
        current = self.manifest.doc(row.doc_id)
        replaced = (current.replaces or "").split(",") if current and current.replaces else []
        self.manifest.complete_doc(row.doc_id, replaced)
        for old in replaced:
            self.purge(old)


def _shows_nothing(reader: PageReader, page: SourcePage) -> bool:
    """A page rendered in one colour (a blank page) has nothing for OCR or a VLM to find: not asked.

    Real manuals have them, and OCR spends seconds on each to find nothing. A reader that does not look
    at pixels (the text layer) still reads it: cheap, and it is what an invisible text layer would hold."""
    if not reader.reads_pixels:
        return False
    pixels = page.pixels
    return bool(pixels.min() == pixels.max())


def _bytes(window: deque[_Plan]) -> int:
    return sum(p.in_memory for p in window)
