"""Records shared by ingest, storage, search and QA."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PageText", "Chunk", "PageHit"]


@dataclass
class _PageFields:
    """Where a piece of text comes from: the fields :class:`PageText` and :class:`Chunk` share."""

    doc_id: str
    """Stable id of the document: the sha256 of the file's bytes (first 16 hex chars)."""
    file_name: str
    sha256: str
    page: int
    """1-based page number."""
    reader: str
    """Which reader produced ``text``: ``text``, ``rapidocr``, ``vlm``."""
    text: str


@dataclass
class PageText(_PageFields):
    """One page as a reader saw it."""

    image_path: str | None = None
    """Page image on disk, shown to the VLM at answer time."""
    source_path: str | None = None


@dataclass(kw_only=True)
class Chunk(_PageFields):
    """A piece of one page's text; never crosses a page boundary. Built with keywords only."""

    id: str
    """Deterministic: ``{doc_id}:{page}:{index}`` so a re-run overwrites instead of duplicating."""
    start: int
    """Character offset of the chunk in its page's text."""
    end: int
    heading: str = ""
    image_path: str | None = None
    """Where the page's image is kept. A PDF page's is rendered the first time a search returns the page
    (:attr:`PageHit.image_path` always exists) or :meth:`DocumentIndex.page_image` asks for it."""

    def metadata(self) -> dict[str, Any]:
        """Flat metadata (no None values), as the LangChain adapters hand it out."""
        return {
            "doc_id": self.doc_id,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "page": self.page,
            "reader": self.reader,
            "start": self.start,
            "end": self.end,
            "heading": self.heading,
            "image_path": self.image_path or "",
        }


@dataclass
class PageHit:
    """A retrieved page: the unit search returns and QA cites."""

    doc_id: str
    file_name: str
    page: int
    score: float
    text: str
    image_path: str | None = None
    """The page image on disk (rendered on first showing for PDF pages), or ``None`` if it has none."""
    chunks: list[Chunk] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    """The scores behind ``score``: ``fused`` (the fusion of the retrievers), ``dense`` (best cosine), ``bm25``,
    ``coverage``, ``relevance`` (what QA thresholds) and, after a reranker, ``rerank``."""

    @property
    def citation(self) -> str:
        return f"[{self.file_name} p.{self.page}]"
