"""The page-reader extension point: one class per way of turning a page into text and lines."""

from __future__ import annotations

from vlkit.documents._lines import PageLines, TextLine
from vlkit.documents._pages import SourcePage

__all__ = ["PageReader"]


class PageReader:
    """Reads one page. Subclasses set ``name`` and implement :meth:`read_page`.

    Readers mark headings they can see (large or bold type, tall OCR lines, a VLM's judgement) as
    Markdown ``# `` lines in the text; chunking keeps them with the text that follows. The lines keep
    their boxes in the page image's pixels, for tools that need to know where a value is printed.
    """

    name: str = "reader"
    reads_pixels: bool = True
    """Whether the reader looks at the page image (OCR, a VLM): a blank image is then not worth reading."""

    def read_page(self, page: SourcePage) -> PageLines:
        """The page's text and its lines (with boxes where the reader knows them), in one pass."""
        raise NotImplementedError

    def read(self, page: SourcePage) -> str:
        """The page's text ('' when there is none)."""
        return self.read_page(page).text

    def read_lines(self, page: SourcePage) -> list[TextLine]:
        """The page's lines with their boxes, in reading order."""
        return self.read_page(page).lines

    def select(self, page: SourcePage) -> PageReader:
        """The reader that will actually read ``page``: itself, except for routing readers (``auto``)."""
        return self
