"""BM25 over an index's visible chunks, kept in step with the index one document at a time.

Why per document: tokenising is what makes a BM25 build slow, and a document's term counts never
change while it stays complete (doc ids are content hashes; a document removed and added again
gets a new stamp). So when ``index.version`` moves, only the documents that appeared since are
read and tokenised, removed ones are dropped, and the index is re-assembled from the cached counts
in ``numpy`` — idf and the average length are corpus-wide and are always recomputed, so scores are
exactly those of a fresh build.

Visibility is the manifest's: only documents that are ``complete`` when the stamps are read are
included, the same snapshot rule a full rebuild from ``index.chunks()`` follows.

Besides the chunk index a snapshot (:meth:`LexicalCorpus.snapshot`) carries what the ranking steps of
:mod:`~vlkit.retrieval.search` need, all computed once per document: the chunk counts with the
section path as a weighted field (``heading_of`` / ``heading_weight``), a page-level BM25 index
assembled from the same counts (no second tokenisation), and the pages ``is_listing`` picks (tables of
contents and indexes, for the searcher).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vlkit.retrieval.bm25._cache import CachedDocument, load_counts, save_counts
from vlkit.retrieval.bm25._index import BM25Config, BM25Index, TermCounts, Vocabulary
from vlkit.retrieval.protocols import PageKey, SearchableIndex
from vlkit.retrieval.types import Chunk

__all__ = ["LexicalCorpus", "LexicalSnapshot"]

logger = logging.getLogger(__name__)

_READ_ALL_SHARE = 0.25
"""Above this share of documents to (re)read, one ordered pass over all chunks beats a query per document."""


@dataclass
class _Segment:
    stamp: str
    chunks: list[Chunk]
    counts: TermCounts
    pages: list[PageKey] = field(default_factory=list)
    page_counts: TermCounts | None = None
    listings: list[PageKey] = field(default_factory=list)


@dataclass(frozen=True)
class LexicalSnapshot:
    """One consistent view of the lexical side (see the module docstring)."""

    bm25: BM25Index
    chunks: list[Chunk]
    """Position ``i`` is text ``i`` of ``bm25``."""
    page_bm25: BM25Index
    pages: list[PageKey]
    """Position ``i`` is text ``i`` of ``page_bm25``."""
    listings: frozenset[PageKey]
    """The pages ``is_listing`` picked (the searcher's: tables of contents and indexes)."""
    page_start: np.ndarray
    """Page ``i``'s chunks are ``chunks[page_start[i]:page_start[i + 1]]``."""
    page_slot: dict[PageKey, int]
    """Page -> its position in ``pages``."""

    def page_chunks(self, key: PageKey) -> list[Chunk]:
        """The chunks of one page (none if unknown)."""
        i = self.page_slot.get(key)
        return [] if i is None else self.chunks[int(self.page_start[i]):int(self.page_start[i + 1])]


class LexicalCorpus:
    """The BM25 index and chunk list of an index's complete documents.

    Args:
        index: the read side of an index (``version``, ``document_stamps()``, ``chunks(doc_id)``
            of :class:`~vlkit.retrieval.protocols.SearchableIndex`).
        text_of: the text BM25 sees for a chunk.
        config: BM25 parameters.
        heading_of: a second field of a chunk (its section path), counted ``heading_weight`` times.
        is_listing: which pages to list in :attr:`LexicalSnapshot.listings`, from a page's text (the
            searcher passes :func:`~vlkit.retrieval.search.is_listing_page`); ``None``: none.
        cache: a file to keep the per-document term counts in (:mod:`~vlkit.retrieval.bm25`):
            a new process reads the counts of unchanged documents from it instead of tokenising
            them again, and rewrites it after counting new ones. ``None``: memory only.
    """

    def __init__(
        self, index: SearchableIndex, text_of: Callable[[Chunk], str], config: BM25Config | None = None, *,
        heading_of: Callable[[Chunk], str] | None = None, heading_weight: float = 1.0, cache: Path | None = None,
        is_listing: Callable[[str], bool] | None = None,
    ) -> None:
        self.index = index
        self.cache = cache
        self.text_of = text_of
        self.config = config
        self.heading_of = heading_of
        self.heading_weight = heading_weight
        self.is_listing = is_listing
        self._lock = threading.Lock()
        self._vocab = Vocabulary()
        self._segments: dict[str, _Segment] = {}
        self._bm25: BM25Index | None = None
        self._snapshot: LexicalSnapshot | None = None
        self._version: int | None = None

    def get(self) -> tuple[BM25Index, list[Chunk]]:
        """The BM25 index and its chunks (position ``i`` of one is text ``i`` of the other) for the
        current ``index.version``, updated first if the version moved."""
        snap = self.snapshot()
        return snap.bm25, snap.chunks

    def snapshot(self) -> LexicalSnapshot:
        """Chunk index, page index and listing pages for the current ``index.version``."""
        version = self.index.version  # read before the chunks: a change after it is seen next time
        with self._lock:
            snap = self._snapshot
            if snap is None or version != self._version:
                started = time.perf_counter()
                snap, read = self._update()
                self._snapshot, self._bm25, self._version = snap, snap.bm25, version
                logger.info("BM25 over %d chunks (index version %s): %d documents read in %.2fs",
                            len(snap.chunks), version, read, time.perf_counter() - started)
            return snap

    def _count(self, chunks: list[Chunk]) -> _Segment:
        """Counts of one document's chunks (body + weighted path field), its pages and listings."""
        counts = self._vocab.count(map(self.text_of, chunks))
        if self.heading_of is not None and self.heading_weight:
            counts = counts.plus(self._vocab.count(map(self.heading_of, chunks)), self.heading_weight)
        pages = list(dict.fromkeys((c.doc_id, c.page) for c in chunks))
        slot = {key: i for i, key in enumerate(pages)}
        groups = np.fromiter((slot[(c.doc_id, c.page)] for c in chunks), dtype=np.int64, count=len(chunks))
        texts: dict[PageKey, list[str]] = {}
        for c in chunks:
            texts.setdefault((c.doc_id, c.page), []).append(c.text)
        listings = [key for key in pages if self.is_listing("\n".join(texts[key]))] if self.is_listing else []
        return _Segment("", chunks, counts, pages, counts.regroup(groups, len(pages)), listings)

    def _update(self) -> tuple[LexicalSnapshot, int]:
        """The snapshot of the documents complete now, and how many documents were read."""
        current = self.index.document_stamps()
        if self._bm25 is not None:
            dead = len(self._vocab) - self._bm25.live_terms
            if dead > max(self._bm25.live_terms, 50_000):
                # removed documents left most of the vocabulary unused: start it afresh
                self._vocab, self._segments = Vocabulary(), {}
        if self.cache is not None and self._bm25 is None and not self._segments:
            self._segments = self._load_cache(current)
        todo = [d for d, stamp in current.items()
                if d not in self._segments or self._segments[d].stamp != stamp]
        fresh = self._read(todo, len(todo) > _READ_ALL_SHARE * len(current))
        segments: dict[str, _Segment] = {}
        for doc_id in sorted(current):  # the order of index.chunks(): doc id, page, chunk
            if doc_id in fresh:
                segments[doc_id] = self._count(fresh[doc_id])
                segments[doc_id].stamp = current[doc_id]
            else:
                segments[doc_id] = self._segments[doc_id]
        parts = list(segments.values())
        bm25 = BM25Index.from_counts([s.counts for s in parts], self._vocab, self.config)
        page_bm25 = BM25Index.from_counts([s.page_counts for s in parts if s.page_counts is not None],
                                          self._vocab, self.config)
        self._segments = segments
        if self.cache is not None and todo:
            self._save_cache()
        chunks = [c for s in parts for c in s.chunks]
        pages = [key for s in parts for key in s.pages]
        # chunks come in (doc, page, index) order, so each page's chunks are one run
        keys = [(c.doc_id, c.page) for c in chunks]
        starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
        snap = LexicalSnapshot(
            bm25=bm25, chunks=chunks, page_bm25=page_bm25, pages=pages,
            listings=frozenset(key for s in parts for key in s.listings),
            page_start=np.array(starts + [len(chunks)], dtype=np.int64),
            page_slot={key: i for i, key in enumerate(pages)},
        )
        return snap, len(todo)

    # ------------------------------------------------------------------ on-disk counts
    def _signature(self) -> str:
        """What the cached counts depend on besides the documents: a cache written with other
        settings (or by another vlkit version, whose tokeniser may differ) is not used."""
        import vlkit

        name = getattr(self.text_of, "__qualname__", repr(self.text_of))
        field = getattr(self.heading_of, "__qualname__", repr(self.heading_of)) if self.heading_of else "-"
        listing = getattr(self.is_listing, "__qualname__", repr(self.is_listing)) if self.is_listing else "-"
        return f"vlkit {vlkit.__version__}|{self.config}|{name}|{field}|{self.heading_weight}|{listing}"

    def _load_cache(self, current: dict[str, str]) -> dict[str, _Segment]:
        """Segments of the unchanged documents, from the cache file (their chunks read from the index)."""
        assert self.cache is not None
        loaded = load_counts(self.cache, self._signature())
        if loaded is None:
            return {}
        terms, cached = loaded
        usable = [d for d, doc in cached.items() if current.get(d) == doc.stamp]
        if not usable:
            return {}
        self._vocab = Vocabulary()
        self._vocab.ids.update((t, i) for i, t in enumerate(terms))
        chunks = self._read(usable, len(usable) > _READ_ALL_SHARE * len(current))
        out: dict[str, _Segment] = {}
        for doc_id in usable:
            doc, mine = cached[doc_id], chunks[doc_id]
            pages = list(dict.fromkeys((c.doc_id, c.page) for c in mine))
            if len(doc.counts) != len(mine) or len(doc.page_counts) != len(pages):
                continue  # not the chunks it was counted from: count again
            out[doc_id] = _Segment(doc.stamp, mine, doc.counts, pages, doc.page_counts,
                                   [(doc_id, p) for p in doc.listings])
        return out

    def _save_cache(self) -> None:
        assert self.cache is not None
        docs = {
            d: CachedDocument(stamp=s.stamp, counts=s.counts, page_counts=s.page_counts,
                              listings=[p for _, p in s.listings])
            for d, s in self._segments.items() if s.page_counts is not None
        }
        save_counts(self.cache, self._signature(), self._vocab.ids, docs)

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
