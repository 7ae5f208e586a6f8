"""The page-reader extension point: one class per way of turning a page into text."""

from __future__ import annotations

from vlkit.retrieval.pages import SourcePage

__all__ = ["PageReader"]


class PageReader:
    """Turns one page into text. Subclasses set ``name`` and implement :meth:`read`.

    Readers mark headings they can see (large or bold type, a VLM's judgement) as Markdown
    ``# `` lines; chunking keeps them with the text that follows.
    """

    name: str = "reader"

    def read(self, page: SourcePage) -> str:
        """Return the page's text ('' when there is none)."""
        raise NotImplementedError

    def select(self, page: SourcePage) -> PageReader:
        """The reader that will actually read ``page``: itself, except for routing readers (``auto``)."""
        return self

    def read_named(self, page: SourcePage) -> tuple[str, str]:
        """``(text, name of the reader that produced it)``: :meth:`read` and :attr:`name`, except for readers
        that decide only after a first look (the OCR router tries Tesseract, then RapidOCR on CJK pages)."""
        return self.read(page), self.name
