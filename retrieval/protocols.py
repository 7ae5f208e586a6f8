"""What search and QA need from an index: the read side, as a typed protocol.

:class:`~vlkit.retrieval.search.HybridSearcher`, :class:`~vlkit.retrieval.bm25.LexicalCorpus`
and :class:`~vlkit.retrieval.qa.DocumentQA` take a :class:`SearchableIndex`, not a whole
:class:`~vlkit.retrieval.index.DocumentIndex`: they never write, and a test (or another store) can
stand in with these five members. Only *complete* documents may be visible through any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from vlkit.retrieval.types import Chunk

__all__ = ["SearchableIndex", "PageKey"]

PageKey = tuple[str, int]
"""``(doc_id, 1-based page)``."""


@runtime_checkable
class SearchableIndex(Protocol):
    """The read side of a document index (see the module docstring)."""

    @property
    def version(self) -> int:
        """Grows whenever the set of visible documents changes (searchers rebuild BM25 on a change)."""
        ...

    def chunks(self, doc_id: str | None = None) -> Iterator[Chunk]:
        """Every visible chunk (or one document's), ordered by (doc id, page, index)."""
        ...

    def document_stamps(self) -> dict[str, str]:
        """Visible doc id -> a stamp that changes whenever its chunks may have changed."""
        ...

    def dense_search(self, query: str, k: int = 10) -> list[tuple[Chunk, float]]:
        """The ``k`` visible chunks nearest to ``query``: ``(chunk, cosine similarity)``, best first."""
        ...

    def pages(self, keys: Iterable[PageKey], images: bool = True) -> dict[PageKey, tuple[str, Path | None]]:
        """``(doc_id, page)`` -> ``(page text, page image or None)``; unknown pages left out.
        ``images=False``: the text is all that is wanted (the image may be ``None``; nothing is rendered)."""
        ...
