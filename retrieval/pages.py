"""A rendered page on its way from a file to a reader and to the page-image store.

Made by :mod:`vlkit.retrieval.ingest` (PDF pages rendered by PyMuPDF, image frames by Pillow), read by
:mod:`vlkit.retrieval.readers`, stored by :class:`~vlkit.retrieval.page_images.PageImageStore`. The
PNG is encoded once, on first use, and shared by whoever needs it (the image store, the VLM reader).
A PDF page is rendered only when something asks for its pixels (OCR, the VLM reader, a blank-page test):
the text layer needs none, and a text-layer page's image is rendered later, when a search shows it
(:class:`~vlkit.retrieval.page_images.PageImageStore`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vlkit.retrieval.pngenc import encode_png

__all__ = ["SourcePage"]


class SourcePage:
    """One page handed to a reader: its pixels (given, or rendered on first use), plus the PDF page
    when there is one.

    Args:
        number: 1-based page number in its document.
        pixels: the page's pixels, or ``None`` with ``render``.
        pdf_page: the ``pymupdf.Page`` for PDF input, ``None`` for image files.
        render: makes the pixels on first use of :attr:`pixels` (PDF pages).
    """

    def __init__(self, number: int, pixels: np.ndarray | None = None, pdf_page: Any = None, *,
                 render: Callable[[], np.ndarray] | None = None) -> None:
        if pixels is None and render is None:
            raise ValueError("a SourcePage needs its pixels or a render function")
        self.number, self.pdf_page = number, pdf_page
        self._pixels, self._render, self._png = pixels, render, None
        self._text_dict: dict[str, Any] | None = None

    def text_dict(self) -> dict[str, Any]:
        """The PDF page's text layer as PyMuPDF's ``get_text("dict", sort=True)``, extracted once and shared
        by the reader router (how much text, how much image) and the text-layer reader: MuPDF's text
        extraction was ~40 % of reading a manual's text layer when each did its own. ``{}`` for image files."""
        if self._text_dict is None:
            self._text_dict = self.pdf_page.get_text("dict", sort=True) if self.pdf_page is not None else {}
        return self._text_dict

    def __repr__(self) -> str:
        return f"SourcePage(number={self.number}, rendered={self.rendered})"

    @property
    def pixels(self) -> np.ndarray:
        """The page rendered at the index's dpi (or the image file's frame): ``H x W x 3`` RGB ``uint8``."""
        if self._pixels is None:
            assert self._render is not None
            self._pixels = self._render()
        return self._pixels

    @property
    def rendered(self) -> bool:
        """Whether the pixels exist yet (a text-layer page never needs them)."""
        return self._pixels is not None

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def png(self) -> bytes:
        """The page as PNG (encoded once, lossless; see :mod:`vlkit.retrieval.pngenc`)."""
        if self._png is None:
            self._png = encode_png(self.pixels)
        return self._png

    def image(self) -> Any:
        """The page as an RGB ``PIL.Image`` (a view of the pixels, nothing decoded)."""
        from PIL import Image

        return Image.fromarray(self.pixels)
