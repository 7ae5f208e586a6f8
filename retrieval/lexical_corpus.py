"""BM25 over an index's visible chunks, kept in step with the index one document at a time.

Why per document: tokenising is what makes a BM25 build slow, and a document's term counts never
change while it stays complete (doc ids are content hashes; a document removed and added again
gets a new stamp). So when ``index.version`` moves, only the documents that appeared since are
read and tokenised, removed ones are dropped, and the index is re-assembled from the cached counts
in ``numpy`` — idf and the average length are corpus-wide and are always recomputed, so scores are
exactly those of a fresh build.

Visibility is the manifest's: only documents that are ``complete`` when the stamps are read are
included, the same snapshot rule a full rebuild from ``index.chunks()`` follows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vlkit.retrieval.lexical import BM25Config, BM25Index, TermCounts, Vocabulary
from vlkit.retrieval.protocols import SearchableIndex
from vlkit.retrieval.types import Chunk

__all__ = ["LexicalCorpus"]

logger = logging.getLogger(__name__)

_READ_ALL_SHARE = 0.25
"""Above this share of documents to (re)read, one ordered pass over all chunks beats a query per document."""


@dataclass
class _Segment:
    stamp: str
    chunks: list[Chunk]
    counts: TermCounts


class LexicalCorpus:
    """The BM25 index and chunk list of an index's complete documents.

    Args:
        index: the read side of an index (``version``, ``document_stamps()``, ``chunks(doc_id)``
            of :class:`~vlkit.retrieval.protocols.SearchableIndex`).
        text_of: the text BM25 sees for a chunk.
        config: BM25 parameters.
    """

    def __init__(self, index: SearchableIndex, text_of: Callable[[Chunk], str], config: BM25Config | None = None) -> None:
        self.index = index
        self.text_of = text_of
        self.config = config
        self._lock = threading.Lock()
        self._vocab = Vocabulary()
        self._segments: dict[str, _Segment] = {}
        self._bm25: BM25Index | None = None
        self._chunks: list[Chunk] = []
        self._version: int | None = None

    def get(self) -> tuple[BM25Index, list[Chunk]]:
        """The BM25 index and its chunks (position ``i`` of one is text ``i`` of the other) for the
        current ``index.version``, updated first if the version moved."""
        version = self.index.version  # read before the chunks: a change after it is seen next time
        with self._lock:
            bm25 = self._bm25
            if bm25 is None or version != self._version:
                started = time.perf_counter()
                bm25, self._chunks, read = self._update()
                self._bm25, self._version = bm25, version
                logger.info("BM25 over %d chunks (index version %s): %d documents read in %.2fs",
                            len(self._chunks), version, read, time.perf_counter() - started)
            return bm25, self._chunks

    def _update(self) -> tuple[BM25Index, list[Chunk], int]:
        """The index and chunks of the documents complete now, and how many documents were read."""
        current = self.index.document_stamps()
        if self._bm25 is not None:
            dead = len(self._vocab) - self._bm25.live_terms
            if dead > max(self._bm25.live_terms, 50_000):
                # removed documents left most of the vocabulary unused: start it afresh
                self._vocab, self._segments = Vocabulary(), {}
        todo = [d for d, stamp in current.items()
                if d not in self._segments or self._segments[d].stamp != stamp]
        fresh = self._read(todo, len(todo) > _READ_ALL_SHARE * len(current))
        segments: dict[str, _Segment] = {}
        for doc_id in sorted(current):  # the order of index.chunks(): doc id, page, chunk
            if doc_id in fresh:
                chunks = fresh[doc_id]
                segments[doc_id] = _Segment(current[doc_id], chunks, self._vocab.count(map(self.text_of, chunks)))
            else:
                segments[doc_id] = self._segments[doc_id]
        bm25 = BM25Index.from_counts([s.counts for s in segments.values()], self._vocab, self.config)
        self._segments = segments
        return bm25, [c for s in segments.values() for c in s.chunks], len(todo)

    def _read(self, doc_ids: list[str], all_at_once: bool) -> dict[str, list[Chunk]]:
        wanted = set(doc_ids)
        out: dict[str, list[Chunk]] = {d: [] for d in doc_ids}
        if all_at_once:
            for chunk in self.index.chunks():
                if chunk.doc_id in wanted:
                    out[chunk.doc_id].append(chunk)
        else:
            for doc_id in doc_ids:
                out[doc_id] = list(self.index.chunks(doc_id))
        return out
