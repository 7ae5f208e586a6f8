"""The page-reader extension point: one class per way of turning a page into text."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourcePage", "PageReader"]


@dataclass
class SourcePage:
    """One page handed to a reader: always a rendered PNG, plus the PDF page when there is one."""

    number: int
    """1-based page number in its document."""
    png: bytes
    """The page rendered at the index's dpi (or the image file's frame, as PNG)."""
    width: int
    height: int
    pdf_page: Any = None
    """The ``pymupdf.Page`` for PDF input, ``None`` for image files."""
    _image: Any = field(default=None, repr=False)

    def image(self) -> Any:
        """The page as an RGB ``PIL.Image`` (decoded once)."""
        if self._image is None:
            from PIL import Image

            self._image = Image.open(io.BytesIO(self.png)).convert("RGB")
        return self._image


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
