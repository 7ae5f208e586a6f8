"""Ingest batching: embed many pages' chunks at once, on a worker thread, while the next pages are read.

Why: embedding dominates text-layer ingest, and embedding models are much faster per text in large
batches (sentence-transformers sorts a batch by length, so large batches also pad little). The
worker overlaps that with page rendering and text extraction on the calling thread (torch and numpy
release the GIL). Batches start small and double up to ``max_chunks``, so the worker starts within
the first pages instead of idling until a full batch is read (one full-size batch would mean reading a
short document first and embedding it after).

Crash safety is unchanged: a batch's vectors are upserted *before* the manifest transaction that
marks its pages done, both on the calling thread, in submission order.

Visibility: a batch is committed as soon as its vectors are ready and the calling thread comes
back (every :meth:`EmbedBatcher.add` polls), and when a document's last page is buffered
(:meth:`EmbedBatcher.end_document`) the buffer is sent to the worker as soon as it is free, so a
document that has been read becomes searchable while the next file is read, not after it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from vlkit.retrieval.store import PageRow
from vlkit.retrieval.types import Chunk

__all__ = ["EmbedBatcher", "CallerExecutor"]


class EmbedBatcher:
    """Buffers pages; :meth:`add` flushes a batch when it is big or old enough, :meth:`close` the rest.

    Args:
        embed: texts -> vectors (runs on the worker thread).
        store: ``store(chunks, vectors)`` — upsert the vectors.
        commit: ``commit(pages, chunks)`` — the manifest transaction that makes the pages done.
        max_chunks / max_pages: flush when the buffer holds this many.
        first_chunks: the first batch's size; each batch after is twice the one before, up to ``max_chunks``.
        max_seconds: ... or when its oldest page waited this long (so slow readers still commit progress).
        executor: where ``embed`` runs (default: a worker thread of the batcher's own; ingest passes a
            :class:`CallerExecutor`, so the embedding runs on the thread that called ``add``).
    """

    def __init__(
        self, embed: Callable[[list[str]], np.ndarray], store: Callable[[list[Chunk], np.ndarray], None],
        commit: Callable[[list[PageRow], list[Chunk]], None], *, max_chunks: int = 256, max_pages: int = 64,
        max_seconds: float = 10.0, first_chunks: int = 8, executor: Executor | None = None,
    ) -> None:
        self._embed, self._store, self._commit = embed, store, commit
        self.max_chunks, self.max_pages, self.max_seconds = max_chunks, max_pages, max_seconds
        self._target = max(1, min(first_chunks, max_chunks))
        self._own_pool = executor is None
        self._pool = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlkit-embed")
        self._pages: list[PageRow] = []
        self._chunks: list[Chunk] = []
        self._texts: list[str] = []
        self._started = 0.0
        self._inflight: tuple[Future, list[PageRow], list[Chunk]] | None = None
        self._tail = False  # the buffer holds a document's last page: send it when the worker is free
        self.wait_s = 0.0
        """Seconds the calling thread waited for vectors (embedding that overlapped nothing)."""

    def add(self, page: PageRow, chunks: Sequence[Chunk], texts: Sequence[str]) -> None:
        self.poll()
        if not self._pages:
            self._started = time.monotonic()
        self._pages.append(page)
        self._chunks += chunks
        self._texts += texts
        if (len(self._chunks) >= self._target or len(self._pages) >= self.max_pages
                or time.monotonic() - self._started > self.max_seconds):
            self.flush()

    def end_document(self) -> None:
        """A document's last page has been added: get it committed soon (see the module docstring)."""
        self._tail = bool(self._pages)
        self.poll()

    def poll(self) -> None:
        """Commit the batch in flight if its vectors are ready; then send a buffered tail to the worker."""
        if self._inflight is not None and self._inflight[0].done():
            self._drain()
        if self._tail and self._inflight is None:
            self.flush()

    def pending_docs(self) -> set[str]:
        """Documents with pages not yet committed."""
        docs = {p.doc_id for p in self._pages}
        if self._inflight is not None:
            docs |= {p.doc_id for p in self._inflight[1]}
        return docs

    def flush(self) -> None:
        """Start embedding the buffer, then commit the batch before it (which was embedding meanwhile)."""
        self._tail = False
        if self._pages:
            batch = (self._pool.submit(self._embed, self._texts), self._pages, self._chunks)
            self._pages, self._chunks, self._texts = [], [], []
            self._target = min(self._target * 2, self.max_chunks)
            self._drain()
            self._inflight = batch

    def close(self) -> None:
        """Embed and commit everything buffered; stop the worker."""
        try:
            self.flush()
            self._drain()
        finally:
            if self._own_pool:
                self._pool.shutdown(wait=True, cancel_futures=True)

    def _drain(self) -> None:
        if self._inflight is None:
            return
        future, pages, chunks = self._inflight
        self._inflight = None
        t = time.perf_counter()
        vectors = future.result()
        self.wait_s += time.perf_counter() - t
        self._store(chunks, vectors)  # vectors first ...
        self._commit(pages, chunks)  # ... then the commit that makes the pages "done"


class CallerExecutor(Executor):
    """An executor whose calls run on the thread that calls :meth:`serve`, until :meth:`stop`.

    Why ingest embeds on the calling thread and reads pages on a worker, not the other way round: torch
    (OpenMP, libgomp) keeps a pool of worker threads per thread that runs its parallel ops, and once a
    process holds more of them than it has cores, libgomp stops spinning between ops and sleeps instead.
    Embedding on a second thread after anything had used torch on the first (a query, a warm-up, another
    pipeline) made every op pay a wake-up — the embedders ran several times slower on a 2-core machine,
    also on the first thread afterwards.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple, dict] | None] = queue.SimpleQueue()
        self._stopped = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        if self._stopped:
            future.set_exception(RuntimeError("the ingest was stopped"))
        else:
            self._queue.put((future, fn, args, kwargs))
        return future

    def serve(self) -> None:
        """Run submitted calls, in order, until :meth:`stop`; on an interruption (Ctrl-C) every waiting
        call fails, so the submitting thread stops too, and the interruption is raised."""
        try:
            while (item := self._queue.get()) is not None:
                future, fn, args, kwargs = item
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **kwargs))
                    except BaseException as exc:  # handed to the waiting thread, as a thread pool does
                        future.set_exception(exc)
                        if not isinstance(exc, Exception):
                            raise
        except BaseException:
            self.stop()
            self._fail_waiting()
            raise

    def stop(self) -> None:
        """Let :meth:`serve` return once what was submitted before has run."""
        self._stopped = True
        self._queue.put(None)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.stop()

    def _fail_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[0].set_exception(RuntimeError("the ingest was interrupted"))
